//! The statistics of `volley compare` (SPEC §13), pure: no files, no
//! clock, a seeded generator. A run is a series of seconds, each with its
//! latencies counted in bins of two significant digits and its request
//! counts. The change of a metric from BASE to NEW gets a 95 % interval:
//!
//! - with one run per side, from a moving-block bootstrap over the
//!   seconds: latencies within a run are correlated (a slow minute is slow
//!   for every request in it), so resampling single requests, or single
//!   seconds, would understate the noise; blocks of consecutive seconds
//!   keep that correlation; a drift slower than the blocks (each second's
//!   log-latency keeping φ 0.9 of the last one's) is measured from the
//!   runs ([`Drift`]) and widens the interval by what the blocks miss;
//! - with three runs or more per side, from the spread between the runs
//!   (Welch's t interval of the difference of the runs' means).

use std::fmt;

/// Bins of two significant digits: values below 100 µs exactly, then 90
/// bins per decade, up to an hour.
const PER_DECADE: u32 = 90;
/// Bins in all: 100 exact values and 8 decades (100 µs to 10^10 µs).
pub(crate) const BINS: usize = 100 + 8 * PER_DECADE as usize;

/// The bin of `us`.
pub(crate) fn bin(us: u64) -> usize {
    if us < 100 {
        return us as usize;
    }
    let mut decade = 0u32;
    let mut v = us;
    while v >= 1000 {
        v /= 10;
        decade += 1;
    }
    // v is 100..=999: its first two digits.
    ((100 + decade * PER_DECADE) as usize + (v / 10 - 10) as usize).min(BINS - 1)
}

/// A bin's value: the middle of the values it holds, µs.
pub(crate) fn value(bin: usize) -> f64 {
    let (low, width) = span(bin);
    low + width / 2.0
}

/// The lowest value a bin holds and its width, µs.
fn span(bin: usize) -> (f64, f64) {
    if bin < 100 {
        return (bin as f64, 1.0);
    }
    let decade = (bin - 100) as u32 / PER_DECADE;
    let lead = 10 + (bin - 100) as u32 % PER_DECADE;
    let scale = 10f64.powi(decade as i32 + 1);
    (f64::from(lead) * scale, scale)
}

/// One second of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Second {
    /// Latency counts by bin, sorted by bin.
    pub(crate) latency: Vec<(u16, u64)>,
    /// Requests that completed, and that ended in an error (failed, or a
    /// status other than 2xx/3xx), in this second.
    pub(crate) completed: u64,
    pub(crate) errors: u64,
    /// Requests that ended (completed or failed).
    pub(crate) ended: u64,
}

/// What a comparison measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Metric {
    /// A latency quantile, 0 < q < 1.
    Quantile(f64),
    Mean,
    Max,
    /// Errors as a share of the requests that ended, %.
    ErrorShare,
    /// Completed per second.
    Rate,
}

impl Metric {
    /// The metrics of SPEC §13, in report order.
    pub(crate) const ALL: [Self; 8] = [
        Self::Quantile(0.5),
        Self::Quantile(0.9),
        Self::Quantile(0.99),
        Self::Quantile(0.999),
        Self::Mean,
        Self::Max,
        Self::ErrorShare,
        Self::Rate,
    ];

    /// A higher value is worse (latency, errors) or better (rate).
    pub(crate) fn higher_is_worse(self) -> bool {
        !matches!(self, Self::Rate)
    }

    /// The error share changes in percentage points, not in %, because its
    /// base is often 0.
    pub(crate) fn in_points(self) -> bool {
        matches!(self, Self::ErrorShare)
    }

    /// The report's name: p50 … p99.9, mean, max, errors, rps.
    pub(crate) fn name(self) -> String {
        match self {
            Self::Quantile(q) => format!("p{}", crate::format::trim(format!("{:.3}", q * 100.0))),
            Self::Mean => "mean".into(),
            Self::Max => "max".into(),
            Self::ErrorShare => "errors".into(),
            Self::Rate => "rps".into(),
        }
    }

