//! What a loop publishes for the live views (the metrics endpoint, the
//! `--live` lines, the full-screen view): a [`Snapshot`] of its statistics,
//! taken a few times a second, never per request.
//!
//! A snapshot goes through a seqlock of plain words: the loop writes
//! without waiting for anyone, and a reader that catches a write half done
//! reads again, so it never sees counts and histogram buckets of two
//! different moments. The loop takes no lock for a reader, and a reader
//! costs it nothing.

use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::Duration;

use volley_core::{BOUNDS_US, Buckets, ErrorKind, Second, Stats};

use crate::target_counts::{
    self, MAX_TARGETS, StatusSlots, TARGET_CODES, TARGET_WORDS, TargetCounts,
};

/// Status codes are kept in a table of this size (httparse reads three
/// digits).
pub const STATUS_CODES: usize = 1000;
/// Closed timeline rows a snapshot carries, newest last: a reader that
/// falls this many seconds behind starts losing rows.
pub const RECENT_ROWS: usize = 16;

/// One loop's statistics at one moment, or several loops' added up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The schedule has started (for several loops: every one has).
    pub started: bool,
    /// The run is over and these are final (for several loops: all are).
    pub finished: bool,
    /// Time since `t0` when it was taken (the longest, for several).
    pub elapsed: Duration,
    /// Requests whose write started.
    pub sent: u64,
    /// Requests that got a complete response.
    pub completed: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Requests still in flight at the end (0 until then).
    pub unfinished: u64,
    /// Requests never started for want of a free user (0 until the end).
    pub unsent: u64,
    /// Requests in flight now.
    pub in_flight: u64,
    /// Response bytes received.
    pub bytes_in: u64,
    /// Request bytes sent.
    pub bytes_out: u64,
    /// TCP connections established.
    pub connections: u64,
    /// Connect attempts that failed.
    pub connect_failures: u64,
    /// Requests sent once more (SPEC §2's keep-alive race; HTTP/2's
    /// unprocessed streams).
    pub retries: u64,
    /// HTTP/2 streams opened.
    pub streams: u64,
    /// HTTP/2 GOAWAY frames received.
    pub goaways: u64,
    /// Completed responses by status code (index = code).
    pub status: Box<[u64; STATUS_CODES]>,
    /// Failed requests by kind (index = [`ErrorKind::index`]).
    pub errors: [u64; ErrorKind::COUNT],
    /// Latency in the fixed buckets.
    pub latency: Buckets,
    /// Service time in the fixed buckets.
    pub service: Buckets,
    /// The second being filled; rows of earlier seconds are final. `None`
    /// once finished.
    pub open_second: Option<u32>,
    /// The latest closed timeline rows, oldest first (for several loops:
    /// rows of one second combined as the report combines them).
    pub rows: Vec<Second>,
    /// With `--targets`, each target's request counts: the first
    /// [`MAX_TARGETS`] in order, then, when there are more, the others
    /// together. Empty for a run of one request.
    pub targets: Vec<TargetCounts>,
    /// The status code of each slot of the targets' counts (see
    /// [`StatusSlots`]); `None` for a slot no code has taken.
    pub target_codes: [Option<u16>; TARGET_CODES],
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            started: false,
            finished: false,
            elapsed: Duration::ZERO,
            sent: 0,
            completed: 0,
            failed: 0,
            unfinished: 0,
            unsent: 0,
            in_flight: 0,
            bytes_in: 0,
            bytes_out: 0,
            connections: 0,
            connect_failures: 0,
            retries: 0,
            streams: 0,
            goaways: 0,
            status: Box::new([0; STATUS_CODES]),
            errors: [0; ErrorKind::COUNT],
            latency: Buckets::default(),
            service: Buckets::default(),
            open_second: Some(0),
            rows: Vec::new(),
            targets: Vec::new(),
            target_codes: [None; TARGET_CODES],
        }
    }
}

