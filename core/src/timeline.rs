//! The per-second timeline (SPEC §3): rows of completions, errors and
//! latency percentiles, one for each second of the run that had any.
//! [`Seconds`] builds them as requests end, the same way for the run and
//! for each of its targets; [`merge_timelines`] adds two of them up.

use hdrhistogram::Histogram;

use crate::Duration;
use crate::spread::Spread;
use crate::stats::record;

/// One second of the run, counted from `t0`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Second {
    /// Seconds since `t0` at which this row starts.
    pub second: u32,
    /// Requests that completed (any status) within this second.
    pub completed: u64,
    /// Requests that failed within this second, plus completed ones whose
    /// status was not 2xx or 3xx.
    pub errors: u64,
    /// Median latency of the completions in this second, µs.
    pub p50_us: u64,
    /// 99th percentile latency of the completions in this second, µs.
    pub p99_us: u64,
    /// Highest latency of the completions in this second, µs.
    pub max_us: u64,
    /// Requests that failed within this second.
    pub failed: u64,
    /// The latencies of this second's completions, when
    /// [`crate::Stats::keep_seconds`] (empty otherwise, and in results
    /// saved before they were kept).
    pub latency: Spread,
    /// Their service times, likewise.
    pub service: Spread,
}

/// The second being filled, and how to close it into a row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Seconds {
    second: u32,
    completed: u64,
    errors: u64,
    failed: u64,
    /// Exact, unlike the histogram's 2 significant digits.
    max_us: u64,
    latency: Histogram<u64>,
    service: Histogram<u64>,
    /// Keep each closed second's latencies and service times in its row
    /// (saved results, format 2).
    pub(crate) keep: bool,
}

impl Seconds {
    /// Second 0, empty.
    pub(crate) fn new() -> Self {
        // 2 significant digits is plenty for a per-second p99. The
        // histograms grow only as far as the values recorded (at most 1 h),
        // and hold what fixed ones of 1 µs to 1 h would: a second of 10 ms
        // latencies costs about 8 KiB each, not 26.
        let h = || {
            let mut h = Histogram::new_with_bounds(1, 2, 2).expect("valid histogram bounds"); // ok: constant bounds
            h.auto(true);
            h
        };
        Self {
            second: 0,
            completed: 0,
            errors: 0,
            failed: 0,
            max_us: 0,
            latency: h(),
            service: h(),
            keep: false,
        }
    }

    /// The second being filled, counted from `t0`.
    pub(crate) fn second(&self) -> u32 {
        self.second
    }

    /// A response completed at `since_t0`.
    pub(crate) fn response(
        &mut self,
        rows: &mut Vec<Second>,
        since_t0: Duration,
        status: u16,
        latency: Duration,
        service: Duration,
    ) {
        self.roll(rows, since_t0);
        self.completed += 1;
        self.errors += u64::from(!(200..400).contains(&status));
        record(&mut self.latency, latency);
        record(&mut self.service, service);
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.max_us = self.max_us.max(us);
    }

    /// A request failed at `since_t0`.
    pub(crate) fn failure(&mut self, rows: &mut Vec<Second>, since_t0: Duration) {
        self.roll(rows, since_t0);
        self.errors += 1;
        self.failed += 1;
    }

    /// Closes the second in progress into `rows` if `since_t0` is past it.
    /// A time from an earlier second (a clock that stepped back) counts in
    /// the current one, so rows stay in order.
    pub(crate) fn roll(&mut self, rows: &mut Vec<Second>, since_t0: Duration) {
        let second = u32::try_from(since_t0.as_secs()).unwrap_or(u32::MAX);
        if second > self.second {
            self.close(rows);
            self.second = second;
        }
    }

    /// Appends the second in progress to `rows`, unless nothing ended in
    /// it, and empties it.
    pub(crate) fn close(&mut self, rows: &mut Vec<Second>) {
        if self.completed == 0 && self.errors == 0 {
            return;
        }
        let h = &self.latency;
        let (latency, service) = match self.keep {
            true => (Spread::of(&self.latency), Spread::of(&self.service)),
            false => (Spread::default(), Spread::default()),
        };
        // The histogram gives the top of a quantile's bucket, which can
        // pass the exact maximum kept beside it.
        let at = |q: f64| match h.is_empty() {
            true => 0,
            false => h.value_at_quantile(q).min(self.max_us),
        };
        rows.push(Second {
            second: self.second,
            completed: self.completed,
            errors: self.errors,
            failed: self.failed,
            latency,
            service,
            p50_us: at(0.5),
            p99_us: at(0.99),
            max_us: self.max_us,
        });
        self.completed = 0;
        self.errors = 0;
        self.failed = 0;
        self.max_us = 0;
        self.service.reset();
        self.latency.reset();
    }
}