    /// Parses a name as [`Metric::name`] writes it.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Latency counts over all bins, and the request counts, of some seconds.
#[derive(Clone, Debug)]
pub(crate) struct Sum {
    latency: Vec<u64>,
    completed: u64,
    errors: u64,
    ended: u64,
    seconds: u64,
}

impl Sum {
    fn new() -> Self {
        Self {
            latency: vec![0; BINS],
            completed: 0,
            errors: 0,
            ended: 0,
            seconds: 0,
        }
    }

    #[cfg(test)]
    fn add(&mut self, s: &Second) {
        for &(b, n) in &s.latency {
            self.latency[usize::from(b)] += n;
        }
        self.completed += s.completed;
        self.errors += s.errors;
        self.ended += s.ended;
        self.seconds += 1;
    }

    /// The latency samples.
    pub(crate) fn samples(&self) -> u64 {
        self.latency.iter().sum()
    }

    /// The metric of these seconds; `None` when there is nothing to measure.
    pub(crate) fn metric(&self, m: Metric) -> Option<f64> {
        let n = self.samples();
        match m {
            // Within its bin, the quantile is placed by its rank among the
            // bin's values, as if they were spread evenly across it: a
            // resample then moves the quantile by a little, not by a bin.
            Metric::Quantile(q) => {
                let rank = (q * n as f64).max(0.5);
                let mut seen = 0u64;
                self.latency.iter().enumerate().find_map(|(b, &c)| {
                    let before = seen;
                    seen += c;
                    (c > 0 && seen as f64 >= rank).then(|| {
                        let (low, width) = span(b);
                        low + width * ((rank - before as f64 - 0.5) / c as f64).clamp(0.0, 1.0)
                    })
                })
            }
            Metric::Mean => (n > 0).then(|| {
                self.latency
                    .iter()
                    .enumerate()
                    .map(|(b, c)| value(b) * *c as f64)
                    .sum::<f64>()
                    / n as f64
            }),
            Metric::Max => self.latency.iter().rposition(|c| *c > 0).map(value),
            Metric::ErrorShare => {
                (self.ended > 0).then(|| 100.0 * self.errors as f64 / self.ended as f64)
            }
            Metric::Rate => (self.seconds > 0).then(|| self.completed as f64 / self.seconds as f64),
        }
    }
}

/// The sum of all of `seconds`.
#[cfg(test)]
pub(crate) fn total(seconds: &[Second]) -> Sum {
    let mut s = Sum::new();
    for sec in seconds {
        s.add(sec);
    }
    s
}

/// A quantile needs this many samples beyond it to be told apart.
const TAIL_SAMPLES: f64 = 10.0;

/// Whether `samples` resolve metric `m`: p99.9 of 500 requests does not.
pub(crate) fn resolves(m: Metric, samples: u64) -> bool {
    match m {
        Metric::Quantile(q) => samples as f64 * (1.0 - q) >= TAIL_SAMPLES,
        _ => samples > 0,
    }
}

/// SplitMix64: a small, fast generator; a fixed seed makes a comparison
/// reproducible.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [0, 1).
    #[cfg(test)]
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    #[cfg(test)]
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

/// Prefix sums over a run's seconds, so that any block of consecutive
/// seconds sums in one pass over the bins.
struct Prefix {
    latency: Vec<Vec<u64>>,
    counts: Vec<[u64; 3]>,
}

impl Prefix {
    fn new(seconds: &[Second]) -> Self {
        let mut latency = vec![vec![0u64; BINS]];
        let mut counts = vec![[0u64; 3]];
        for s in seconds {
            let mut row = latency.last().cloned().unwrap_or_default(); // ok: never empty
            for &(b, n) in &s.latency {
                row[usize::from(b)] += n;
            }
            let last = counts[counts.len() - 1];
            counts.push([last[0] + s.completed, last[1] + s.errors, last[2] + s.ended]);
            latency.push(row);
        }
        Self { latency, counts }
    }

