//! Whether one step of `volley find` passed (SPEC §14): its SLOs, its
//! schedule, the trend of its latency, and whether volley itself was the
//! limit. Pure: it reads a step's statistics and nothing else.

use std::fmt;

use volley_core::{Second, Stats};

use crate::format::{percent, thousands, us};
use crate::plan::threshold::{self, Rule};

/// Share of the schedule a step must complete.
const SCHEDULE: f64 = 0.99;

/// What a step found.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Within every SLO, on schedule, latency flat.
    Pass,
    /// The service did not sustain the rate.
    Fail(Reason),
    /// volley was the limit, not the service: run again with `users`, or,
    /// when that is `None`, stop and say what to change.
    Limited { why: String, users: Option<usize> },
}

/// Why a step failed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reason {
    /// An SLO failed: the rule and what was measured.
    Slo { rule: String, measured: String },
    /// Too few of the scheduled requests completed.
    Schedule { completed: u64, scheduled: u64 },
    /// Latency rose through the step: the queue grows.
    Rising { first_us: u64, last_us: u64 },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Slo { rule, measured } => write!(f, "{rule} failed (measured {measured})"),
            Self::Schedule {
                completed,
                scheduled,
            } => write!(
                f,
                "{} of schedule ({} of {})",
                percent(*completed, *scheduled),
                thousands(*completed),
                thousands(*scheduled)
            ),
            Self::Rising { first_us, last_us } => write!(
                f,
                "latency rose through the step (p50 {} to {}): a queue grows",
                us(*first_us as f64),
                us(*last_us as f64)
            ),
        }
    }
}

/// What the step ran with, beside its statistics.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Context {
    pub(crate) rps: f64,
    pub(crate) users: usize,
    /// The lowest median service time of the steps that passed, µs: the
    /// service unloaded, to tell a slower server from busy users.
    pub(crate) baseline_service_us: Option<f64>,
    /// The most users the machine allows.
    pub(crate) max_users: usize,
}

/// Judges one step.
pub(crate) fn judge(s: &Stats, rules: &[Rule], cx: Context) -> Outcome {
    // Was volley the limit? Requests waited for a free user (some never
    // left, or most left late) while the service was as fast as unloaded:
    // then more users, not a lower rate, is the answer (Little's law).
    let lag_p90 = s.send_lag.value_at_percentile(90.0);
    let waited = s.unsent * 1000 > s.scheduled || (s.sent > 0 && lag_p90 > 10_000);
    let service_p50 = s.service.value_at_percentile(50.0) as f64;
    let server_slowed = cx
        .baseline_service_us
        .is_some_and(|b| service_p50 > 2.0 * b.max(100.0));
    if waited && !server_slowed && s.completed > 0 && s.failed == 0 {
        let busy = cx.rps * s.service.mean() / 1e6;
        let needed = ((busy * 2.0).ceil() as usize).max(cx.users * 2);
        let why = format!(
            "all {} users were busy at {} req/s while the service time stayed at {} (Little's law: {busy:.0} busy at once)",
            thousands(cx.users as u64),
            thousands(cx.rps.round() as u64),
            us(service_p50)
        );
        return Outcome::Limited {
            why,
            users: (needed <= cx.max_users).then_some(needed),
        };
    }
    if !waited
        && s.completed > 0
        && (s.completed as f64) < SCHEDULE * s.scheduled as f64
        && s.failed + s.unfinished == 0
    {
        let why = format!(
            "the schedule was not kept at {} req/s although users were free: this machine ran short of CPU; \
             use more --threads or a second machine (--shard)",
            thousands(cx.rps.round() as u64)
        );
        return Outcome::Limited { why, users: None };
    }
    for v in threshold::evaluate(rules, s, &[]) {
        if !v.passed {
            return Outcome::Fail(Reason::Slo {
                rule: v.rule.text().to_string(),
                measured: v.shown(),
            });
        }
    }
    if (s.completed as f64) < SCHEDULE * s.scheduled as f64 {
        return Outcome::Fail(Reason::Schedule {
            completed: s.completed,
            scheduled: s.scheduled,
        });
    }
    if let Some((first_us, last_us)) = rising(&s.timeline) {
        return Outcome::Fail(Reason::Rising { first_us, last_us });
    }
    Outcome::Pass
}

