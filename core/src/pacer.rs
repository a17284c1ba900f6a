//! The arrival schedule: when request k is intended to start.
//!
//! The intended time of request k is computed from k, never accumulated, so
//! it cannot drift however long the run. The fixed-rate part uses integer
//! arithmetic on a rate in requests per 1,000 s, so it is exact to the
//! nanosecond; the ramp-up part solves the rate integral in floating point.

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

/// The schedule of one engine: intended times relative to the common `t0`.
///
/// Several engines (threads, shards) share one global schedule at the total
/// rate: engine `phase` of `stride` takes global requests `phase`,
/// `phase + stride`, `phase + 2·stride`, ... Together they make the single
/// evenly spaced schedule exactly, with no rounding of a per-engine rate.
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    milli_rps: u64,
    ramp_up: Duration,
    stride: u64,
    phase: u64,
}

impl Pacer {
    /// A schedule at `milli_rps` requests per 1,000 s in total, rising
    /// linearly from 0 over `ramp_up`, of which this engine takes every
    /// `stride`-th request starting at `phase`.
    pub fn new(milli_rps: u64, ramp_up: Duration, stride: u64, phase: u64) -> Self {
        assert!(milli_rps > 0, "a fixed rate must be positive");
        assert!(phase < stride, "phase must be below stride");
        Self {
            milli_rps,
            ramp_up,
            stride,
            phase,
        }
    }

    /// The global index of this engine's request `k`.
    pub fn global_index(&self, k: u64) -> u64 {
        k.saturating_mul(self.stride).saturating_add(self.phase)
    }

    /// Intended start of this engine's request `k`, as time since `t0`.
    pub fn intended(&self, k: u64) -> Duration {
        self.global(self.global_index(k))
    }

    /// Intended start of global request `k`.
    fn global(&self, k: u64) -> Duration {
        if self.ramp_up.is_zero() {
            return self.steady(k as u128);
        }
        // Requests that fall within the ramp: the integral of
        // rate(t) = R·t/T over [0, T] is R·T/2.
        let rps = self.milli_rps as f64 / 1000.0;
        let ramp = self.ramp_up.as_secs_f64();
        let in_ramp = rps * ramp / 2.0;
        let kf = k as f64;
        if kf < in_ramp {
            // R·t²/(2T) = k  =>  t = sqrt(2·T·k/R)
            Duration::from_secs_f64((2.0 * ramp * kf / rps).sqrt())
        } else {
            // After the ramp: steady rate, counted from the ramp's end.
            let first_after = in_ramp.ceil() as u64;
            let after = Duration::from_secs_f64((first_after as f64 - in_ramp) / rps);
            self.ramp_up + after + self.steady((k - first_after) as u128)
        }
    }

    fn steady(&self, k: u128) -> Duration {
        let nanos = k * NANOS_PER_KILOSECOND / self.milli_rps as u128;
        Duration::new(
            (nanos / 1_000_000_000) as u64,
            (nanos % 1_000_000_000) as u32,
        )
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
}
