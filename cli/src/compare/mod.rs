//! `volley compare BASE.json... --to NEW.json...` (SPEC §13): whether NEW is
//! faster or slower than BASE, and how sure that is. The runs must be
//! comparable (same request, rate, users and protocol; on schedule; the
//! generator not the bottleneck); each metric gets its change, a 95 %
//! interval from [`stats`] and a verdict; `--max-regression` turns a
//! significant change past its tolerance into exit code 4.

mod html;
pub(crate) mod report;
pub(crate) mod stats;

use volley_core::Stats;

use crate::args::CompareArgs;
use crate::error::{Exit, UsageError, usage};
use crate::result::{Saved, saved};
use stats::{Interval, Metric, Rng};

/// Bootstrap replicates per side.
const REPLICATES: usize = 2_000;

/// One side of a comparison: its runs, merged, and each on its own.
pub(crate) struct Side {
    pub(crate) files: Vec<String>,
    pub(crate) runs: Vec<Saved>,
    pub(crate) merged: Stats,
}

/// The verdict on one metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Better,
    Worse,
    /// No change shown beyond noise.
    Same,
    /// Too few samples to tell this quantile apart.
    Unresolved,
}

/// One metric's line.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub(crate) metric: Metric,
    pub(crate) base: Option<f64>,
    pub(crate) new: Option<f64>,
    /// In % of base, or in points for the error share.
    pub(crate) change: Option<f64>,
    pub(crate) interval: Option<Interval>,
    pub(crate) verdict: Verdict,
}

/// A `--max-regression METRIC:+X%` rule and whether it held.
#[derive(Clone, Debug)]
pub(crate) struct Tolerance {
    pub(crate) text: String,
    pub(crate) metric: Metric,
    /// The change allowed in the worse direction, % (or points).
    pub(crate) allowed: f64,
    pub(crate) failed: bool,
}

/// The whole comparison.
pub(crate) struct Comparison {
    pub(crate) base: Side,
    pub(crate) new: Side,
    pub(crate) lines: Vec<Line>,
    pub(crate) method: &'static str,
    pub(crate) tolerances: Vec<Tolerance>,
    pub(crate) seed: u64,
}

/// Runs `volley compare`.
pub(crate) fn run(a: &CompareArgs) -> anyhow::Result<Exit> {
    let mut tolerances = a
        .max_regression
        .iter()
        .map(|t| tolerance(t))
        .collect::<Result<Vec<_>, _>>()?;
    let report = crate::plan::merge(&crate::args::MergeArgs {
        files: Vec::new(),
        output: a.output,
        thresholds: Vec::new(),
        save: None,
        html: a.html.clone(),
    })?;
    let seed = a.seed.as_deref().map(parse_seed).transpose()?.unwrap_or(0);
    let base = side(&a.base)?;
    let new = side(&a.to)?;
    comparable(&base, &new)?;
    let (lines, method) = compare(&base, &new, seed)?;
    for t in &mut tolerances {
        let Some(line) = lines.iter().find(|l| l.metric == t.metric) else {
            continue;
        };
        let worse = line.verdict == Verdict::Worse;
        let past = line.change.is_some_and(|c| {
            if t.metric.higher_is_worse() {
                c > t.allowed
            } else {
                -c > t.allowed
            }
        });
        t.failed = worse && past;
    }
    let c = Comparison {
        base,
        new,
        lines,
        method,
        tolerances,
        seed,
    };
    report::conclude(&c, &report)
}

fn parse_seed(s: &str) -> Result<u64, UsageError> {
    s.trim()
        .parse()
        .map_err(|_| UsageError(format!("--seed {s:?}: expected a whole number")))
}

