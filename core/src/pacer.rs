//! The arrival schedule: when request k is intended to start.
//!
//! The intended time of request k is computed from k, never accumulated, so
//! it cannot drift however long the run. The fixed-rate part uses integer
//! arithmetic on a rate in requests per 1,000 s, so it is exact to the
//! nanosecond; the ramp-up part solves the rate integral in floating point.

use std::sync::Arc;

use crate::Duration;

/// Nanoseconds in 1,000 seconds: the unit of [`Rate::Fixed`]'s `milli_rps`.
const NANOS_PER_KILOSECOND: u128 = 1_000_000_000_000;

/// The target arrival rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    /// Open model: this many requests per 1,000 seconds (`--rps 2.5` is 2,500).
    Fixed {
        /// Requests per 1,000 seconds; never 0.
        milli_rps: u64,
    },
    /// Closed loop: each user sends again as soon as its last response ended.
    Max,
}

impl Rate {
    /// A fixed rate from requests per second, rounded to 1/1000 req/s.
    /// Returns `None` for rates that round to 0 or are not finite.
    pub fn per_second(rps: f64) -> Option<Self> {
        let milli = (rps * 1000.0).round();
        (milli.is_finite() && milli >= 1.0 && milli <= u64::MAX as f64).then_some(Self::Fixed {
            milli_rps: milli as u64,
        })
    }

    /// Requests per second, or `None` for [`Rate::Max`].
    pub fn rps(self) -> Option<f64> {
        match self {
            Self::Fixed { milli_rps } => Some(milli_rps as f64 / 1000.0),
            Self::Max => None,
        }
    }
}

/// One stage of a load shape (SPEC §12): over `duration` the rate moves
/// linearly from where the previous stage ended (0 for the first) to `rps`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// The rate at its end, requests per second (0 or more, finite).
    pub rps: f64,
}

/// The schedule of one engine: intended times relative to the common `t0`.
///
/// Several engines (threads, shards) share one global schedule at the total
/// rate: engine `phase` of `stride` takes global requests `phase`,
/// `phase + stride`, `phase + 2·stride`, ... Together they make the single
/// evenly spaced schedule exactly, with no rounding of a per-engine rate.
#[derive(Clone, Debug)]
pub struct Pacer {
    shape: Shape,
    stride: u64,
    phase: u64,
}

#[derive(Clone, Debug)]
enum Shape {
    /// A fixed rate, in requests per 1,000 s: exact to the nanosecond.
    Steady(u64),
    /// Piecewise-linear stages, then (for a ramp-up) a fixed rate.
    Staged(Arc<Staged>),
}

/// Stages with the request counts at their starts, precomputed so that the
/// time of request k is found by a search and one quadratic.
#[derive(Debug)]
struct Staged {
    segments: Vec<Segment>,
    /// All the stages' requests (the rate's integral; not a whole number in
    /// general).
    total: f64,
    /// The stages' end, since `t0`.
    end: Duration,
    /// The fixed rate after the stages, per 1,000 s, if the schedule goes on.
    then: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct Segment {
    /// Seconds since `t0` at which it starts, and its length.
    start: f64,
    length: f64,
    /// Rate at its start and its end, req/s.
    from: f64,
    to: f64,
    /// Requests due before it starts.
    before: f64,
}

impl Segment {
    fn requests(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.length
    }

    /// Seconds into the segment at which `n` of its requests are due: the
    /// root of from·x + (to − from)/(2·length)·x² = n, in the form that is
    /// stable whichever way the rate moves.
    fn time_of(&self, n: f64) -> f64 {
        let a = (self.to - self.from) / (2.0 * self.length);
        let b = self.from;
        if n <= 0.0 {
            0.0
        } else if a == 0.0 {
            n / b
        } else {
            2.0 * n / (b + (b * b + 4.0 * a * n).max(0.0).sqrt())
        }
    }
}

impl Pacer {
    /// A schedule at `milli_rps` requests per 1,000 s in total, rising
    /// linearly from 0 over `ramp_up`, of which this engine takes every
    /// `stride`-th request starting at `phase`.
    pub fn new(milli_rps: u64, ramp_up: Duration, stride: u64, phase: u64) -> Self {
        assert!(milli_rps > 0, "a fixed rate must be positive");
        assert!(phase < stride, "phase must be below stride");
        let shape = if ramp_up.is_zero() {
            Shape::Steady(milli_rps)
        } else {
            let rps = milli_rps as f64 / 1000.0;
            Shape::Staged(Arc::new(Staged::new(
                &[Stage {
                    duration: ramp_up,
                    rps,
                }],
                Some(milli_rps),
            )))
        };
        Self {
            shape,
            stride,
            phase,
        }
    }