    fn add_block(&self, sum: &mut Sum, start: usize, len: usize) {
        let (a, b) = (&self.latency[start], &self.latency[start + len]);
        for (i, total) in sum.latency.iter_mut().enumerate() {
            *total += b[i] - a[i];
        }
        let (ca, cb) = (self.counts[start], self.counts[start + len]);
        sum.completed += cb[0] - ca[0];
        sum.errors += cb[1] - ca[1];
        sum.ended += cb[2] - ca[2];
        sum.seconds += len as u64;
    }
}

/// The block length for `n` seconds: a fifth of the run, kept between √n
/// and 3√n seconds, so that a block holds a slow stretch of the load while
/// a short run still has five blocks to vary and a long one not too few.
pub(crate) fn block_length(n: usize) -> usize {
    let root = (n as f64).sqrt();
    ((n as f64 / 5.0).clamp(root, 3.0 * root).round() as usize).clamp(1, n.max(1))
}

/// Each second's mean log-latency and the variance of that mean from the
/// second's own sample (its latencies' variance over their count). The
/// logarithm, because a drifting load scales latencies; seconds without
/// latencies are left out.
fn log_levels(seconds: &[Second]) -> Vec<(f64, f64)> {
    seconds
        .iter()
        .filter_map(|s| {
            let n = s.latency.iter().map(|(_, c)| *c as f64).sum::<f64>();
            let ln = |b: u16| value(usize::from(b)).max(1.0).ln();
            let mean = s
                .latency
                .iter()
                .map(|&(b, c)| ln(b) * c as f64)
                .sum::<f64>()
                / n;
            let var = s
                .latency
                .iter()
                .map(|&(b, c)| (ln(b) - mean).powi(2) * c as f64)
                .sum::<f64>()
                / (n - 1.0).max(1.0);
            (n > 0.0).then_some((mean, var / n))
        })
        .collect()
}

/// The slow drift of a load, seen in the seconds' mean log-latency: an
/// AR(1) process (each second keeps φ of the last one's deviation) of
/// variance `signal`, plus each second's own sampling noise of variance
/// `noise`, independent from second to second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Drift {
    pub(crate) phi: f64,
    signal: f64,
    noise: f64,
}

impl Drift {
    /// The drift of both sides together: runs of one service under one
    /// load, and one run's minute says little. Each side's own mean is
    /// taken out. φ is the lag-one autocovariance over the signal's
    /// variance (the total less the known sampling noise, which would
    /// otherwise pull φ towards 0), corrected for the small-sample bias of
    /// that estimate (Kendall 1954: it falls short by about (1 + 3φ)/n),
    /// which is large just where it matters, for slow drift in short runs.
    /// φ is kept within [0, 0.95]: a negative one would narrow the
    /// interval, and past 0.95 a run holds too few independent stretches
    /// to say.
    pub(crate) fn estimate(base: &[Second], new: &[Second]) -> Self {
        let none = Self {
            phi: 0.0,
            signal: 0.0,
            noise: 0.0,
        };
        let (mut lagged, mut squares, mut noise, mut n) = (0.0, 0.0, 0.0, 0usize);
        for x in [log_levels(base), log_levels(new)] {
            if x.len() < 3 {
                continue;
            }
            let mean = x.iter().map(|(m, _)| m).sum::<f64>() / x.len() as f64;
            lagged += x
                .windows(2)
                .map(|w| (w[0].0 - mean) * (w[1].0 - mean))
                .sum::<f64>();
            squares += x.iter().map(|(m, _)| (m - mean).powi(2)).sum::<f64>();
            noise += x.iter().map(|(_, v)| v).sum::<f64>();
            n += x.len();
        }
        if n == 0 {
            return none;
        }
        let signal = squares - noise;
        if signal <= 0.0 {
            return none;
        }
        // Pooled over two series of about n/2 seconds each.
        let len = n as f64 / 2.0;
        let phi = lagged / signal;
        Self {
            phi: ((phi * len + 1.0) / (len - 3.0).max(1.0)).clamp(0.0, 0.95),
            signal: signal / n as f64,
            noise: noise / n as f64,
        }
    }

