//! What a [`Snapshot`](crate::Snapshot) carries of each target of
//! `--targets` (SPEC §10): its request counts by outcome, status code and
//! error kind, for the live views' counters "by target" (SPEC §15).
//!
//! A snapshot stays bounded however many targets and status codes the run
//! has. It counts the first [`MAX_TARGETS`] targets one by one and, when
//! there are more, all the others together in one more entry. Of status
//! codes, each target counts those of [`TARGET_CODES`] slots, and the others
//! together: a code takes a free slot the first time a loop publishes it
//! and keeps it for the rest of the run, and the slots are the process's
//! (held by [`Control`](crate::Control)), so a code counts under the same
//! slot in every loop and the loops' counts add up slot by slot. Slots are
//! only ever taken, so a count never moves from one code to another, and
//! the count of the others only grows: each series is a counter.
//!
//! Latency and service time stay run-wide: a target's fixed buckets would
//! cost a walk of its HDR histograms at every snapshot.

use std::sync::atomic::{AtomicU16, Ordering::Relaxed};

use volley_core::{ErrorKind, TargetStats};

/// Targets a snapshot counts one by one, in the order of the targets;
/// those after them are counted together in one more entry.
pub const MAX_TARGETS: usize = 64;
/// Status codes that per-target counts name; the codes a run sees after
/// these are taken are counted together.
pub const TARGET_CODES: usize = 16;

/// One target's request counts (or those of the targets after the first
/// [`MAX_TARGETS`], together).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetCounts {
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
    /// Failed requests by kind (index = [`ErrorKind::index`]).
    pub errors: [u64; ErrorKind::COUNT],
    /// Completed responses by slot of
    /// [`Snapshot::target_codes`](crate::Snapshot::target_codes).
    pub status: [u64; TARGET_CODES],
    /// Completed responses whose code has no slot (all were taken).
    pub other_status: u64,
}

/// Words of one encoded [`TargetCounts`].
pub(crate) const TARGET_WORDS: usize = 5 + ErrorKind::COUNT + TARGET_CODES + 1;

impl TargetCounts {
    /// Counts `t` into these, its codes by their slots in `slots`.
    fn count(&mut self, t: &TargetStats, slots: &StatusSlots) {
        self.sent += t.sent;
        self.completed += t.completed;
        self.failed += t.failed;
        self.unfinished += t.unfinished;
        self.unsent += t.unsent;
        for (a, b) in self.errors.iter_mut().zip(t.errors) {
            *a += b;
        }
        for &(code, n) in &t.status {
            match slots.slot(code) {
                Some(i) => self.status[i] += n,
                None => self.other_status += n,
            }
        }
    }

    /// Adds another loop's counts of the same entry.
    pub(crate) fn add(&mut self, other: &Self) {
        for (a, b) in [
            (&mut self.sent, other.sent),
            (&mut self.completed, other.completed),
            (&mut self.failed, other.failed),
            (&mut self.unfinished, other.unfinished),
            (&mut self.unsent, other.unsent),
            (&mut self.other_status, other.other_status),
        ] {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        for (a, b) in self.status.iter_mut().zip(other.status) {
            *a += b;
        }
    }

    /// Completed responses by code, ascending, with `codes` the slots'
    /// codes; codes without a count are left out.
    pub fn statuses(&self, codes: &[Option<u16>; TARGET_CODES]) -> Vec<(u16, u64)> {
        let mut out: Vec<(u16, u64)> = codes
            .iter()
            .zip(self.status)
            .filter_map(|(code, n)| Some((code.filter(|_| n > 0)?, n)))
            .collect();
        out.sort_unstable();
        out
    }

    pub(crate) fn encode(&self, out: &mut Vec<u64>) {
        out.extend([
            self.sent,
            self.completed,
            self.failed,
            self.unfinished,
            self.unsent,
        ]);
        out.extend_from_slice(&self.errors);
        out.extend_from_slice(&self.status);
        out.push(self.other_status);
    }

    pub(crate) fn decode(mut next: impl FnMut() -> u64) -> Self {
        let mut t = Self::default();
        for field in [
            &mut t.sent,
            &mut t.completed,
            &mut t.failed,
            &mut t.unfinished,
            &mut t.unsent,
        ] {
            *field = next();
        }
        for n in t.errors.iter_mut().chain(&mut t.status) {
            *n = next();
        }
        t.other_status = next();
        t
    }
}

/// The counts of `targets` as a snapshot carries them: the first
/// [`MAX_TARGETS`] one by one, then, if there are more, the others in one
/// entry. Empty for a run of one request.
pub(crate) fn counts_of(targets: &[TargetStats], slots: &StatusSlots) -> Vec<TargetCounts> {
    let entries = targets.len().min(MAX_TARGETS + 1);
    let mut out = vec![TargetCounts::default(); entries];
    for (i, t) in targets.iter().enumerate() {
        out[i.min(MAX_TARGETS)].count(t, slots);
    }
    out
}

/// The status codes of the per-target counts' slots, shared by a process's
/// loops: a code takes the first free slot when a loop first counts it and
/// keeps it for the run.
#[derive(Debug)]
pub struct StatusSlots {
    /// A code plus one; 0 for a free slot.
    slots: [AtomicU16; TARGET_CODES],
}

impl Default for StatusSlots {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| AtomicU16::new(0)),
        }
    }
}

