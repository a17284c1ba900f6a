//! Fixed histogram buckets for live views such as a Prometheus endpoint.
//!
//! The HDR histograms are exact to 3 digits but their bucket edges depend
//! on nothing a dashboard knows. Prometheus aggregates histograms across
//! processes by adding counts of equal `le` bounds, so every process must
//! use the same bounds: these, log-spaced 1-2-5 per decade. They are
//! derived from the HDR histograms when a view asks, rather than recorded
//! beside them, so a request costs nothing more.

use hdrhistogram::Histogram;

/// The upper bounds, µs: 1-2-5 per decade from 50 µs to 50 s, then 60 s.
/// Anything slower counts only in the `+Inf` bucket.
pub const BOUNDS_US: [u64; 20] = [
    50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
    1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000, 60_000_000,
];

/// How a histogram's values fall into [`BOUNDS_US`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Buckets {
    /// `cumulative[i]` values were at most `BOUNDS_US[i]`.
    pub cumulative: [u64; BOUNDS_US.len()],
    /// Every value (the `+Inf` bucket).
    pub count: u64,
    /// The sum of the values, µs, each taken at the middle of its HDR
    /// bucket, as the HDR mean takes it: `sum_us / count` is the report's
    /// mean.
    pub sum_us: u64,
}

impl Buckets {
    /// The buckets of `h`, a histogram of microseconds.
    ///
    /// A value counts under the first bound at or above the lowest value
    /// its HDR bucket stands for: a value exactly on a bound counts under
    /// it, and one within HDR's resolution (0.1%) above a bound may too.
    pub fn of(h: &Histogram<u64>) -> Self {
        let mut own = [0u64; BOUNDS_US.len()];
        let mut b = Self::default();
        for v in h.iter_recorded() {
            let n = v.count_at_value();
            let value = v.value_iterated_to();
            let low = h.lowest_equivalent(value);
            b.count += n;
            b.sum_us = b
                .sum_us
                .saturating_add(h.median_equivalent(value).saturating_mul(n));
            if let Some(slot) = own.get_mut(BOUNDS_US.partition_point(|&bound| bound < low)) {
                *slot += n;
            }
        }
        let mut total = 0;
        for (c, n) in b.cumulative.iter_mut().zip(own) {
            total += n;
            *c = total;
        }
        b
    }

    /// Adds `other`'s counts into these (buckets of one more process or
    /// thread).
    pub fn add(&mut self, other: &Self) {
        for (a, b) in self.cumulative.iter_mut().zip(other.cumulative) {
            *a += b;
        }
        self.count += other.count;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::new_histogram;

    fn of(values: &[u64]) -> Buckets {
        let mut h = new_histogram();
        for &v in values {
            h.saturating_record(v);
        }
        Buckets::of(&h)
    }

    /// The first bound index each value counts under, `None` for `+Inf` only.
    fn slot(value: u64) -> Option<usize> {
        let b = of(&[value]);
        assert_eq!(b.count, 1);
        b.cumulative.iter().position(|&c| c == 1)
    }

    #[test]
    fn bounds_are_one_two_five_per_decade_then_sixty_seconds() {
        let mut expected = Vec::new();
        let mut decade = 10;
        while expected.len() < 19 {
            for m in [1, 2, 5] {
                let b = m * decade;
                if b >= 50 && expected.len() < 19 {
                    expected.push(b);
                }
            }
            decade *= 10;
        }
        expected.push(60_000_000);
        assert_eq!(BOUNDS_US.to_vec(), expected);
        assert_eq!(*BOUNDS_US.last().unwrap(), 60_000_000);
    }

    #[test]
    fn a_value_on_a_bound_counts_under_it() {
        for (i, &bound) in BOUNDS_US.iter().enumerate() {
            assert_eq!(slot(bound), Some(i), "{bound} µs");
        }
        // Below the first bound, and just past bounds HDR keeps exact.
        assert_eq!(slot(1), Some(0));
        assert_eq!(slot(51), Some(1));
        assert_eq!(slot(1_001), Some(5));
    }

    #[test]
    fn past_a_bound_by_more_than_the_resolution_counts_under_the_next() {
        // At 100 ms HDR's buckets are 64 µs wide; at 60 s, 32,768 µs.
        assert_eq!(slot(100_000 + 64), Some(11));
        assert_eq!(slot(60_000_000 + 32_768), None);
    }

    #[test]
    fn beyond_sixty_seconds_only_plus_inf() {
        for v in [61_000_000, 600_000_000, crate::stats::HIGHEST_US, u64::MAX] {
            let b = of(&[v]);
            assert_eq!((b.count, b.cumulative), (1, [0; BOUNDS_US.len()]), "{v}");
        }
    }

    #[test]
    fn counts_are_cumulative_and_the_sum_gives_the_mean() {
        let values = [40, 40, 150, 900, 3_000, 70_000_000];
        let mut h = new_histogram();
        for v in values {
            h.record(v).unwrap();
        }
        let b = Buckets::of(&h);
        assert_eq!(
            b.cumulative,
            [2, 2, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]
        );
        assert_eq!(b.count, 6);
        assert!((b.sum_us as f64 / 6.0 - h.mean()).abs() < 1.0);
        let mut twice = b;
        twice.add(&b);
        assert_eq!((twice.count, twice.cumulative[0]), (12, 4));
        assert_eq!(Buckets::of(&new_histogram()), Buckets::default());
    }
}