    /// The variance of a run's mean second, in units of one second's
    /// variance times n: Σ_k of the autocovariances, the drift's being
    /// (1 + φ)/(1 − φ) times its variance.
    fn whole(&self) -> f64 {
        self.noise + self.signal * (1.0 + self.phi) / (1.0 - self.phi)
    }

    /// How much wider the interval must be than the block bootstrap's
    /// spread when resampling blocks of `block` seconds. Blocks keep the
    /// correlation within them and lose the one between them: of the
    /// drift's Σ_k ρ(k) = (1 + φ)/(1 − φ) they see Σ_{|k|<b} (1 − |k|/b)
    /// ρ(k) (the sampling noise they see whole). For φ 0.7 and 12 s blocks
    /// that is 77 % of the drift's; for φ 0.9, 43 %, and the interval was
    /// a third too narrow (A/A pairs called a change 15-20 % of the time).
    /// The factor is the square root of whole over seen, at least 1.
    pub(crate) fn widening(&self, block: usize) -> f64 {
        let (phi, b) = (self.phi, block.max(1));
        let bartlett = 1.0
            + 2.0
                * (1..b)
                    .map(|k| (1.0 - k as f64 / b as f64) * phi.powi(k as i32))
                    .sum::<f64>();
        let ratio = self.whole() / (self.noise + self.signal * bartlett);
        if ratio.is_finite() {
            ratio.sqrt().max(1.0)
        } else {
            1.0
        }
    }

    /// How many independent pieces a run of `seconds` resampled in blocks
    /// of `block` holds: its blocks, or fewer when the drift outlasts them
    /// (the seconds over the number that count as one independent
    /// second, whole over one second's variance). Student's t for that
    /// many, less one, makes up for the spread being uncertain itself.
    pub(crate) fn pieces(&self, seconds: usize, block: usize) -> f64 {
        let blocks = seconds.div_ceil(block.max(1)) as f64;
        let span = self.whole() / (self.noise + self.signal);
        if span.is_finite() && span > 1.0 {
            blocks.min(seconds as f64 / span)
        } else {
            blocks
        }
    }
}

/// A moving-block bootstrap of one run: `replicates` resampled runs of
/// (about) its length, each made of blocks of `block` consecutive seconds.
pub(crate) fn bootstrap(
    seconds: &[Second],
    block: usize,
    replicates: usize,
    rng: &mut Rng,
) -> Vec<Sum> {
    let n = seconds.len();
    let prefix = Prefix::new(seconds);
    let block = block.clamp(1, n.max(1));
    let blocks = n.div_ceil(block);
    (0..replicates)
        .map(|_| {
            let mut sum = Sum::new();
            for _ in 0..blocks {
                let start = rng.below((n - block + 1) as u64) as usize;
                prefix.add_block(&mut sum, start, block);
            }
            sum
        })
        .collect()
}

/// The change of a metric from base to new: in % of base, or in
/// percentage points for the error share.
pub(crate) fn change(m: Metric, base: f64, new: f64) -> Option<f64> {
    if m.in_points() {
        Some(new - base)
    } else {
        (base > 0.0).then(|| 100.0 * (new / base - 1.0))
    }
}

/// A change with its 95 % interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Interval {
    pub(crate) low: f64,
    pub(crate) high: f64,
}

