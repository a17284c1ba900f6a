//! How the loop sleeps: on the send timer alone, or watching the sockets
//! too, and for how long. A pure function of the engine's next wakeup, the
//! time and whether a socket needs watching, so that its edges are tested.
//!
//! Sleeping on the timer alone saves the wakeup for a response that the
//! loop can as well read when it wakes for the next send (its arrival time
//! is the kernel's stamp, not the read's). That pays only while the next
//! send is near, and only if nothing waits on a socket's readiness to make
//! progress: a connect, a TLS handshake, a request still being written.

use std::time::{Duration, Instant};

use volley_core::Wake;

/// Reads are put off until the next send only when it is due within this
/// long (at 100 req/s and more); a later send waits with the sockets
/// watched.
pub(crate) const DEFER_HORIZON: Duration = Duration::from_millis(10);

/// ... and only when the loop would sleep at least this long: a loop that is
/// behind (the send already due) or nearly so would pay a second
/// `epoll_wait` per pass to save a wakeup that rarely comes in so short a
/// time.
pub(crate) const MIN_QUIET_SLEEP: Duration = Duration::from_micros(50);

/// Where and how long the loop sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sleep {
    /// On the send timer (and the stop waker) alone, for at most this long;
    /// on waking, the sockets' events are collected without waiting.
    Quiet(Duration),
    /// Watching the sockets too, for at most this long (`None`: until
    /// something happens).
    Watch(Option<Duration>),
}

impl Sleep {
    /// The same sleep, for no longer than `limit` (if any).
    pub(crate) fn at_most(self, limit: Option<Duration>) -> Self {
        let Some(limit) = limit else { return self };
        match self {
            Self::Quiet(t) => Self::Quiet(t.min(limit)),
            Self::Watch(t) => Self::Watch(Some(t.map_or(limit, |t| t.min(limit)))),
        }
    }
}

/// How to sleep at `now` until the engine's next wakeup `wake`; `busy` if a
/// socket waits on readiness to make progress (a connect or handshake in
/// progress, bytes not yet written).
pub(crate) fn choose(wake: Option<(Instant, Wake)>, now: Instant, busy: bool) -> Sleep {
    let timeout = wake.map(|(at, _)| at.saturating_duration_since(now));
    match (wake, timeout) {
        (Some((_, Wake::Send)), Some(sleep))
            if !busy && (MIN_QUIET_SLEEP..=DEFER_HORIZON).contains(&sleep) =>
        {
            Sleep::Quiet(sleep)
        }
        _ => Sleep::Watch(timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quiet_sleep_is_for_a_near_send_with_no_socket_to_watch() {
        let now = Instant::now();
        let ns = Duration::from_nanos;
        let ms = Duration::from_millis;
        let send = |d: Duration| Some((now + d, Wake::Send));
        let (min, horizon) = (MIN_QUIET_SLEEP, DEFER_HORIZON);
        // The engine's next wakeup, busy, and how to sleep.
        type Row = (Option<(Instant, Wake)>, bool, Sleep);
        #[rustfmt::skip]
        let table: &[Row] = &[
            // Nothing due: sleep until something happens.
            (None, false, Sleep::Watch(None)),
            (None, true, Sleep::Watch(None)),
            // Not a send: the sockets are watched, however near.
            (Some((now + ms(5), Wake::ResponseTimeout)), false, Sleep::Watch(Some(ms(5)))),
            (Some((now + ms(5), Wake::End)), false, Sleep::Watch(Some(ms(5)))),
            (Some((now + ms(5), Wake::ConnectTimeout)), false, Sleep::Watch(Some(ms(5)))),
            // A send already due, or due now: no sleep worth a second poll.
            (Some((now - ms(1), Wake::Send)), false, Sleep::Watch(Some(Duration::ZERO))),
            (send(Duration::ZERO), false, Sleep::Watch(Some(Duration::ZERO))),
            // Around MIN_QUIET_SLEEP.
            (send(min - ns(1)), false, Sleep::Watch(Some(min - ns(1)))),
            (send(min), false, Sleep::Quiet(min)),
            (send(min + ns(1)), false, Sleep::Quiet(min + ns(1))),
            // Inside the window, unless a socket needs watching.
            (send(ms(5)), false, Sleep::Quiet(ms(5))),
            (send(ms(5)), true, Sleep::Watch(Some(ms(5)))),
            (send(min), true, Sleep::Watch(Some(min))),
            (send(horizon), true, Sleep::Watch(Some(horizon))),
            // Around DEFER_HORIZON.
            (send(horizon - ns(1)), false, Sleep::Quiet(horizon - ns(1))),
            (send(horizon), false, Sleep::Quiet(horizon)),
            (send(horizon + ns(1)), false, Sleep::Watch(Some(horizon + ns(1)))),
            (send(ms(500)), false, Sleep::Watch(Some(ms(500)))),
        ];
        for &(wake, busy, want) in table {
            let got = choose(wake, now, busy);
            assert_eq!(
                got,
                want,
                "{:?} from now, busy {busy}",
                wake.map(|(at, why)| (at.checked_duration_since(now), why))
            );
        }
    }

    #[test]
    fn a_limit_shortens_any_sleep_and_ends_an_open_one() {
        let ms = Duration::from_millis;
        let cases = [
            (
                Sleep::Watch(None),
                Some(ms(250)),
                Sleep::Watch(Some(ms(250))),
            ),
            (
                Sleep::Watch(Some(ms(900))),
                Some(ms(250)),
                Sleep::Watch(Some(ms(250))),
            ),
            (
                Sleep::Watch(Some(ms(9))),
                Some(ms(250)),
                Sleep::Watch(Some(ms(9))),
            ),
            (Sleep::Quiet(ms(5)), Some(ms(2)), Sleep::Quiet(ms(2))),
            (Sleep::Quiet(ms(5)), None, Sleep::Quiet(ms(5))),
            (Sleep::Watch(None), None, Sleep::Watch(None)),
        ];
        for (sleep, limit, want) in cases {
            assert_eq!(sleep.at_most(limit), want, "{sleep:?} at most {limit:?}");
        }
    }
}