/// The per-second medians rise through the step: they rank almost in the
/// order of their seconds (Spearman's ρ ≥ 0.8 over at least 4 seconds), and
/// the last quarter's median is more than 1.5 times the first quarter's,
/// by more than a millisecond. A step below capacity has a flat median
/// however noisy; one above it grows steadily, as its queue does.
fn rising(rows: &[Second]) -> Option<(u64, u64)> {
    let rows: Vec<&Second> = rows.iter().filter(|r| r.completed > 0).collect();
    let n = rows.len();
    if n < 4 {
        return None;
    }
    let ranks = |values: &[f64]| -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let mut r = vec![0.0; values.len()];
        for (rank, &i) in order.iter().enumerate() {
            r[i] = rank as f64;
        }
        r
    };
    let p50: Vec<f64> = rows.iter().map(|r| r.p50_us as f64).collect();
    let (rs, rt) = (ranks(&p50), (0..n).map(|i| i as f64).collect::<Vec<_>>());
    let d2: f64 = rs.iter().zip(&rt).map(|(a, b)| (a - b) * (a - b)).sum();
    let rho = 1.0 - 6.0 * d2 / (n as f64 * (n * n - 1) as f64);
    let quarter = (n / 4).max(1);
    let median = |xs: &[f64]| {
        let mut v = xs.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (first, last) = (median(&p50[..quarter]), median(&p50[n - quarter..]));
    (rho >= 0.8 && last > 1.5 * first && last - first > 1_000.0)
        .then_some((first as u64, last as u64))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn row(second: u32, p50_us: u64) -> Second {
        Second {
            second,
            completed: 100,
            p50_us,
            p99_us: p50_us * 2,
            max_us: p50_us * 3,
            ..Second::default()
        }
    }

    #[test]
    fn a_growing_queue_rises_and_noise_does_not() {
        let growing: Vec<Second> = (0..8)
            .map(|s| row(s, 1_000 + 5_000 * u64::from(s)))
            .collect();
        assert_eq!(
            rising(&growing),
            Some((6_000, 36_000)),
            "the first and last quarters' medians"
        );
        let noisy: Vec<Second> = [900, 3_000, 1_100, 2_500, 950, 3_100, 1_000, 2_900]
            .iter()
            .zip(0..)
            .map(|(p, s)| row(s, *p))
            .collect();
        assert_eq!(rising(&noisy), None);
        // Rising, but by less than a millisecond: not a queue worth a failure.
        let creeping: Vec<Second> = (0..8).map(|s| row(s, 200 + 50 * u64::from(s))).collect();
        assert_eq!(rising(&creeping), None);
        assert_eq!(rising(&growing[..3]), None, "too few seconds to tell");
    }

    fn stats(service_us: u64, unsent: u64) -> Stats {
        let mut s = Stats::new();
        for _ in 0..1000 {
            s.latency.record(service_us + 100).unwrap();
            s.service.record(service_us).unwrap();
            s.send_lag.record(50).unwrap();
            s.add_status(200, 1);
        }
        s.completed = 1000;
        s.sent = 1000;
        s.unsent = unsent;
        s.scheduled = 1000 + unsent;
        s.duration = Duration::from_secs(1);
        s
    }

    fn cx(baseline: Option<f64>) -> Context {
        Context {
            rps: 1000.0,
            users: 2,
            baseline_service_us: baseline,
            max_users: 10_000,
        }
    }

    #[test]
    fn busy_users_with_a_fast_service_are_volleys_limit() {
        let rules = [threshold::parse("p99<50ms").unwrap()];
        // 10 ms each and 2 users: at most 200 req/s, and most never left.
        match judge(&stats(10_000, 4_000), &rules, cx(Some(10_000.0))) {
            Outcome::Limited {
                users: Some(u),
                why,
            } => {
                assert!(u >= 20, "{u}");
                assert!(why.contains("all 2 users were busy"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // The same backlog with a service four times slower than unloaded:
        // the service's limit.
        assert!(matches!(
            judge(&stats(40_000, 4_000), &rules, cx(Some(10_000.0))),
            Outcome::Fail(_)
        ));
        assert_eq!(judge(&stats(10_000, 0), &rules, cx(None)), Outcome::Pass);
        let strict = [threshold::parse("p99<5ms").unwrap()];
        assert!(matches!(
            judge(&stats(10_000, 0), &strict, cx(None)),
            Outcome::Fail(Reason::Slo { .. })
        ));
    }
}