/// `METRIC:+X%` (or `errors:+Xpp`... written `errors:+0.5%`: points).
fn tolerance(s: &str) -> Result<Tolerance, UsageError> {
    let bad = || {
        UsageError(format!(
            "--max-regression {s:?}: expected METRIC:+X% with METRIC one of p50 p90 p99 p99.9 mean max errors rps, \
             e.g. p99:+10% or rps:+5%"
        ))
    };
    let (name, limit) = s.trim().split_once(':').ok_or_else(bad)?;
    let metric = Metric::parse(name.trim()).ok_or_else(bad)?;
    let number = limit
        .trim()
        .trim_start_matches('+')
        .strip_suffix('%')
        .ok_or_else(bad)?;
    let allowed: f64 = number.parse().map_err(|_| bad())?;
    if !allowed.is_finite() || allowed < 0.0 {
        return Err(bad());
    }
    Ok(Tolerance {
        text: s.trim().to_string(),
        metric,
        allowed,
        failed: false,
    })
}

fn side(files: &[String]) -> Result<Side, UsageError> {
    let mut runs = Vec::with_capacity(files.len());
    for path in files {
        runs.push(
            saved::read(path.as_ref()).map_err(|e| UsageError(format!("compare {path:?}: {e}")))?,
        );
    }
    let mut merged: Option<Stats> = None;
    for r in &runs {
        match &mut merged {
            Some(m) => m.merge(&r.stats),
            None => merged = Some(r.stats.clone()),
        }
    }
    Ok(Side {
        files: files.to_vec(),
        runs,
        merged: merged.unwrap_or_default(),
    })
}

/// SPEC §13's guard: the same request, rate, users and protocol; each run
/// on schedule; the generator not the bottleneck.
fn comparable(base: &Side, new: &Side) -> Result<(), UsageError> {
    let first = &base.runs[0].info;
    let named = |side: &Side, i: usize| side.files[i].clone();
    for (side, s) in [("BASE", base), ("NEW", new)] {
        for (i, r) in s.runs.iter().enumerate() {
            let file = named(s, i);
            let info = &r.info;
            let differs = if info.method != first.method || info.url != first.url {
                Some(format!(
                    "another request ({} {} against {} {})",
                    info.method, info.url, first.method, first.url
                ))
            } else if info.targets != first.targets {
                Some(format!(
                    "other targets ({} against {})",
                    info.request(),
                    first.request()
                ))
            } else if info.target_rps != first.target_rps {
                Some(format!(
                    "another rate ({:?} against {:?} req/s)",
                    info.target_rps, first.target_rps
                ))
            } else if info.users != first.users {
                Some(format!(
                    "another number of users ({} against {})",
                    info.users, first.users
                ))
            } else if info.tls != first.tls {
                Some("another protocol (http against https)".to_string())
            } else if info.protocol != first.protocol {
                Some(format!(
                    "another protocol ({} against {})",
                    info.protocol, first.protocol
                ))
            } else {
                None
            };
            if let Some(why) = differs {
                return usage(format!("compare: {side} {file:?} is not comparable: {why}"));
            }
        }
    }
    // Then each run on its own: only runs of one test are judged so.
    for (side, s) in [("BASE", base), ("NEW", new)] {
        for (i, r) in s.runs.iter().enumerate() {
            let file = named(s, i);
            let st = &r.stats;
            if st.scheduled > 0 && (st.completed as f64) < 0.99 * st.scheduled as f64 {
                return usage(format!(
                    "compare: {side} {file:?} completed {} of {} scheduled requests, under 99%: its latencies are not \
                     those of its rate",
                    st.completed, st.scheduled
                ));
            }
            let lag = st.send_lag.value_at_percentile(99.0);
            let p50 = st.latency.value_at_percentile(50.0);
            if lag >= 1_000 && lag * 10 >= p50 {
                return usage(format!(
                    "compare: in {side} {file:?} volley was the bottleneck: its send lag p99 was {} µs (at least 1 ms and \
                     10% of the latency p50, {} µs); give it more --users, --threads or CPU",
                    lag, p50
                ));
            }
        }
    }
    Ok(())
}

