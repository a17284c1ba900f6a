//! Statistics: HDR histograms, status and error counts, a per-second timeline.
//!
//! Memory is constant in the number of requests: histograms have a fixed
//! size and the timeline grows by one small row per second of run.

use hdrhistogram::Histogram;

use crate::Duration;
use crate::error::ErrorKind;
pub use crate::timeline::Second;
use crate::timeline::{Seconds, merge_timelines};

/// Highest value the histograms track: one hour, in microseconds.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant decimal digits the histograms keep.
pub const SIGFIGS: u8 = 3;
/// Status codes are counted in a table of this size (httparse accepts
/// three digits).
const STATUS_TABLE: usize = 1000;

/// A new empty histogram of microseconds, 1 µs to 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, SIGFIGS).expect("valid histogram bounds") // ok: constant bounds
}

/// Records `d` in µs, capped at [`HIGHEST_US`]. Not `saturating_record`:
/// on a miss it clamps to the histogram's current top even when the
/// histogram could grow, so an auto-resizing one (a target's) would keep
/// every value past its first bucket as that bucket's top. `record` grows
/// it; a fixed histogram of 1 µs to 1 h takes any capped value.
pub(crate) fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros())
        .unwrap_or(HIGHEST_US)
        .min(HIGHEST_US);
    if h.record(us).is_err() {
        h.saturating_record(us);
    }
}

/// The first error message seen for each kind, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Examples(pub [Option<String>; ErrorKind::COUNT]);

