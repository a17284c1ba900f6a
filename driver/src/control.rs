//! What the loops share with the rest of the program: the stop request,
//! the common start instant, live counters for the progress line, and the
//! snapshots the live views read (see `published`).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use mio::Waker;
use volley_core::Stop;

use crate::published::{Published, Snapshot};
use crate::target_counts::StatusSlots;

/// Live counters of one loop, written by it after each batch of events.
#[derive(Debug, Default)]
pub(crate) struct Live {
    started: AtomicBool,
    sent: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    in_flight: AtomicU64,
    last_p99_us: AtomicU64,
}

/// A copy of the live counters, summed over loops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveSnapshot {
    /// Every loop has started its schedule.
    pub started: bool,
    /// Requests written.
    pub sent: u64,
    /// Responses received.
    pub completed: u64,
    /// Requests failed.
    pub failed: u64,
    /// Requests in flight.
    pub in_flight: u64,
    /// Highest p99 latency of the last complete second, over loops, µs.
    pub last_p99_us: u64,
}

impl Live {
    pub(crate) fn set_started(&self) {
        self.started.store(true, Relaxed);
    }

    pub(crate) fn publish(&self, sent: u64, completed: u64, failed: u64, in_flight: u64, p99: u64) {
        self.sent.store(sent, Relaxed);
        self.completed.store(completed, Relaxed);
        self.failed.store(failed, Relaxed);
        self.in_flight.store(in_flight, Relaxed);
        self.last_p99_us.store(p99, Relaxed);
    }
}

/// The stop level as the atomic holds it: no stop, [`Stop::Drain`],
/// [`Stop::Now`].
const NO_STOP: u8 = 0;
const DRAIN: u8 = 1;
const NOW: u8 = 2;

fn stop_level(level: u8) -> Option<Stop> {
    match level {
        NO_STOP => None,
        DRAIN => Some(Stop::Drain),
        _ => Some(Stop::Now),
    }
}

/// Shared between the loops and whoever watches or stops them.
#[derive(Debug)]
pub struct Control {
    /// How far the run is to stop; it only rises.
    stop: AtomicU8,
    fatal: Mutex<Option<String>>,
    wakers: Mutex<Vec<Waker>>,
    live: Vec<Live>,
    /// The wall-clock time of `t0`, once the loops have started.
    started: Mutex<Option<SystemTime>>,
    /// Someone reads the snapshots: the loops take them.
    watched: AtomicBool,
    published: Vec<Published>,
    /// The status codes of the targets' counts in the snapshots.
    status_slots: StatusSlots,
}

impl Control {
    /// Control for `loops` event loops.
    pub fn new(loops: usize) -> Self {
        Self {
            stop: AtomicU8::new(NO_STOP),
            fatal: Mutex::new(None),
            wakers: Mutex::new(Vec::new()),
            live: (0..loops).map(|_| Live::default()).collect(),
            started: Mutex::new(None),
            watched: AtomicBool::new(false),
            published: (0..loops).map(|_| Published::default()).collect(),
            status_slots: StatusSlots::default(),
        }
    }

    /// Asks the loops to publish snapshots of their statistics, a few times
    /// a second and whenever a second of the timeline closes, for
    /// [`Control::published`]. Call it before the run starts; without it
    /// the loops take none.
    pub fn watch(&self) {
        self.watched.store(true, Relaxed);
    }

    pub(crate) fn is_watched(&self) -> bool {
        self.watched.load(Relaxed)
    }

    pub(crate) fn published_of(&self, i: usize) -> &Published {
        &self.published[i]
    }

    /// The slots of the status codes that the snapshots' per-target counts
    /// name: the same for every loop, and for a snapshot of the final
    /// statistics, so that a code keeps its slot from start to end.
    pub fn status_slots(&self) -> &StatusSlots {
        &self.status_slots
    }

    /// What the loops last published (see [`Control::watch`]), added up.
    /// Never waits for a loop.
    pub fn published(&self) -> Snapshot {
        let mut loops = self.published.iter().map(Published::read);
        let mut total = loops.next().unwrap_or_default();
        for s in loops {
            total.add(&s);
        }
        total
    }

    /// Asks every loop to end the run as at its normal end (no new requests,
    /// in-flight ones awaited). A second call ends it at once, however soon
    /// after the first it comes. Safe to call from a signal-handling thread.
    pub fn stop(&self) {
        // An `Err` means the level is already at its top.
        let _ = self
            .stop
            .fetch_update(Relaxed, Relaxed, |l| (l < NOW).then_some(l + 1));
        self.wake();
    }