/// The seconds of a side's runs, for the bootstrap.
fn seconds(side: &Side) -> Result<Vec<stats::Second>, UsageError> {
    let mut out = Vec::new();
    for (i, r) in side.runs.iter().enumerate() {
        // The seconds of the sending window: after it, the last responses
        // trickle in and the second is not a whole one.
        let whole = r.stats.duration.as_secs();
        for row in r
            .stats
            .timeline
            .iter()
            .filter(|row| u64::from(row.second) < whole.max(1))
        {
            if row.completed > 0 && row.latency.len() != row.completed {
                return usage(format!(
                    "compare {:?}: it has no per-second histograms (it was saved by an older volley, format 1): \
                     compare one run per side needs files saved with this version, or give three runs per side",
                    side.files[i]
                ));
            }
            let mut counts = vec![0u64; stats::BINS];
            for (value, n) in row.latency.pairs() {
                counts[stats::bin(value)] += n;
            }
            out.push(stats::Second {
                latency: counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(|(b, c)| (b as u16, *c))
                    .collect(),
                completed: row.completed,
                errors: row.errors,
                ended: row.completed + row.failed,
            });
        }
    }
    Ok(out)
}

/// A metric of whole statistics, exactly (from the full histograms).
fn exact(m: Metric, s: &Stats) -> Option<f64> {
    let h = &s.latency;
    match m {
        Metric::Quantile(q) => (!h.is_empty()).then(|| h.value_at_quantile(q) as f64),
        Metric::Mean => (!h.is_empty()).then(|| h.mean()),
        Metric::Max => (!h.is_empty()).then(|| h.max() as f64),
        Metric::ErrorShare => {
            let ended = s.completed + s.failed;
            (ended > 0).then(|| 100.0 * (s.failed + s.non_success()) as f64 / ended as f64)
        }
        Metric::Rate => Some(s.achieved_rps()),
    }
}

fn compare(base: &Side, new: &Side, seed: u64) -> Result<(Vec<Line>, &'static str), UsageError> {
    let by_runs = base.runs.len() >= 3 && new.runs.len() >= 3;
    let mut rng = Rng::new(seed);
    let boot = if by_runs {
        None
    } else {
        let (sb, sn) = (seconds(base)?, seconds(new)?);
        if sb.len() < 2 || sn.len() < 2 {
            return usage("compare: a side has fewer than 2 seconds of results; run longer");
        }
        let (bb, bn) = (stats::block_length(sb.len()), stats::block_length(sn.len()));
        let drift = stats::Drift::estimate(&sb, &sn);
        let pieces = drift.pieces(sb.len(), bb).min(drift.pieces(sn.len(), bn));
        let widen = drift.widening(bb.min(bn));
        Some((
            stats::bootstrap(&sb, bb, REPLICATES, &mut rng),
            stats::bootstrap(&sn, bn, REPLICATES, &mut rng),
            pieces,
            widen,
        ))
    };
    let lines = Metric::ALL
        .into_iter()
        .map(|m| {
            let (b, n) = (exact(m, &base.merged), exact(m, &new.merged));
            let samples = base.merged.latency.len().min(new.merged.latency.len());
            let change = b.zip(n).and_then(|(b, n)| stats::change(m, b, n));
            if !stats::resolves(m, samples) {
                return Line {
                    metric: m,
                    base: b,
                    new: n,
                    change,
                    interval: None,
                    verdict: Verdict::Unresolved,
                };
            }
            let interval = match (&boot, change) {
                (Some((rb, rn, pieces, widen)), Some(point)) => {
                    stats::interval_from_replicates(m, point, rb, rn, *pieces, *widen)
                }
                (None, _) => {
                    let values = |s: &Side| {
                        s.runs
                            .iter()
                            .filter_map(|r| exact(m, &r.stats))
                            .collect::<Vec<_>>()
                    };
                    stats::interval_from_runs(m, &values(base), &values(new))
                }
                _ => None,
            };
            let resolved = change.is_some_and(|c| c.abs() >= stats::RESOLUTION);
            let verdict = match interval {
                Some(i) if i.significant() && resolved => {
                    let up = i.low > 0.0;
                    if up == m.higher_is_worse() {
                        Verdict::Worse
                    } else {
                        Verdict::Better
                    }
                }
                _ => Verdict::Same,
            };
            Line {
                metric: m,
                base: b,
                new: n,
                change,
                interval,
                verdict,
            }
        })
        .collect();
    let method = if by_runs {
        "the spread between runs (Welch's t)"
    } else {
        "a block bootstrap over the seconds"
    };
    Ok((lines, method))
}