/// Everything measured by one engine, or merged from several.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Stats {
    /// End of response − intended time (honest under coordinated omission).
    pub latency: Histogram<u64>,
    /// End of response − start of the write.
    pub service: Histogram<u64>,
    /// First response byte − start of the write.
    pub ttfb: Histogram<u64>,
    /// TCP connect time of each new connection.
    pub connect: Histogram<u64>,
    /// TLS handshake time of each new connection (https only).
    pub tls_handshake: Histogram<u64>,
    /// TLS handshakes that were full.
    pub tls_full: u64,
    /// TLS handshakes that resumed an earlier session.
    pub tls_resumed: u64,
    /// Start of the write − intended time: how late requests left.
    pub send_lag: Histogram<u64>,
    /// Completed responses by status code.
    status: Box<[u64; STATUS_TABLE]>,
    /// Failed requests by kind.
    pub errors: [u64; ErrorKind::COUNT],
    /// One example message per error kind.
    pub examples: Examples,
    /// Requests intended to start within the run.
    pub scheduled: u64,
    /// Requests whose write started, each once: a retried request's second
    /// write is in `retries`, not here.
    pub sent: u64,
    /// Requests that got a complete response.
    pub completed: u64,
    /// Requests that failed (see `errors`).
    pub failed: u64,
    /// Requests still in flight when the run ended.
    pub unfinished: u64,
    /// Requests still waiting for a free user when the run ended.
    pub unsent: u64,
    /// Response bytes received.
    pub bytes_in: u64,
    /// Request bytes sent.
    pub bytes_out: u64,
    /// TCP connections established.
    pub connections: u64,
    /// Connect attempts that failed, including those before `t0`.
    pub connect_failures: u64,
    /// Connections established per destination, as the driver names them
    /// (`127.0.0.1:8080`, `unix:/run/app.sock`): the engine opens none
    /// itself, so the driver fills this in at the end.
    pub destinations: Vec<(String, u64)>,
    /// Requests sent once more on a new connection because the reused
    /// keep-alive connection they were written on was closed or reset
    /// before any byte of the answer (SPEC §2's keep-alive race). A retry
    /// is not a new request: the request is counted once in `scheduled`,
    /// `sent` and its outcome; its second write is in `bytes_out`.
    pub retries: u64,
    /// HTTP/2 streams opened (each request's, and each retry's).
    pub streams: u64,
    /// HTTP/2 GOAWAY frames received.
    pub goaways: u64,
    /// Time from `t0` to the last completion or failure.
    pub elapsed: Duration,
    /// The sending window: from `t0` until no new request could start (the
    /// end of `--duration`, a stop, or the last response when
    /// `--requests` ended the run). The achieved rate is counted over it.
    pub duration: Duration,
    /// Per-second rows, in order, possibly with gaps for idle seconds.
    pub timeline: Vec<Second>,
    /// The results of each target, in the targets' order, when the run
    /// has a list of them (SPEC §10; see [`Stats::set_targets`]); empty
    /// otherwise. Each holds the identity `scheduled = completed + failed +
    /// unfinished + unsent`, and they add up to the run's counts, their
    /// timelines' rows to the run's rows.
    pub targets: Vec<TargetStats>,
    current: Seconds,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty statistics.
    pub fn new() -> Self {
        Self {
            latency: new_histogram(),
            service: new_histogram(),
            ttfb: new_histogram(),
            connect: new_histogram(),
            tls_handshake: new_histogram(),
            tls_full: 0,
            tls_resumed: 0,
            send_lag: new_histogram(),
            status: Box::new([0; STATUS_TABLE]),
            errors: [0; ErrorKind::COUNT],
            examples: Examples::default(),
            scheduled: 0,
            sent: 0,
            completed: 0,
            failed: 0,
            unfinished: 0,
            unsent: 0,
            bytes_in: 0,
            bytes_out: 0,
            connections: 0,
            connect_failures: 0,
            destinations: Vec::new(),
            retries: 0,
            streams: 0,
            goaways: 0,
            elapsed: Duration::ZERO,
            duration: Duration::ZERO,
            timeline: Vec::new(),
            targets: Vec::new(),
            current: Seconds::new(),
        }
    }

    /// Keep each second's latencies and service times in its row (for
    /// saved results, format 2); off, as at first, the rows hold only
    /// their figures.
    pub fn keep_seconds(&mut self, keep: bool) {
        self.current.keep = keep;
        for t in &mut self.targets {
            if let Some(c) = &mut t.current {
                c.keep = keep;
            }
        }
    }

    /// Results for a run of `n` targets, empty: histograms of
    /// [`target_sigfigs`] digits, and for at most
    /// [`MAX_TARGET_TIMELINES`] targets a timeline each, keeping its
    /// seconds' latencies as the run's timeline does.
    pub fn set_targets(&mut self, n: usize) {
        let t = TargetStats::new(target_sigfigs(n));
        let t = match n <= MAX_TARGET_TIMELINES {
            true => t.with_timeline(self.current.keep),
            false => t,
        };
        self.targets = vec![t; n];
    }

    /// Every status code seen, with its count, in ascending order.
    pub fn statuses(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(code, &n)| (code as u16, n))
    }

    /// Completed responses with `status`.
    pub fn status(&self, status: u16) -> u64 {
        self.status.get(usize::from(status)).copied().unwrap_or(0)
    }

    /// Adds `n` responses with `status` (used when merging saved results).
    pub fn add_status(&mut self, status: u16, n: u64) {
        self.status[usize::from(status).min(STATUS_TABLE - 1)] += n;
    }

    /// Completed responses whose status is not 2xx or 3xx.
    pub fn non_success(&self) -> u64 {
        self.statuses()
            .filter(|(c, _)| !(200..400).contains(c))
            .map(|(_, n)| n)
            .sum()
    }

    /// Completed responses per second of the sending window.
    pub fn achieved_rps(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.completed as f64 / secs
        } else {
            0.0
        }
    }

    /// `scheduled = completed + failed + unfinished + unsent` (SPEC §2).
    pub fn identity_holds(&self) -> bool {
        self.scheduled == self.completed + self.failed + self.unfinished + self.unsent
    }

    /// A completed response.
    pub(crate) fn record_response(
        &mut self,
        since_t0: Duration,
        status: u16,
        latency: Duration,
        service: Duration,
        ttfb: Duration,
    ) {
        self.completed += 1;
        self.add_status(status, 1);
        record(&mut self.latency, latency);
        record(&mut self.service, service);
        record(&mut self.ttfb, ttfb);
        self.elapsed = self.elapsed.max(since_t0);
        self.current
            .response(&mut self.timeline, since_t0, status, latency, service);
    }

    /// A failed request.
    pub(crate) fn record_failure(
        &mut self,
        since_t0: Duration,
        kind: ErrorKind,
        message: &dyn std::fmt::Display,
    ) {
        self.failed += 1;
        self.note_error(kind, message);
        self.elapsed = self.elapsed.max(since_t0);
        self.current.failure(&mut self.timeline, since_t0);
    }

    /// Counts an error kind's example without counting a request (connect
    /// failures before `t0`).
    pub(crate) fn note_example(&mut self, kind: ErrorKind, message: &dyn std::fmt::Display) {
        let slot = &mut self.examples.0[kind.index()];
        if slot.is_none() {
            *slot = Some(message.to_string());
        }
    }

    fn note_error(&mut self, kind: ErrorKind, message: &dyn std::fmt::Display) {
        self.errors[kind.index()] += 1;
        self.note_example(kind, message);
    }

    /// A request's bytes were written: its `first` write, or a retry's.
    pub(crate) fn record_write(&mut self, first: bool, bytes: usize) {
        self.sent += u64::from(first);
        self.bytes_out += bytes as u64;
    }

    /// How late a request that ended had been written after it was due.
    pub(crate) fn record_send_lag(&mut self, lag: Duration) {
        record(&mut self.send_lag, lag);
    }

    pub(crate) fn record_handshake(&mut self, took: Duration, resumed: bool) {
        record(&mut self.tls_handshake, took);
        if resumed {
            self.tls_resumed += 1;
        } else {
            self.tls_full += 1;
        }
    }

    pub(crate) fn record_connect(&mut self, took: Duration) {
        self.connections += 1;
        record(&mut self.connect, took);
    }

    /// Closes the current second, the run's and its targets', if
    /// `since_t0` is past it. A time from an earlier second (a clock that
    /// stepped back) counts in the current one, so rows stay in order.
    pub(crate) fn roll(&mut self, since_t0: Duration) {
        self.current.roll(&mut self.timeline, since_t0);
        for t in &mut self.targets {
            t.roll(since_t0);
        }
    }

    /// The latest closed second, for live progress.
    pub fn last_second(&self) -> Option<&Second> {
        self.timeline.last()
    }

    /// The second being filled, counted from `t0`: every row of an earlier
    /// second is final.
    pub fn second_in_progress(&self) -> u32 {
        self.current.second()
    }

    /// Closes the second in progress, the run's and its targets'; call
    /// once when the run has ended.
    pub fn finish(&mut self) {
        self.current.close(&mut self.timeline);
        for t in &mut self.targets {
            t.finish();
        }
    }

    /// Adds `other` into `self` exactly: counts add, histograms add, the
    /// timelines align on their second. Per-second percentiles of seconds
    /// present in both take the higher value (an upper bound), since the
    /// per-second histograms are not kept.
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in [
            (&mut self.latency, &other.latency),
            (&mut self.service, &other.service),
            (&mut self.ttfb, &other.ttfb),
            (&mut self.connect, &other.connect),
            (&mut self.tls_handshake, &other.tls_handshake),
            (&mut self.send_lag, &other.send_lag),
        ] {
            a.add(b).expect("histograms with equal bounds"); // ok: same bounds, add cannot fail
        }
        for (a, b) in self.status.iter_mut().zip(other.status.iter()) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        for (a, b) in self.examples.0.iter_mut().zip(&other.examples.0) {
            if a.is_none() {
                a.clone_from(b);
            }
        }
        self.scheduled += other.scheduled;
        self.sent += other.sent;
        self.completed += other.completed;
        self.failed += other.failed;
        self.unfinished += other.unfinished;
        self.unsent += other.unsent;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.connections += other.connections;
        self.connect_failures += other.connect_failures;
        for (name, n) in &other.destinations {
            match self
                .destinations
                .iter_mut()
                .find(|(known, _)| known == name)
            {
                Some((_, total)) => *total += n,
                None => self.destinations.push((name.clone(), *n)),
            }
        }
        self.retries += other.retries;
        self.streams += other.streams;
        self.goaways += other.goaways;
        self.tls_full += other.tls_full;
        self.tls_resumed += other.tls_resumed;
        self.elapsed = self.elapsed.max(other.elapsed);
        self.duration = self.duration.max(other.duration);
        self.timeline = merge_timelines(&self.timeline, &other.timeline);
        if self.targets.is_empty() {
            self.targets.clone_from(&other.targets);
        } else {
            for (a, b) in self.targets.iter_mut().zip(&other.targets) {
                a.merge(b);
            }
        }
    }
}