impl Interval {
    /// The interval excludes no change.
    pub(crate) fn significant(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// Changes smaller than this, in % (or points), are below what the
/// seconds' histograms of two significant digits resolve: they are `~`
/// whatever the interval says.
pub(crate) const RESOLUTION: f64 = 1.0;

/// The 95 % interval of the change of `m` from the bootstrap replicates
/// of each side (independent resamples), around the `point` change: the
/// replicates' standard deviation, times `widen` for the drift the blocks
/// miss ([`Drift::widening`]), times Student's t for the independent
/// `pieces` a run holds ([`Drift::pieces`]). With few pieces (a minute-long
/// run whose load drifts over tens of seconds holds only a handful), the
/// bootstrap's spread is itself uncertain, and t's wider tail makes up for
/// it where the percentile method would claim too much.
pub(crate) fn interval_from_replicates(
    m: Metric,
    point: f64,
    base: &[Sum],
    new: &[Sum],
    pieces: f64,
    widen: f64,
) -> Option<Interval> {
    let changes: Vec<f64> = base
        .iter()
        .zip(new)
        .filter_map(|(b, n)| change(m, b.metric(m)?, n.metric(m)?))
        .filter(|c| c.is_finite())
        .collect();
    if changes.len() < 2 || changes.len() < base.len() / 2 {
        return None;
    }
    let mean = changes.iter().sum::<f64>() / changes.len() as f64;
    let sd = (changes.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>()
        / (changes.len() - 1) as f64)
        .sqrt();
    let half = t_975((pieces - 1.0).max(1.0)) * sd * widen;
    Some(Interval {
        low: point - half,
        high: point + half,
    })
}

/// The 95 % interval of the change from the runs' own values of the metric
/// (three or more per side): Welch's t interval of the difference of the
/// means, relative to the base mean (or in points).
pub(crate) fn interval_from_runs(m: Metric, base: &[f64], new: &[f64]) -> Option<Interval> {
    if base.len() < 2 || new.len() < 2 {
        return None;
    }
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let var = |x: &[f64], mu: f64| {
        x.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / (x.len() - 1) as f64
    };
    let (mb, mn) = (mean(base), mean(new));
    let (vb, vn) = (
        var(base, mb) / base.len() as f64,
        var(new, mn) / new.len() as f64,
    );
    let se = (vb + vn).sqrt();
    let df = if vb + vn > 0.0 {
        (vb + vn).powi(2)
            / (vb * vb / (base.len() - 1) as f64 + vn * vn / (new.len() - 1) as f64)
                .max(f64::MIN_POSITIVE)
    } else {
        f64::INFINITY
    };
    let half = t_975(df) * se;
    let scale = if m.in_points() {
        1.0
    } else if mb > 0.0 {
        100.0 / mb
    } else {
        return None;
    };
    let d = mn - mb;
    Some(Interval {
        low: (d - half) * scale,
        high: (d + half) * scale,
    })
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom,
/// interpolated in 1/df between tabled values.
fn t_975(df: f64) -> f64 {
    const TABLE: [(f64, f64); 15] = [
        (1.0, 12.706),
        (2.0, 4.303),
        (3.0, 3.182),
        (4.0, 2.776),
        (5.0, 2.571),
        (6.0, 2.447),
        (7.0, 2.365),
        (8.0, 2.306),
        (9.0, 2.262),
        (10.0, 2.228),
        (12.0, 2.179),
        (15.0, 2.131),
        (20.0, 2.086),
        (30.0, 2.042),
        (f64::INFINITY, 1.960),
    ];
    let df = df.max(1.0);
    for w in TABLE.windows(2) {
        let ((d0, t0), (d1, t1)) = (w[0], w[1]);
        if df <= d1 {
            let (x0, x1, x) = (
                1.0 / d0,
                if d1.is_finite() { 1.0 / d1 } else { 0.0 },
                1.0 / df,
            );
            return t0 + (t1 - t0) * (x0 - x) / (x0 - x1);
        }
    }
    1.960
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn block_lengths_by_run_length() {
        assert_eq!(
            (
                block_length(60),
                block_length(10),
                block_length(3_600),
                block_length(1)
            ),
            (12, 3, 180, 1)
        );
    }

    #[test]
    fn bins_have_two_significant_digits() {
        assert_eq!(bin(0), 0);
        assert_eq!(bin(99), 99);
        assert_eq!((bin(100), bin(109), bin(110)), (100, 100, 101));
        assert_eq!(bin(999), 100 + 89);
        assert_eq!(bin(1000), 100 + 90);
        for us in [150u64, 1_234, 56_789, 3_600_000_000] {
            let v = value(bin(us));
            assert!((v - us as f64).abs() / us as f64 <= 0.05, "{us}: {v}");
        }
        assert!(bin(u64::MAX) < BINS);
    }

    /// Synthetic runs for the studies: `seconds` seconds at `rps`, each
    /// request's latency lognormal around `median_us` (σ 0.3), times a
    /// level that drifts slowly from second to second (an AR(1) process in
    /// its logarithm: φ 0.7, innovations σ 0.03), as a slowly varying
    /// load would make it.
    pub(crate) fn synthetic(
        seconds: usize,
        rps: u64,
        median_us: f64,
        rng: &mut Rng,
    ) -> Vec<Second> {
        drifting(seconds, rps, median_us, 0.7, rng)
    }

    /// As [`synthetic`], with the level's AR(1) coefficient `phi`: 0 for
    /// independent seconds, 0.9 for a drift correlated over about 20 s.
    fn drifting(seconds: usize, rps: u64, median_us: f64, phi: f64, rng: &mut Rng) -> Vec<Second> {
        let sigma = 0.03;
        let mut level = 0.0f64;
        for _ in 0..100 {
            level = phi * level + sigma * rng.normal();
        }
        (0..seconds)
            .map(|_| {
                level = phi * level + sigma * rng.normal();
                let mut counts = vec![0u64; BINS];
                for _ in 0..rps {
                    let us = median_us * (level + 0.3 * rng.normal()).exp();
                    counts[bin(us as u64)] += 1;
                }
                Second {
                    latency: counts
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| **c > 0)
                        .map(|(b, c)| (b as u16, *c))
                        .collect(),
                    completed: rps,
                    errors: 0,
                    ended: rps,
                }
            })
            .collect()
    }

    /// How blocks are chosen in a study.
    #[derive(Clone, Copy, Debug)]
    enum Blocks {
        /// Single seconds: the naive i.i.d. bootstrap.
        Single,
        /// [`block_length`] of the run's length alone (before the drift
        /// was looked at).
        ByLength,
        /// [`block_length`], the interval widened by [`Drift::widening`] for
        /// the drift the runs show, as `compare` does.
        Widened,
    }

    /// The share of `pairs` pairs of runs (`seconds` long at `rps`, level
    /// drifting with `phi`, NEW `slower` times BASE) that `compare` calls
    /// worse and better, for p50 and for p99: `[(worse, better); 2]`.
    fn verdict_rate(
        pairs: u64,
        blocks: Blocks,
        phi: f64,
        slower: f64,
        seconds: usize,
        rps: u64,
    ) -> [(f64, f64); 2] {
        let metrics = [Metric::Quantile(0.5), Metric::Quantile(0.99)];
        let mut counts = [(0u64, 0u64); 2];
        for pair in 0..pairs {
            let mut rng = Rng::new(pair * 7919 + 1);
            let base = drifting(seconds, rps, 2_000.0, phi, &mut rng);
            let new = drifting(seconds, rps, 2_000.0 * slower, phi, &mut rng);
            let (b, widen, pieces) = match blocks {
                Blocks::Single => (1, 1.0, seconds as f64),
                Blocks::ByLength => {
                    let b = block_length(seconds);
                    (b, 1.0, seconds.div_ceil(b) as f64)
                }
                Blocks::Widened => {
                    let b = block_length(seconds);
                    let drift = Drift::estimate(&base, &new);
                    (b, drift.widening(b), drift.pieces(seconds, b))
                }
            };
            let mut boot = Rng::new(pair);
            let rb = bootstrap(&base, b, 400, &mut boot);
            let rn = bootstrap(&new, b, 400, &mut boot);
            let (tb, tn) = (total(&base), total(&new));
            for (m, (worse, better)) in metrics.into_iter().zip(&mut counts) {
                let point = change(m, tb.metric(m).unwrap(), tn.metric(m).unwrap()).unwrap();
                let i = interval_from_replicates(m, point, &rb, &rn, pieces, widen).unwrap();
                *worse += u64::from(i.low > 0.0);
                *better += u64::from(i.high < 0.0);
            }
        }
        counts.map(|(w, b)| (w as f64 / pairs as f64, b as f64 / pairs as f64))
    }

    /// The numbers behind the tests below and the README, with many pairs:
    /// `cargo test --release -p volley --bin volley study -- --ignored --nocapture`.
    #[test]
    #[ignore = "a study: minutes in debug"]
    fn study_false_alarms_and_power() {
        let pairs = 400;
        for (phi, slower, rps) in [
            (0.0, 1.0, 200),
            (0.7, 1.0, 200),
            (0.9, 1.0, 200),
            (0.7, 1.10, 1000),
            (0.9, 1.10, 1000),
        ] {
            for blocks in [Blocks::ByLength, Blocks::Widened] {
                let [p50, p99] = verdict_rate(pairs, blocks, phi, slower, 60, rps);
                println!(
                    "phi {phi} x{slower} {rps} rps {blocks:?}: p50 {:.3} ({:.3} worse), p99 {:.3} ({:.3} worse), of {pairs}",
                    p50.0 + p50.1,
                    p50.0,
                    p99.0 + p99.1,
                    p99.0
                );
            }
        }
        let mut lengths = [Vec::new(), Vec::new(), Vec::new()];
        for (phi, out) in [0.0, 0.7, 0.9].into_iter().zip(&mut lengths) {
            for pair in 0..200 {
                let mut rng = Rng::new(pair * 7919 + 1);
                let base = drifting(60, 200, 2_000.0, phi, &mut rng);
                let new = drifting(60, 200, 2_000.0, phi, &mut rng);
                out.push(Drift::estimate(&base, &new).phi);
            }
            out.sort_by(f64::total_cmp);
            println!(
                "phi {phi}: estimated phi quartiles {:.2} {:.2} {:.2}",
                out[50], out[100], out[150]
            );
        }
    }

    #[test]
    fn a_and_a_the_block_bootstrap_seldom_cries_wolf_and_the_naive_one_often_does() {
        // 200 pairs of 60 s runs at 200 req/s, drawn from one distribution
        // whose level drifts from second to second (φ 0.7).
        let [_, (worse, better)] = verdict_rate(200, Blocks::Widened, 0.7, 1.0, 60, 200);
        let blocks = worse + better;
        assert!(
            blocks <= 0.05,
            "block bootstrap: {worse} worse, {better} better of 200 A/A pairs"
        );
        // Resampling single seconds as if they were independent.
        let [_, (worse, better)] = verdict_rate(200, Blocks::Single, 0.7, 1.0, 60, 200);
        let naive = worse + better;
        assert!(
            naive > 0.05 && naive >= 2.0 * blocks,
            "naive i.i.d. bootstrap: {naive} against {blocks}"
        );
    }

    #[test]
    fn a_and_a_under_a_slow_drift_the_interval_widens() {
        // φ 0.9: the drift outlasts the 12 s blocks. Blocks alone called a
        // change in 20 % (p50) and 17 % (p99) of 400 such pairs; widened
        // for the drift the runs show, 8 % and 5.5 %.
        let pairs = 200;
        let [(w50, b50), (w99, b99)] = verdict_rate(pairs, Blocks::Widened, 0.9, 1.0, 60, 200);
        assert!(
            w50 + b50 <= 0.10 && w99 + b99 <= 0.08,
            "φ 0.9: p50 {w50} worse {b50} better, p99 {w99} worse {b99} better of {pairs} A/A pairs"
        );
    }

    #[test]
    fn ten_percent_slower_is_seen() {
        let [(w50, _), (w99, _)] = verdict_rate(50, Blocks::Widened, 0.7, 1.10, 60, 1000);
        assert!(
            w50 >= 0.90 && w99 >= 0.90,
            "10% slower called worse in {w50} (p50), {w99} (p99) of the pairs"
        );
    }

    #[test]
    fn the_drift_is_measured() {
        for (phi, low, high) in [(0.0, 0.0, 0.2), (0.7, 0.55, 0.85), (0.9, 0.75, 0.95)] {
            let mut rng = Rng::new(11);
            let base = drifting(300, 100, 2_000.0, phi, &mut rng);
            let new = drifting(300, 100, 2_000.0, phi, &mut rng);
            let drift = Drift::estimate(&base, &new);
            assert!(
                (low..=high).contains(&drift.phi),
                "φ {phi} estimated {drift:?}"
            );
        }
        // Independent seconds are not widened, and keep their blocks.
        let none = Drift {
            phi: 0.0,
            signal: 1.0,
            noise: 1.0,
        };
        assert_eq!((none.widening(12), none.pieces(60, 12)), (1.0, 5.0));
        // φ 0.9 and only drift: 12 s blocks see 43 % of the variance, and
        // 60 s hold 60 / 19 independent stretches.
        let slow = Drift {
            phi: 0.9,
            signal: 1.0,
            noise: 0.0,
        };
        assert!(
            (slow.widening(12) - 1.52).abs() < 0.01,
            "{}",
            slow.widening(12)
        );
        assert!((slow.pieces(60, 12) - 60.0 / 19.0).abs() < 1e-9);
    }

    #[test]
    fn the_spread_between_runs() {
        let same =
            interval_from_runs(Metric::Mean, &[100.0, 102.0, 98.0], &[101.0, 99.0, 100.0]).unwrap();
        assert!(!same.significant(), "{same:?}");
        let slower =
            interval_from_runs(Metric::Mean, &[100.0, 102.0, 98.0], &[120.0, 121.0, 119.0])
                .unwrap();
        assert!(
            slower.significant() && slower.low > 10.0 && slower.high < 30.0,
            "{slower:?}"
        );
        let points =
            interval_from_runs(Metric::ErrorShare, &[0.0, 0.0, 0.0], &[1.0, 1.2, 0.8]).unwrap();
        assert!(points.low > 0.0, "{points:?}");
        assert!((t_975(2.0) - 4.303).abs() < 1e-9 && (t_975(1e9) - 1.96).abs() < 1e-3);
        assert!(t_975(25.0) > 2.042 && t_975(25.0) < 2.086);
    }

    #[test]
    fn metrics_and_resolution() {
        let mut rng = Rng::new(3);
        let run = synthetic(10, 100, 1_000.0, &mut rng);
        let all = total(&run);
        assert_eq!(all.samples(), 1_000);
        let p50 = all.metric(Metric::Quantile(0.5)).unwrap();
        assert!((800.0..1_250.0).contains(&p50), "{p50}");
        assert_eq!(all.metric(Metric::Rate), Some(100.0));
        assert_eq!(all.metric(Metric::ErrorShare), Some(0.0));
        assert!(
            resolves(Metric::Quantile(0.99), 1_000) && !resolves(Metric::Quantile(0.999), 1_000)
        );
        assert_eq!(Metric::parse("p99.9"), Some(Metric::Quantile(0.999)));
        assert_eq!(Metric::parse("RPS"), Some(Metric::Rate));
    }
}