impl Snapshot {
    /// A snapshot of `stats`, `elapsed` after `t0`, with `in_flight`
    /// requests open; `finished` when the stats are final. The targets'
    /// status codes count under their slots of `slots` (the process's,
    /// [`Control::status_slots`](crate::Control::status_slots)).
    pub fn of(
        stats: &Stats,
        in_flight: u64,
        elapsed: Duration,
        finished: bool,
        slots: &StatusSlots,
    ) -> Self {
        let mut status = Box::new([0; STATUS_CODES]);
        for (code, n) in stats.statuses() {
            status[usize::from(code).min(STATUS_CODES - 1)] += n;
        }
        let from = stats.timeline.len().saturating_sub(RECENT_ROWS);
        let targets = target_counts::counts_of(&stats.targets, slots);
        // After the counts: every slot they used is taken by then.
        let target_codes = slots.codes();
        Self {
            started: true,
            finished,
            elapsed,
            sent: stats.sent,
            completed: stats.completed,
            failed: stats.failed,
            unfinished: stats.unfinished,
            unsent: stats.unsent,
            in_flight,
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
            connections: stats.connections,
            connect_failures: stats.connect_failures,
            retries: stats.retries,
            streams: stats.streams,
            goaways: stats.goaways,
            status,
            errors: stats.errors,
            latency: Buckets::of(&stats.latency),
            service: Buckets::of(&stats.service),
            open_second: (!finished).then(|| stats.second_in_progress()),
            rows: stats.timeline[from..].iter().map(brief).collect(),
            targets,
            target_codes,
        }
    }