/// How many significant digits a target's histograms keep when a run has
/// `targets` of them. Histograms grow with the values they hold: at 3
/// digits, one holding 10 ms takes about 40 KiB, at 2 digits about 8 KiB.
/// Past 64 targets, two digits (1 % resolution) keep a thousand targets'
/// three histograms each within tens of MiB; the run's own histograms keep
/// three.
pub fn target_sigfigs(targets: usize) -> u8 {
    if targets <= 64 { SIGFIGS } else { 2 }
}

/// A run of at most this many targets keeps a timeline for each (see
/// [`Stats::set_targets`]); above it, the targets' timelines stay empty.
/// A target's row costs about 100 bytes a second it had requests in, 1 KiB
/// or more with its latencies kept for `--save`, and the second being
/// filled up to tens of KiB of histograms: a thousand targets over an hour
/// would take hundreds of MiB to GiBs per thread for charts no one could
/// read side by side. The run's own timeline is always kept.
pub const MAX_TARGET_TIMELINES: usize = 32;

/// What one target of a run measured (SPEC §10): the run's figures, for
/// the requests that went to it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TargetStats {
    /// End of response − intended time.
    pub latency: Histogram<u64>,
    /// End of response − start of the write.
    pub service: Histogram<u64>,
    /// First response byte − start of the write.
    pub ttfb: Histogram<u64>,
    /// Completed responses by status code, ascending.
    pub status: Vec<(u16, u64)>,
    /// Failed requests by kind.
    pub errors: [u64; ErrorKind::COUNT],
    /// Requests of this target intended to start within the run.
    pub scheduled: u64,
    /// Of them, written (each once).
    pub sent: u64,
    /// Got a complete response.
    pub completed: u64,
    /// Failed (see `errors`).
    pub failed: u64,
    /// Still in flight at the end.
    pub unfinished: u64,
    /// Still waiting for a free user at the end.
    pub unsent: u64,
    /// Response bytes received.
    pub bytes_in: u64,
    /// Request bytes sent.
    pub bytes_out: u64,
    /// Per-second rows of this target's requests, as the run's
    /// [`Stats::timeline`]; empty when the run had more than
    /// [`MAX_TARGET_TIMELINES`] targets (and in results saved before
    /// targets had one).
    pub timeline: Vec<Second>,
    /// The second being filled while the run lasts, when this target
    /// keeps a timeline; `None` once [`Stats::finish`] closed it, so that
    /// finished results compare equal to the same results read back.
    current: Option<Box<Seconds>>,
}