    /// Ends the run at once because it cannot succeed (e.g. the server's
    /// certificate is rejected); the first message is kept for the user.
    pub(crate) fn fail(&self, message: String) {
        self.fatal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(message);
        self.stop.fetch_max(NOW, Relaxed);
        self.wake();
    }

    /// Interrupts every loop's poll, so that it looks at the stop level.
    fn wake(&self) {
        for w in self
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = w.wake();
        }
    }

    /// The wall-clock time of the run's `t0`, once it has started.
    pub fn started_at(&self) -> Option<SystemTime> {
        *self.started.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Why the run was ended early, if it was (see `fail`).
    pub fn fatal(&self) -> Option<String> {
        self.fatal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How far the run is to stop, if at all.
    pub(crate) fn stop_level(&self) -> Option<Stop> {
        stop_level(self.stop.load(Relaxed))
    }

    pub(crate) fn add_waker(&self, waker: Waker) {
        self.wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(waker);
    }

    pub(crate) fn live(&self, i: usize) -> &Live {
        &self.live[i]
    }

    /// The live counters summed over loops.
    pub fn snapshot(&self) -> LiveSnapshot {
        let mut s = LiveSnapshot {
            started: !self.live.is_empty(),
            ..LiveSnapshot::default()
        };
        for l in &self.live {
            s.started &= l.started.load(Relaxed);
            s.sent += l.sent.load(Relaxed);
            s.completed += l.completed.load(Relaxed);
            s.failed += l.failed.load(Relaxed);
            s.in_flight += l.in_flight.load(Relaxed);
            s.last_p99_us = s.last_p99_us.max(l.last_p99_us.load(Relaxed));
        }
        s
    }
}

/// Holds the loops until all have connected their users, and until the
/// start time if one was given, then gives them one common `t0`.
#[derive(Debug)]
pub(crate) struct StartGate {
    state: Mutex<(usize, Option<Instant>)>,
    cv: Condvar,
    loops: usize,
    /// `--start-at`: `t0` is not before this wall-clock time.
    at: Option<SystemTime>,
}

/// How long the wait for the start time sleeps at a time, so that a stop
/// is seen.
const START_WAIT_SLICE: Duration = Duration::from_millis(50);

impl StartGate {
    pub(crate) fn new(loops: usize, at: Option<SystemTime>) -> Self {
        Self {
            state: Mutex::new((0, None)),
            cv: Condvar::new(),
            loops,
            at,
        }
    }

    /// Marks one loop ready and waits for the others; returns `t0`, taken
    /// when the last one arrives, or at the start time if that is later
    /// (unless the run is stopped meanwhile). Its wall-clock time goes to
    /// `control`.
    pub(crate) fn arrive(&self, control: &Control) -> Instant {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.0 += 1;
        if st.0 >= self.loops {
            if st.1.is_none() {
                if let Some(at) = self.at {
                    wait_until(at, control);
                }
                st.1 = Some(Instant::now());
                *control
                    .started
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(SystemTime::now());
            }
            self.cv.notify_all();
            return st.1.unwrap_or_else(Instant::now);
        }
        loop {
            if let Some(t0) = st.1 {
                return t0;
            }
            st = self.cv.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Sleeps until the wall clock reads `at`, in slices, ending early when the
/// run is stopped.
fn wait_until(at: SystemTime, control: &Control) {
    while let Ok(left) = at.duration_since(SystemTime::now()) {
        if control.stop_level().is_some() {
            return;
        }
        std::thread::sleep(left.min(START_WAIT_SLICE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_rise_one_level_per_call_and_never_fall() {
        let c = Control::new(1);
        assert_eq!(c.stop_level(), None);
        c.stop();
        assert_eq!(c.stop_level(), Some(Stop::Drain));
        c.stop();
        assert_eq!(c.stop_level(), Some(Stop::Now));
        c.stop();
        assert_eq!(c.stop_level(), Some(Stop::Now));
    }

    #[test]
    fn a_failure_stops_at_once_and_keeps_the_first_message() {
        let c = Control::new(1);
        c.fail("first".into());
        assert_eq!(c.stop_level(), Some(Stop::Now));
        c.fail("second".into());
        c.stop();
        assert_eq!(c.stop_level(), Some(Stop::Now));
        assert_eq!(c.fatal().as_deref(), Some("first"));
    }
}