    /// A schedule that follows `stages` (SPEC §12) and ends with them, of
    /// which this engine takes every `stride`-th request from `phase`.
    pub fn staged(stages: &[Stage], stride: u64, phase: u64) -> Self {
        assert!(phase < stride, "phase must be below stride");
        assert!(
            stages.iter().all(|s| s.rps >= 0.0 && s.rps.is_finite()),
            "stage rates are finite, 0 or more"
        );
        Self {
            shape: Shape::Staged(Arc::new(Staged::new(stages, None))),
            stride,
            phase,
        }
    }

    /// The global index of this engine's request `k`.
    pub fn global_index(&self, k: u64) -> u64 {
        k.saturating_mul(self.stride).saturating_add(self.phase)
    }

    /// Intended start of this engine's request `k`, as time since `t0`. A
    /// request the stages never schedule is due at their end, which is the
    /// run's end: it is never sent.
    pub fn intended(&self, k: u64) -> Duration {
        self.global(self.global_index(k))
    }

    /// Intended start of global request `k`.
    fn global(&self, k: u64) -> Duration {
        match &self.shape {
            Shape::Steady(milli_rps) => steady(u128::from(k), *milli_rps),
            Shape::Staged(staged) => staged.global(k),
        }
    }

    /// How many of this engine's requests are intended strictly before
    /// `elapsed` since `t0`.
    pub fn count_before(&self, elapsed: Duration) -> u64 {
        // intended() is monotonic: binary search for the first k at or after.
        let (mut lo, mut hi) = (0u64, 1u64);
        while self.intended(hi) < elapsed {
            lo = hi;
            hi = hi.saturating_mul(2);
            if hi == u64::MAX {
                break;
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.intended(mid) < elapsed {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        lo
    }
}

/// Intended time of request `k` at a fixed rate of `milli_rps` per 1,000 s.
fn steady(k: u128, milli_rps: u64) -> Duration {
    let nanos = k * NANOS_PER_KILOSECOND / u128::from(milli_rps);
    Duration::new(
        (nanos / 1_000_000_000) as u64,
        (nanos % 1_000_000_000) as u32,
    )
}

impl Staged {
    fn new(stages: &[Stage], then: Option<u64>) -> Self {
        let mut segments = Vec::with_capacity(stages.len());
        let (mut start, mut from, mut before) = (0.0, 0.0, 0.0);
        for stage in stages {
            let length = stage.duration.as_secs_f64();
            let segment = Segment {
                start,
                length,
                from,
                to: stage.rps,
                before,
            };
            if length > 0.0 {
                before += segment.requests();
                segments.push(segment);
            }
            start += length;
            from = stage.rps;
        }
        let end = stages.iter().map(|s| s.duration).sum();
        Self {
            segments,
            total: before,
            end,
            then,
        }
    }

    fn global(&self, k: u64) -> Duration {
        let kf = k as f64;
        if kf < self.total {
            // The last segment whose first request is at or before k; one
            // with no requests (a rate of 0 throughout) is passed over.
            let i = self.segments.partition_point(|s| s.before <= kf) - 1;
            let s = &self.segments[i];
            let at = s.start + s.time_of(kf - s.before);
            return Duration::from_secs_f64(at.clamp(s.start, s.start + s.length)).min(self.end);
        }
        match self.then {
            // The fixed rate after the stages, counted from their end, and
            // exact again.
            Some(milli_rps) => {
                let first_after = self.total.ceil() as u64;
                let rps = milli_rps as f64 / 1000.0;
                let offset = Duration::from_secs_f64((first_after as f64 - self.total) / rps);
                self.end + offset + steady(u128::from(k - first_after), milli_rps)
            }
            None => self.end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_without_drift_over_ten_million() {
        // 3 req/s: the period (333,333,333.3 ns) is not a whole number of
        // nanoseconds, the case where adding periods drifts.
        let p = Pacer::new(3_000, Duration::ZERO, 1, 0);
        let mut prev = Duration::ZERO;
        for k in (0..10_000_000u64).step_by(997) {
            let t = p.intended(k);
            let exact = k as u128 * 1_000_000_000 / 3;
            assert_eq!(t.as_nanos(), exact, "k={k}");
            assert!(t >= prev);
            prev = t;
        }
        let k = 10_000_000u64;
        assert_eq!(p.intended(k).as_nanos(), 3_333_333_333_333_333);
        assert_eq!(p.intended(3 * k), Duration::from_secs(k));
    }

    #[test]
    fn fractional_rate() {
        let Some(Rate::Fixed { milli_rps }) = Rate::per_second(0.5) else {
            panic!()
        };
        let p = Pacer::new(milli_rps, Duration::ZERO, 1, 0);
        assert_eq!(p.intended(3), Duration::from_secs(6));
        assert_eq!(Rate::per_second(0.0), None);
        assert_eq!(Rate::per_second(-1.0), None);
        assert_eq!(Rate::per_second(f64::NAN), None);
    }

    #[test]
    fn strided_engines_interleave_exactly() {
        // Three engines sharing 1000/s make one schedule at 1000/s, even
        // though 1000/3 is not a whole rate.
        let engines: Vec<_> = (0..3)
            .map(|i| Pacer::new(1_000_000, Duration::ZERO, 3, i))
            .collect();
        let mut all: Vec<_> = (0..1000)
            .flat_map(|k| engines.iter().map(move |p| p.intended(k)))
            .collect();
        all.sort();
        for (k, t) in all.iter().enumerate() {
            assert_eq!(*t, Duration::from_millis(k as u64));
        }
        let total: u64 = engines
            .iter()
            .map(|p| p.count_before(Duration::from_secs(1)))
            .sum();
        assert_eq!(total, 1000);
    }

    #[test]
    fn count_before_matches_intended() {
        let p = Pacer::new(1_000_000, Duration::ZERO, 1, 0);
        assert_eq!(p.count_before(Duration::ZERO), 0);
        assert_eq!(p.count_before(Duration::from_nanos(1)), 1);
        assert_eq!(p.count_before(Duration::from_secs(10)), 10_000);
        assert_eq!(p.count_before(Duration::from_nanos(10_000_000_001)), 10_001);
    }

    #[test]
    fn ramp_up_follows_the_integral() {
        // 100 req/s after a 10 s ramp: 500 requests within the ramp, and the
        // number started by time t is 100·t²/20 during it.
        let ramp = Duration::from_secs(10);
        let p = Pacer::new(100_000, ramp, 1, 0);
        for t in [1u64, 2, 5, 8, 10] {
            let expected = 100.0 * (t * t) as f64 / 20.0;
            let n = p.count_before(Duration::from_secs(t)) as f64;
            assert!((n - expected).abs() <= 1.0, "t={t}: {n} vs {expected}");
        }
        // After the ramp, exactly the steady rate.
        let at_ramp_end = p.count_before(ramp);
        let later = p.count_before(ramp + Duration::from_secs(5));
        assert_eq!(later - at_ramp_end, 500);
        // Monotonic across the seam.
        let mut prev = Duration::ZERO;
        for k in 0..2000 {
            let t = p.intended(k);
            assert!(t >= prev, "k={k}");
            prev = t;
        }
        // Gaps during the ramp shrink toward the steady period.
        let gap = |k| p.intended(k + 1) - p.intended(k);
        assert!(gap(10) > gap(400));
        assert_eq!(gap(1500), Duration::from_millis(10));
    }

    #[test]
    fn stages_schedule_their_integral_exactly() {
        let s = |secs: u64, rps: f64| Stage {
            duration: Duration::from_secs(secs),
            rps,
        };
        // Up to 1,000 over 2 s (1,000 requests), hold 2 s (2,000), down to 0
        // over 2 s (1,000).
        let shape = [s(2, 1000.0), s(2, 1000.0), s(2, 0.0)];
        let p = Pacer::staged(&shape, 1, 0);
        let end = Duration::from_secs(6);
        assert_eq!(p.count_before(end), 4_000);
        assert_eq!(p.count_before(Duration::from_secs(2)), 1_000);
        assert_eq!(p.count_before(Duration::from_secs(4)), 3_000);
        assert_eq!(p.intended(4_000), end, "never due within the run");
        let mut prev = Duration::ZERO;
        for k in 0..4_001 {
            let t = p.intended(k);
            assert!(t >= prev && t <= end, "k={k}: {t:?}");
            prev = t;
        }
        // Threads and shards split it exactly.
        let parts: Vec<Pacer> = (0..3).map(|i| Pacer::staged(&shape, 3, i)).collect();
        assert_eq!(
            parts.iter().map(|p| p.count_before(end)).sum::<u64>(),
            4_000
        );
        // A stage at 0 throughout schedules nothing, and the next starts after it.
        let gap = Pacer::staged(&[s(1, 0.0), s(1, 0.0), s(1, 100.0)], 1, 0);
        assert_eq!(gap.count_before(Duration::from_secs(2)), 0);
        assert_eq!(gap.count_before(Duration::from_secs(3)), 50);
        assert!(gap.intended(0) >= Duration::from_secs(2));
        // A ramp-up as stages schedules what --ramp-up schedules.
        let ramp = Pacer::new(1_000_000, Duration::from_secs(2), 1, 0);
        let stages = Pacer::staged(&[s(2, 1000.0), s(2, 1000.0)], 1, 0);
        assert_eq!(ramp.count_before(Duration::from_secs(4)), 3_000);
        assert_eq!(stages.count_before(Duration::from_secs(4)), 3_000);
        // Down from a rate: the stable root.
        let down = Pacer::staged(&[s(1, 100.0), s(10, 50.0)], 1, 0);
        assert_eq!(down.count_before(Duration::from_secs(11)), 50 + 750);
    }
}