    /// Every status code seen, with its count, in ascending order.
    pub fn statuses(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(code, &n)| (code as u16, n))
    }

    /// The closed row of `second`, if that second had anything to report
    /// and is still among the recent rows.
    pub fn row(&self, second: u32) -> Option<&Second> {
        self.rows.iter().find(|r| r.second == second)
    }

    /// Whether every row of `second` is final: the second is over in
    /// every loop (or the run is).
    pub fn is_closed(&self, second: u32) -> bool {
        self.open_second.is_none_or(|open| second < open)
    }

    /// Adds another loop's snapshot into this one.
    pub fn add(&mut self, other: &Self) {
        self.started &= other.started;
        self.finished &= other.finished;
        self.elapsed = self.elapsed.max(other.elapsed);
        for (a, b) in [
            (&mut self.sent, other.sent),
            (&mut self.completed, other.completed),
            (&mut self.failed, other.failed),
            (&mut self.unfinished, other.unfinished),
            (&mut self.unsent, other.unsent),
            (&mut self.in_flight, other.in_flight),
            (&mut self.bytes_in, other.bytes_in),
            (&mut self.bytes_out, other.bytes_out),
            (&mut self.connections, other.connections),
            (&mut self.connect_failures, other.connect_failures),
            (&mut self.retries, other.retries),
            (&mut self.streams, other.streams),
            (&mut self.goaways, other.goaways),
        ] {
            *a += b;
        }
        for (a, b) in self.status.iter_mut().zip(other.status.iter()) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        self.latency.add(&other.latency);
        self.service.add(&other.service);
        // A finished loop holds no second open.
        self.open_second = match (self.open_second, other.open_second) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.finished {
            self.open_second = None;
        }
        self.rows = combine_rows(&self.rows, &other.rows);
        // A loop that has not published yet has no targets.
        if self.targets.len() < other.targets.len() {
            self.targets
                .resize(other.targets.len(), TargetCounts::default());
        }
        for (a, b) in self.targets.iter_mut().zip(&other.targets) {
            a.add(b);
        }
        // Slots are the process's: two loops never name one differently,
        // but one may have published before a code took it.
        for (a, b) in self.target_codes.iter_mut().zip(other.target_codes) {
            *a = a.or(b);
        }
    }

    /// The words of the seqlock, in a fixed order.
    fn encode(&self, out: &mut Vec<u64>) {
        out.clear();
        out.push(u64::from(self.started) | u64::from(self.finished) << 1);
        out.push(u64::try_from(self.elapsed.as_nanos()).unwrap_or(u64::MAX));
        out.extend([
            self.sent,
            self.completed,
            self.failed,
            self.unfinished,
            self.unsent,
            self.in_flight,
            self.bytes_in,
            self.bytes_out,
            self.connections,
            self.connect_failures,
            self.retries,
            self.streams,
            self.goaways,
        ]);
        out.extend_from_slice(&self.status[..]);
        out.extend_from_slice(&self.errors);
        for b in [&self.latency, &self.service] {
            out.extend_from_slice(&b.cumulative);
            out.extend([b.count, b.sum_us]);
        }
        out.push(self.open_second.map_or(u64::MAX, u64::from));
        out.push(self.rows.len() as u64);
        for i in 0..RECENT_ROWS {
            let r = self.rows.get(i).map(brief).unwrap_or_default();
            out.extend([
                u64::from(r.second),
                r.completed,
                r.errors,
                r.failed,
                r.p50_us,
                r.p99_us,
                r.max_us,
            ]);
        }
        out.extend(
            self.target_codes
                .iter()
                .map(|c| c.map_or(0, |c| u64::from(c) + 1)),
        );
        let targets = &self.targets[..self.targets.len().min(MAX_ENTRIES)];
        out.push(targets.len() as u64);
        for t in targets {
            t.encode(out);
        }
        debug_assert_eq!(out.len(), FIXED_WORDS + targets.len() * TARGET_WORDS);
    }

    fn decode(words: &[u64]) -> Self {
        let mut w = words.iter().copied();
        let mut next = || w.next().unwrap_or(0);
        let flags = next();
        let mut s = Self {
            started: flags & 1 != 0,
            finished: flags & 2 != 0,
            elapsed: Duration::from_nanos(next()),
            ..Self::default()
        };
        for field in [
            &mut s.sent,
            &mut s.completed,
            &mut s.failed,
            &mut s.unfinished,
            &mut s.unsent,
            &mut s.in_flight,
            &mut s.bytes_in,
            &mut s.bytes_out,
            &mut s.connections,
            &mut s.connect_failures,
            &mut s.retries,
            &mut s.streams,
            &mut s.goaways,
        ] {
            *field = next();
        }
        for n in s.status.iter_mut() {
            *n = next();
        }
        for n in &mut s.errors {
            *n = next();
        }
        for b in [&mut s.latency, &mut s.service] {
            for c in &mut b.cumulative {
                *c = next();
            }
            b.count = next();
            b.sum_us = next();
        }
        s.open_second = u32::try_from(next()).ok();
        let rows = usize::try_from(next()).unwrap_or(0).min(RECENT_ROWS);
        for i in 0..RECENT_ROWS {
            let r = Second {
                second: u32::try_from(next()).unwrap_or(u32::MAX),
                completed: next(),
                errors: next(),
                failed: next(),
                p50_us: next(),
                p99_us: next(),
                max_us: next(),
                ..Second::default()
            };
            if i < rows {
                s.rows.push(r);
            }
        }
        for code in &mut s.target_codes {
            *code = u16::try_from(next()).ok().and_then(|c| c.checked_sub(1));
        }
        let targets = usize::try_from(next()).unwrap_or(0).min(MAX_ENTRIES);
        s.targets = (0..targets)
            .map(|_| TargetCounts::decode(&mut next))
            .collect();
        s
    }
}

/// A second's counts and percentiles, without its histograms (which a
/// snapshot does not carry: the live views need only the numbers).
fn brief(r: &Second) -> Second {
    Second {
        second: r.second,
        completed: r.completed,
        errors: r.errors,
        failed: r.failed,
        p50_us: r.p50_us,
        p99_us: r.p99_us,
        max_us: r.max_us,
        ..Second::default()
    }
}

/// Rows of two loops merged by second, as `Stats::merge` merges timelines:
/// counts add, per-second percentiles take the higher (an upper bound).
fn combine_rows(a: &[Second], b: &[Second]) -> Vec<Second> {
    let mut out: Vec<Second> = a.to_vec();
    for r in b {
        match out.iter_mut().find(|x| x.second == r.second) {
            Some(x) => {
                x.completed += r.completed;
                x.errors += r.errors;
                x.failed += r.failed;
                x.p50_us = x.p50_us.max(r.p50_us);
                x.p99_us = x.p99_us.max(r.p99_us);
                x.max_us = x.max_us.max(r.max_us);
            }
            None => out.push(brief(r)),
        }
    }
    out.sort_by_key(|r| r.second);
    out
}