impl TargetStats {
    /// Empty results whose histograms keep `sigfigs` digits and grow as
    /// values come (see [`target_sigfigs`]).
    pub fn new(sigfigs: u8) -> Self {
        let h = || {
            let mut h = Histogram::new_with_bounds(1, 2, sigfigs.clamp(1, 5))
                .expect("valid histogram bounds"); // ok: constant bounds
            h.auto(true);
            h
        };
        Self {
            latency: h(),
            service: h(),
            ttfb: h(),
            status: Vec::new(),
            errors: [0; ErrorKind::COUNT],
            scheduled: 0,
            sent: 0,
            completed: 0,
            failed: 0,
            unfinished: 0,
            unsent: 0,
            bytes_in: 0,
            bytes_out: 0,
            timeline: Vec::new(),
            current: None,
        }
    }

    /// These results keep a timeline too, each second's latencies in its
    /// row when `keep_seconds`.
    fn with_timeline(mut self, keep_seconds: bool) -> Self {
        let mut current = Seconds::new();
        current.keep = keep_seconds;
        self.current = Some(Box::new(current));
        self
    }

    /// `scheduled = completed + failed + unfinished + unsent`.
    pub fn identity_holds(&self) -> bool {
        self.scheduled == self.completed + self.failed + self.unfinished + self.unsent
    }

    /// Completed responses with `status`.
    pub fn status(&self, status: u16) -> u64 {
        self.status
            .iter()
            .find(|(c, _)| *c == status)
            .map_or(0, |(_, n)| *n)
    }

    /// Adds `n` responses with `status`.
    pub fn add_status(&mut self, status: u16, n: u64) {
        match self.status.binary_search_by_key(&status, |(c, _)| *c) {
            Ok(i) => self.status[i].1 += n,
            Err(i) => self.status.insert(i, (status, n)),
        }
    }