impl StatusSlots {
    /// The slot of `code`, taking a free one for a code not seen before;
    /// `None` once every slot holds another code.
    pub fn slot(&self, code: u16) -> Option<usize> {
        let mine = code.saturating_add(1);
        for (i, s) in self.slots.iter().enumerate() {
            let held = match s.load(Relaxed) {
                0 => match s.compare_exchange(0, mine, Relaxed, Relaxed) {
                    Ok(_) => return Some(i),
                    // Another loop took it meanwhile.
                    Err(held) => held,
                },
                held => held,
            };
            if held == mine {
                return Some(i);
            }
        }
        None
    }

    /// The code of each slot; `None` for a free one.
    pub fn codes(&self) -> [Option<u16>; TARGET_CODES] {
        std::array::from_fn(|i| self.slots[i].load(Relaxed).checked_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(statuses: &[(u16, u64)]) -> TargetStats {
        let mut t = TargetStats::new(2);
        for &(code, n) in statuses {
            t.add_status(code, n);
            t.completed += n;
            t.sent += n;
        }
        t.failed = 1;
        t.errors[ErrorKind::Timeout.index()] = 1;
        t
    }

    #[test]
    fn codes_keep_their_slots_and_the_rest_count_together() {
        let slots = StatusSlots::default();
        assert_eq!(slots.slot(503), Some(0));
        assert_eq!(slots.slot(200), Some(1));
        assert_eq!(slots.slot(503), Some(0));
        for code in 300..300 + TARGET_CODES as u16 - 2 {
            assert!(slots.slot(code).is_some());
        }
        assert_eq!(slots.slot(999), None, "all taken");
        assert_eq!(slots.slot(200), Some(1));
        let codes = slots.codes();
        assert_eq!((codes[0], codes[1]), (Some(503), Some(200)));
        assert_eq!(StatusSlots::default().codes(), [None; TARGET_CODES]);
        assert_eq!(StatusSlots::default().slot(0), Some(0), "code 0 is a code");
    }

    #[test]
    fn the_targets_after_the_first_ones_count_together() {
        let slots = StatusSlots::default();
        let one = target(&[(200, 3), (404, 1)]);
        assert!(counts_of(&[], &slots).is_empty());
        let two = counts_of(&[one.clone(), target(&[(503, 2)])], &slots);
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].statuses(&slots.codes()), [(200, 3), (404, 1)]);
        assert_eq!(two[1].statuses(&slots.codes()), [(503, 2)]);
        assert_eq!((two[1].completed, two[1].failed), (2, 1));

        let many = vec![one; MAX_TARGETS + 10];
        let counts = counts_of(&many, &slots);
        assert_eq!(counts.len(), MAX_TARGETS + 1);
        assert_eq!(counts[0].completed, 4);
        let rest = &counts[MAX_TARGETS];
        assert_eq!((rest.completed, rest.sent, rest.failed), (40, 40, 10));
        assert_eq!(rest.errors[ErrorKind::Timeout.index()], 10);
        assert_eq!(rest.statuses(&slots.codes()), [(200, 30), (404, 10)]);
        let total: u64 = counts.iter().map(|c| c.completed).sum();
        assert_eq!(total, 4 * (MAX_TARGETS as u64 + 10));
    }

    #[test]
    fn codes_beyond_the_slots_count_as_others() {
        let slots = StatusSlots::default();
        let codes: Vec<(u16, u64)> = (200..200 + TARGET_CODES as u16 + 2)
            .map(|c| (c, 1))
            .collect();
        let c = &counts_of(&[target(&codes)], &slots)[0];
        assert_eq!(c.statuses(&slots.codes()).len(), TARGET_CODES);
        assert_eq!(c.other_status, 2);
        let mut words = Vec::new();
        c.encode(&mut words);
        assert_eq!(words.len(), TARGET_WORDS);
        let mut w = words.into_iter();
        assert_eq!(&TargetCounts::decode(|| w.next().unwrap()), c);
        let mut twice = c.clone();
        twice.add(c);
        assert_eq!((twice.other_status, twice.status[0]), (4, 2));
    }
}