/// Two timelines as one: rows of the same second add. When both kept
/// their seconds' latencies, the second's percentiles are those of both
/// together, exactly; otherwise they are the higher of the two (an upper
/// bound).
pub(crate) fn merge_timelines(a: &[Second], b: &[Second]) -> Vec<Second> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let row = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.second == y.second => {
                i += 1;
                j += 1;
                merge_second(x, y)
            }
            (Some(x), Some(y)) if x.second < y.second => {
                i += 1;
                x.clone()
            }
            (Some(x), None) => {
                i += 1;
                x.clone()
            }
            (_, Some(y)) => {
                j += 1;
                y.clone()
            }
            (None, None) => break,
        };
        out.push(row);
    }
    out
}

fn merge_second(x: &Second, y: &Second) -> Second {
    let exact = (x.latency.len() == x.completed && !x.latency.is_empty() || x.completed == 0)
        && (y.latency.len() == y.completed && !y.latency.is_empty() || y.completed == 0);
    let latency = x.latency.merge(&y.latency);
    let max_us = x.max_us.max(y.max_us);
    let (p50_us, p99_us) = match exact && !latency.is_empty() {
        true => (
            latency.quantile(0.5).min(max_us),
            latency.quantile(0.99).min(max_us),
        ),
        false => (x.p50_us.max(y.p50_us), x.p99_us.max(y.p99_us)),
    };
    Second {
        second: x.second,
        completed: x.completed + y.completed,
        errors: x.errors + y.errors,
        failed: x.failed + y.failed,
        p50_us,
        p99_us,
        max_us,
        service: x.service.merge(&y.service),
        latency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::HIGHEST_US;

    #[test]
    fn growing_histograms_give_the_rows_of_fixed_ones() {
        let mut seconds = Seconds::new();
        seconds.keep = true;
        let mut fixed = Histogram::<u64>::new_with_bounds(1, HIGHEST_US, 2).unwrap();
        let mut rows = Vec::new();
        let values = (0..500u64).map(|i| i * i * i * 29).chain([u64::MAX / 4]);
        for us in values {
            let d = Duration::from_micros(us);
            seconds.response(&mut rows, Duration::ZERO, 200, d, d);
            fixed.saturating_record(us);
        }
        seconds.failure(&mut rows, Duration::from_millis(500));
        seconds.roll(&mut rows, Duration::from_millis(1_500));
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!((row.completed, row.errors, row.failed), (501, 1, 1));
        assert_eq!(row.p50_us, fixed.value_at_quantile(0.5));
        assert_eq!(row.p99_us, fixed.value_at_quantile(0.99));
        assert_eq!(row.latency, Spread::of(&fixed));
        assert_eq!(row.max_us, u64::MAX / 4);
        // Nothing in the next second: closing it adds no row.
        seconds.close(&mut rows);
        assert_eq!((rows.len(), seconds.second()), (1, 1));
    }

    /// A histogram gives the top of a quantile's bucket, which can pass
    /// the exact maximum kept beside it (2,866 µs reads back as 2,879 at
    /// two digits); a row's percentiles never do.
    #[test]
    fn percentiles_never_pass_the_maximum() {
        let mut seconds = Seconds::new();
        let mut rows = Vec::new();
        for us in [2_866, 2_866, 1_000] {
            let d = Duration::from_micros(us);
            seconds.response(&mut rows, Duration::ZERO, 200, d, d);
        }
        seconds.close(&mut rows);
        let row = &rows[0];
        assert_eq!(row.max_us, 2_866);
        assert!(
            row.p50_us <= row.max_us && row.p99_us <= row.max_us,
            "{row:?}"
        );
        assert_eq!(row.p99_us, 2_866);
    }
}