    /// Completed responses whose status is not 2xx or 3xx.
    pub fn non_success(&self) -> u64 {
        self.status
            .iter()
            .filter(|(c, _)| !(200..400).contains(c))
            .map(|(_, n)| n)
            .sum()
    }

    /// A completed response, `since_t0` as for the run.
    pub(crate) fn record_response(
        &mut self,
        since_t0: Duration,
        status: u16,
        latency: Duration,
        service: Duration,
        ttfb: Duration,
    ) {
        self.completed += 1;
        self.add_status(status, 1);
        record(&mut self.latency, latency);
        record(&mut self.service, service);
        record(&mut self.ttfb, ttfb);
        if let Some(c) = &mut self.current {
            c.response(&mut self.timeline, since_t0, status, latency, service);
        }
    }

    /// A failed request, `since_t0` as for the run.
    pub(crate) fn record_failure(&mut self, since_t0: Duration, kind: ErrorKind) {
        self.failed += 1;
        self.errors[kind.index()] += 1;
        if let Some(c) = &mut self.current {
            c.failure(&mut self.timeline, since_t0);
        }
    }

    fn roll(&mut self, since_t0: Duration) {
        if let Some(c) = &mut self.current {
            c.roll(&mut self.timeline, since_t0);
        }
    }

    fn finish(&mut self) {
        if let Some(mut c) = self.current.take() {
            c.close(&mut self.timeline);
        }
    }