/// Words of an encoded snapshot but its targets' counts.
const FIXED_WORDS: usize = 2
    + 13
    + STATUS_CODES
    + ErrorKind::COUNT
    + 2 * (BOUNDS_US.len() + 2)
    + 2
    + RECENT_ROWS * 7
    + TARGET_CODES
    + 1;
/// Entries of targets' counts a snapshot holds at most.
const MAX_ENTRIES: usize = MAX_TARGETS + 1;
/// Words of the longest encoded snapshot: a loop writes only those its
/// snapshot has, a reader reads them all.
const WORDS: usize = FIXED_WORDS + MAX_ENTRIES * TARGET_WORDS;

/// Tries a reader makes before settling for what it read. A write takes
/// microseconds and a loop writes a few times a second, so the second try
/// nearly always finds the words at rest; after the first few, a reader
/// waits a little between tries.
const READ_TRIES: usize = 1000;
const SPINS: usize = 8;

/// One loop's latest snapshot: one writer (the loop), any readers.
#[derive(Debug)]
pub(crate) struct Published {
    /// Odd while a write is under way; it rises by 2 with each write.
    seq: AtomicU64,
    words: Box<[AtomicU64]>,
}

impl Default for Published {
    fn default() -> Self {
        let published = Self {
            seq: AtomicU64::new(0),
            words: (0..WORDS).map(|_| AtomicU64::new(0)).collect(),
        };
        let mut words = Vec::with_capacity(WORDS);
        Snapshot::default().encode(&mut words);
        for (a, w) in published.words.iter().zip(words) {
            a.store(w, Ordering::Relaxed);
        }
        published
    }
}