    /// Adds `other` into `self` exactly; the timelines as the run's
    /// ([`Stats::merge`]).
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in [
            (&mut self.latency, &other.latency),
            (&mut self.service, &other.service),
            (&mut self.ttfb, &other.ttfb),
        ] {
            a.add(b).expect("auto-resizing histograms"); // ok: they take any value another holds
        }
        for &(code, n) in &other.status {
            self.add_status(code, n);
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        self.scheduled += other.scheduled;
        self.sent += other.sent;
        self.completed += other.completed;
        self.failed += other.failed;
        self.unfinished += other.unfinished;
        self.unsent += other.unsent;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.timeline = merge_timelines(&self.timeline, &other.timeline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spread::Spread;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn timeline_rolls_per_second() {
        let mut s = Stats::new();
        s.record_response(ms(100), 200, ms(5), ms(4), ms(1));
        s.record_response(ms(900), 500, ms(7), ms(4), ms(1));
        s.record_response(ms(2500), 200, ms(9), ms(4), ms(1));
        s.record_failure(ms(2600), ErrorKind::Timeout, &"late");
        s.finish();
        assert_eq!(s.timeline.len(), 2);
        assert_eq!(
            (
                s.timeline[0].second,
                s.timeline[0].completed,
                s.timeline[0].errors
            ),
            (0, 2, 1)
        );
        assert_eq!(
            (
                s.timeline[1].second,
                s.timeline[1].completed,
                s.timeline[1].errors
            ),
            (2, 1, 1)
        );
        assert_eq!(s.non_success(), 1);
        assert_eq!(
            s.examples.0[ErrorKind::Timeout.index()].as_deref(),
            Some("late")
        );
    }

    #[test]
    fn merged_seconds_are_exact_when_kept() {
        let (mut a, mut b, mut both) = (Stats::new(), Stats::new(), Stats::new());
        for s in [&mut a, &mut b, &mut both] {
            s.keep_seconds(true);
        }
        for i in 0..200u64 {
            let (s, d) = if i % 4 == 0 {
                (&mut a, ms(50 + i))
            } else {
                (&mut b, ms(1 + i % 7))
            };
            s.record_response(ms(i * 4), 200, d, d, d);
            both.record_response(ms(i * 4), 200, d, d, d);
        }
        for s in [&mut a, &mut b, &mut both] {
            s.finish();
        }
        let mut merged = a.clone();
        merged.merge(&b);
        assert_eq!(
            merged.timeline, both.timeline,
            "the same rows as one run's, percentiles included"
        );
        // Without the seconds' histograms, the merge keeps the upper bound.
        let (mut x, mut y) = (a.clone(), b.clone());
        for row in x.timeline.iter_mut().chain(y.timeline.iter_mut()) {
            row.latency = Spread::default();
        }
        x.merge(&y);
        assert_eq!(
            x.timeline[0].p99_us,
            a.timeline[0].p99_us.max(b.timeline[0].p99_us)
        );
    }

    #[test]
    fn rolling_closes_the_second_without_counting() {
        let mut s = Stats::new();
        s.record_response(ms(100), 200, ms(5), ms(4), ms(1));
        s.roll(ms(900));
        assert!(s.timeline.is_empty());
        s.roll(ms(3_200));
        assert_eq!(s.timeline.len(), 1);
        assert_eq!((s.timeline[0].second, s.timeline[0].completed), (0, 1));
        assert_eq!(s.second_in_progress(), 3);
        // A time from before goes into the second in progress.
        s.record_response(ms(2_900), 200, ms(5), ms(4), ms(1));
        s.finish();
        assert_eq!(s.timeline[1].second, 3);
        assert_eq!(s.completed, 2);
    }

    #[test]
    fn merge_is_exact() {
        let mut a = Stats::new();
        let mut b = Stats::new();
        let mut both = Stats::new();
        for i in 0..1000u64 {
            let (s, d) = if i % 3 == 0 {
                (&mut a, ms(i))
            } else {
                (&mut b, ms(i * 2))
            };
            s.record_response(ms(i * 10), 200 + (i % 2) as u16, d, d, d);
            both.record_response(ms(i * 10), 200 + (i % 2) as u16, d, d, d);
        }
        a.retries = 2;
        b.retries = 3;
        a.finish();
        b.finish();
        both.finish();
        a.merge(&b);
        assert_eq!(a.latency, both.latency);
        assert_eq!((a.completed, a.retries), (1000, 5));
        assert_eq!(
            a.statuses().collect::<Vec<_>>(),
            both.statuses().collect::<Vec<_>>()
        );
        let seconds: Vec<_> = a.timeline.iter().map(|r| (r.second, r.completed)).collect();
        let expected: Vec<_> = both
            .timeline
            .iter()
            .map(|r| (r.second, r.completed))
            .collect();
        assert_eq!(seconds, expected);
    }

    #[test]
    fn a_targets_histograms_grow_to_the_values_recorded() {
        let mut t = TargetStats::new(target_sigfigs(2));
        let mut run = Stats::new();
        for i in 1..=1_000u64 {
            let d = Duration::from_micros(i * i * 37);
            t.record_response(ms(0), 200, d, d / 2, d / 3);
            run.record_response(ms(0), 200, d, d / 2, d / 3);
        }
        t.record_response(ms(0), 200, Duration::from_secs(7_200), ms(1), ms(1));
        run.record_response(ms(0), 200, Duration::from_secs(7_200), ms(1), ms(1));
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(
                t.latency.value_at_quantile(q),
                run.latency.value_at_quantile(q),
                "{q}"
            );
            assert_eq!(
                t.service.value_at_quantile(q),
                run.service.value_at_quantile(q),
                "{q}"
            );
        }
        assert!(t.latency.max() >= HIGHEST_US && t.latency.max() < HIGHEST_US + HIGHEST_US / 100);
    }

    /// A response or (`status` 0) a failure of target `t`, recorded as
    /// the engine records it.
    fn end(s: &mut Stats, t: usize, at: Duration, status: u16, d: Duration) {
        if status == 0 {
            s.record_failure(at, ErrorKind::Timeout, &"late");
            s.targets[t].record_failure(at, ErrorKind::Timeout);
        } else {
            s.record_response(at, status, d, d / 2, d / 4);
            s.targets[t].record_response(at, status, d, d / 2, d / 4);
        }
    }

    /// Three targets over five seconds: target 2 idles in seconds 1 and
    /// 3, target 1 fails now and then, target 0 gets some 500s.
    fn three_targets(keep: bool, part: impl Fn(u64) -> bool) -> Stats {
        let mut s = Stats::new();
        s.keep_seconds(keep);
        s.set_targets(3);
        for i in (0..1_500u64).filter(|i| part(*i)) {
            let (at, t) = (ms(i * 10 / 3), (i % 3) as usize);
            let sec = i / 300;
            if t == 2 && (sec == 1 || sec == 3) {
                continue;
            }
            let status = match (t, i % 7) {
                (1, 0) => 0,
                (0, 0) => 500,
                _ => 200,
            };
            end(&mut s, t, at, status, ms(1 + i % 13 + 40 * t as u64));
        }
        s.roll(ms(5_000));
        s.finish();
        s
    }

    #[test]
    fn each_target_has_rows_per_second_that_add_up_to_the_runs() {
        let s = three_targets(true, |_| true);
        assert_eq!(s.timeline.len(), 5);
        let seconds = |t: &TargetStats| t.timeline.iter().map(|r| r.second).collect::<Vec<_>>();
        assert_eq!(seconds(&s.targets[0]), [0, 1, 2, 3, 4]);
        assert_eq!(seconds(&s.targets[2]), [0, 2, 4]);
        for row in &s.timeline {
            let of = |t: &TargetStats| t.timeline.iter().find(|r| r.second == row.second).cloned();
            let rows: Vec<Second> = s.targets.iter().filter_map(of).collect();
            let sum = |f: fn(&Second) -> u64| rows.iter().map(f).sum::<u64>();
            assert_eq!(
                (sum(|r| r.completed), sum(|r| r.errors), sum(|r| r.failed)),
                (row.completed, row.errors, row.failed),
                "second {}",
                row.second
            );
            let latency = rows
                .iter()
                .fold(Spread::default(), |all, r| all.merge(&r.latency));
            assert_eq!(latency, row.latency, "second {}", row.second);
            assert_eq!(rows.iter().map(|r| r.max_us).max(), Some(row.max_us));
        }
        // Each target's rows hold its own figures: the slow one's p50.
        assert!(s.targets[2].timeline.iter().all(|r| r.p50_us >= 80_000));
        assert!(s.targets[0].timeline.iter().all(|r| r.p99_us < 14_000));
        assert!(s.targets[1].timeline.iter().all(|r| r.failed > 0));
        // Unkept, the rows have their figures and no latencies.
        let plain = three_targets(false, |_| true);
        assert_eq!(plain.targets[2].timeline.len(), 3);
        for (a, b) in plain.targets[2].timeline.iter().zip(&s.targets[2].timeline) {
            assert_eq!(
                (a.completed, a.p50_us, a.p99_us),
                (b.completed, b.p50_us, b.p99_us)
            );
            assert!(a.latency.is_empty() && a.service.is_empty());
        }
    }

    #[test]
    fn merged_target_timelines_are_exact_when_kept() {
        let both = three_targets(true, |_| true);
        let mut merged = three_targets(true, |i| i % 4 == 0);
        merged.merge(&three_targets(true, |i| i % 4 != 0));
        for (m, b) in merged.targets.iter().zip(&both.targets) {
            assert_eq!(m.timeline, b.timeline);
        }
        assert_eq!(merged.targets, both.targets);
        assert_eq!(merged.timeline, both.timeline);
    }

    #[test]
    fn past_the_cap_targets_keep_no_timeline() {
        for n in [MAX_TARGET_TIMELINES, MAX_TARGET_TIMELINES + 1] {
            let mut s = Stats::new();
            s.set_targets(n);
            s.keep_seconds(true);
            for i in 0..300u64 {
                end(&mut s, (i as usize) % n, ms(i * 10), 200, ms(3));
            }
            // Rolling closes the targets' seconds too; finishing adds nothing.
            s.roll(ms(3_000));
            let rows: usize = s.targets.iter().map(|t| t.timeline.len()).sum();
            s.finish();
            assert_eq!(
                s.targets.iter().map(|t| t.timeline.len()).sum::<usize>(),
                rows
            );
            let kept = s
                .targets
                .iter()
                .flat_map(|t| &t.timeline)
                .all(|r| !r.latency.is_empty());
            match n <= MAX_TARGET_TIMELINES {
                true => assert!(rows >= n && kept, "{n}: {rows} rows"),
                false => assert_eq!(rows, 0, "{n}"),
            }
            assert_eq!(s.timeline.len(), 3);
        }
    }

    #[test]
    fn huge_values_saturate() {
        let mut s = Stats::new();
        s.record_response(
            Duration::from_secs(10_000),
            200,
            Duration::from_secs(10_000),
            ms(1),
            ms(1),
        );
        assert_eq!(s.latency.len(), 1);
        assert!(s.latency.max() >= HIGHEST_US / 2);
    }
}