impl Published {
    /// Replaces the snapshot (only the one loop that owns it writes).
    /// `scratch` is the caller's, so that a write allocates nothing.
    pub(crate) fn write(&self, snapshot: &Snapshot, scratch: &mut Vec<u64>) {
        snapshot.encode(scratch);
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (a, &w) in self.words.iter().zip(scratch.iter()) {
            a.store(w, Ordering::Relaxed);
        }
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// The latest snapshot, whole.
    pub(crate) fn read(&self) -> Snapshot {
        let mut words = vec![0; WORDS];
        for attempt in 0..READ_TRIES {
            if attempt >= SPINS {
                std::thread::sleep(Duration::from_micros(50));
            }
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            for (w, a) in words.iter_mut().zip(self.words.iter()) {
                *w = a.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                break;
            }
        }
        Snapshot::decode(&words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u64) -> Snapshot {
        let mut s = Snapshot {
            started: true,
            finished: seed.is_multiple_of(2),
            elapsed: Duration::from_millis(1234 + seed),
            sent: 10 + seed,
            completed: 9 + seed,
            failed: 1,
            unfinished: 2,
            unsent: 3,
            in_flight: 4,
            bytes_in: 5000,
            bytes_out: 6000,
            connections: 7,
            connect_failures: 8,
            open_second: Some(3),
            rows: vec![
                Second {
                    second: 1,
                    completed: 5,
                    errors: 1,
                    failed: 1,
                    p50_us: 10,
                    p99_us: 20,
                    max_us: 30,
                    ..Second::default()
                },
                Second {
                    second: 2,
                    completed: 4 + seed,
                    errors: 0,
                    p50_us: 11,
                    p99_us: 21,
                    max_us: 31 + seed,
                    ..Second::default()
                },
            ],
            ..Snapshot::default()
        };
        s.status[200] = 9 + seed;
        s.status[503] = 1;
        s.errors[ErrorKind::Timeout.index()] = 1;
        s.latency.cumulative[3] = 9;
        s.latency.count = 9 + seed;
        s.latency.sum_us = 777;
        s.service.cumulative[19] = 2;
        // Two targets; with an odd seed, the second loop to publish has a
        // code the first had not counted.
        s.target_codes[0] = Some(200);
        s.targets = vec![TargetCounts::default(); 2];
        s.targets[0].completed = 9 + seed;
        s.targets[0].status[0] = 9 + seed;
        s.targets[1].failed = 1;
        s.targets[1].errors[ErrorKind::Timeout.index()] = 1;
        if seed % 2 == 1 {
            s.target_codes[1] = Some(503);
            s.targets[1].status[1] = seed;
            s.targets[1].other_status = 1;
        }
        s
    }

    #[test]
    fn a_snapshot_comes_back_as_it_went_in() {
        let p = Published::default();
        assert_eq!(p.read(), Snapshot::default());
        let mut scratch = Vec::new();
        for seed in 0..3 {
            let s = sample(seed);
            p.write(&s, &mut scratch);
            assert_eq!(p.read(), s);
            assert_eq!(scratch.len(), FIXED_WORDS + 2 * TARGET_WORDS);
        }
    }

    #[test]
    fn a_reader_never_sees_half_a_write() {
        let p = std::sync::Arc::new(Published::default());
        let writer = {
            let p = std::sync::Arc::clone(&p);
            std::thread::spawn(move || {
                // Far more often than a loop writes, with the pauses a
                // loop's writes have between them.
                let mut scratch = Vec::new();
                for seed in 0..2000 {
                    p.write(&sample(seed), &mut scratch);
                    std::thread::sleep(Duration::from_micros(20));
                }
            })
        };
        for _ in 0..2000 {
            let s = p.read();
            // Every field of one write moves with `sent`.
            if s.started {
                assert_eq!(s.completed + 1, s.sent);
                assert_eq!(s.status[200], s.completed);
                assert_eq!(s.latency.count, s.completed);
                assert_eq!(s.targets[0].completed, s.completed);
            }
        }
        writer.join().unwrap();
    }

    #[test]
    fn loops_add_up_and_their_rows_combine_by_second() {
        let mut a = sample(1);
        let b = sample(2);
        a.add(&b);
        assert_eq!((a.sent, a.completed, a.status[200]), (23, 21, 21));
        assert_eq!(a.latency.count, 21);
        assert!(!a.finished, "one loop still runs");
        assert_eq!(a.open_second, Some(3));
        assert_eq!(a.rows.len(), 2);
        assert_eq!((a.rows[1].completed, a.rows[1].max_us), (4 + 1 + 4 + 2, 33));
        assert!(a.is_closed(2) && !a.is_closed(3));
        assert_eq!(a.target_codes[..2], [Some(200), Some(503)]);
        assert_eq!((a.targets[0].completed, a.targets[0].status[0]), (21, 21));
        assert_eq!((a.targets[1].status[1], a.targets[1].other_status), (1, 1));
        // A loop that has not published yet (no targets) adds nothing.
        let mut early = Snapshot::default();
        early.add(&sample(1));
        assert_eq!(early.targets, sample(1).targets);
        let mut done = sample(0);
        done.open_second = None;
        let mut other = sample(2);
        other.open_second = None;
        done.add(&other);
        assert!(done.finished && done.is_closed(1_000));
    }

    #[test]
    fn of_stats_keeps_the_latest_rows() {
        let s = Stats::new();
        let slots = StatusSlots::default();
        let snap = Snapshot::of(&s, 0, Duration::ZERO, false, &slots);
        assert_eq!(snap.open_second, Some(0));
        assert!(snap.rows.is_empty() && snap.started);
        assert!(snap.targets.is_empty(), "one request: no targets");
        let done = Snapshot::of(&s, 0, Duration::ZERO, true, &slots);
        assert_eq!(done.open_second, None);
    }

    /// However many targets, a snapshot fits the words of the seqlock.
    #[test]
    fn a_thousand_targets_fit() {
        let mut stats = Stats::new();
        let mut t = volley_core::TargetStats::new(2);
        t.add_status(200, 2);
        t.completed = 2;
        stats.targets = vec![t; 1000];
        let slots = StatusSlots::default();
        let s = Snapshot::of(&stats, 0, Duration::ZERO, false, &slots);
        assert_eq!(s.targets.len(), MAX_TARGETS + 1);
        assert_eq!(
            s.targets[MAX_TARGETS].completed,
            2 * (1000 - MAX_TARGETS as u64)
        );
        let p = Published::default();
        let mut scratch = Vec::new();
        p.write(&s, &mut scratch);
        assert_eq!(scratch.len(), WORDS);
        assert_eq!(p.read(), s);
    }
}
