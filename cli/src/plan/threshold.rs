//! `--threshold` pass/fail rules (SPEC §5): parsed with the plan, before any
//! socket opens, and evaluated on the final statistics of a run or a merge.
//!
//! A rule is `METRIC OP VALUE`:
//!
//! | metric | value | measured |
//! |---|---|---|
//! | `p50 p90 p95 p99 p99.9 p99.99 mean max` | a latency with its unit: `800us`, `250ms`, `1.5s` | the latency histogram |
//! | `errors` | a share `1%` or a count `10` | failed requests plus responses other than 2xx/3xx, as a share of the requests that ended (completed + failed) or as a count |
//! | `rps` | a plain number | the achieved rate, req/s |
//!
//! (Scoped to a target, each is measured over that target's requests; its
//! rate over the run's window.)
//!
//! A latency without a unit is refused: `--duration 10` means seconds while
//! latencies are usually thought of in milliseconds, so a bare number would
//! be read wrongly by someone either way.
//!
//! A rule may be scoped to one target of `--targets` (SPEC §10):
//! `login:p99<200ms` judges the requests of target `login` alone. Names may
//! hold spaces, `/` and `:` (`GET /api:p99<1s`), so the scope ends at the
//! last `:` that a metric follows. Parsing does not know the targets;
//! [`check_scopes`] refuses a scope that names none, before the run.

use hdrhistogram::Histogram;
use volley_core::{Stats, TargetStats};

use crate::error::UsageError;
use crate::format::{round, thousands, trim};

const ACCEPTED: &str = "expected METRIC OP VALUE with METRIC one of p50 p90 p95 p99 p99.9 p99.99 mean max \
     (latency), errors or rps, and OP one of < <= > >=, e.g. p99<250ms, errors<1%, errors<=10, rps>=990, \
     or TARGET:METRIC OP VALUE for one target, e.g. login:p99<200ms";

/// What a rule measures.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Metric {
    /// A percentile of the latency, e.g. 99.9.
    Percentile(f64),
    /// Mean latency.
    Mean,
    /// Highest latency.
    Max,
    /// Failed requests plus completed ones with a status other than 2xx/3xx.
    Errors,
    /// Achieved rate, req/s.
    Rps,
}

impl Metric {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "p50" => Self::Percentile(50.0),
            "p90" => Self::Percentile(90.0),
            "p95" => Self::Percentile(95.0),
            "p99" => Self::Percentile(99.0),
            "p99.9" => Self::Percentile(99.9),
            "p99.99" => Self::Percentile(99.99),
            "mean" => Self::Mean,
            "max" => Self::Max,
            "errors" => Self::Errors,
            "rps" => Self::Rps,
            _ => return None,
        })
    }

    fn is_latency(self) -> bool {
        matches!(self, Self::Percentile(_) | Self::Mean | Self::Max)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Self::Lt => measured < limit,
            Self::Le => measured <= limit,
            Self::Gt => measured > limit,
            Self::Ge => measured >= limit,
        }
    }
}

/// A latency unit as the user wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeUnit {
    /// `us`, or `µs` when `micro_sign`.
    Us {
        micro_sign: bool,
    },
    Ms,
    S,
}

impl TimeUnit {
    fn micros(self) -> f64 {
        match self {
            Self::Us { .. } => 1.0,
            Self::Ms => 1e3,
            Self::S => 1e6,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Self::Us { micro_sign: false } => "us",
            Self::Us { micro_sign: true } => "µs",
            Self::Ms => "ms",
            Self::S => "s",
        }
    }

    /// `us` in this unit, with as many decimals as a microsecond needs.
    fn show(self, us: f64) -> String {
        let decimals = match self {
            Self::Us { .. } => 0,
            Self::Ms => 3,
            Self::S => 6,
        };
        format!(
            "{}{}",
            trim(format!("{:.decimals$}", us / self.micros())),
            self.suffix()
        )
    }
}

/// A rule's limit, in the unit it was written in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Limit {
    /// A latency, in µs, and the unit it was written in.
    Latency { us: f64, unit: TimeUnit },
    /// A share of the requests that ended, in percent.
    Share(f64),
    /// A number of requests.
    Count(u64),
    /// Requests per second.
    Rate(f64),
}

impl Limit {
    /// The limit in the unit its measurement is compared in (µs, %, count, req/s).
    fn value(self) -> f64 {
        match self {
            Self::Latency { us, .. } => us,
            Self::Share(p) => p,
            Self::Count(n) => n as f64,
            Self::Rate(r) => r,
        }
    }

    /// The unit of [`Limit::value`] and of the measured value in JSON.
    fn json_unit(self) -> &'static str {
        match self {
            Self::Latency { .. } => "us",
            Self::Share(_) => "%",
            Self::Count(_) => "count",
            Self::Rate(_) => "req/s",
        }
    }
}

/// One `--threshold` rule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rule {
    /// The rule as written, without spaces but those of its scope:
    /// `p99<250ms`, `GET /api:p99<1s`.
    text: String,
    /// The target it judges; `None` for the whole run.
    scope: Option<String>,
    metric: Metric,
    op: Op,
    limit: Limit,
}

impl Rule {
    /// The rule as written, without spaces but those of its scope:
    /// `p99<250ms`, `GET /api:p99<1s`.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The name of the target it judges; `None` for the whole run.
    pub(crate) fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The limit of a latency rule, µs; `None` for `errors` and `rps`.
    pub(crate) fn latency_limit_us(&self) -> Option<f64> {
        match self.limit {
            Limit::Latency { us, .. } => Some(us),
            _ => None,
        }
    }
}

/// Parses every `--threshold` value; the first bad one is the error.
pub(crate) fn parse_all(rules: &[String]) -> Result<Vec<Rule>, UsageError> {
    rules.iter().map(|r| parse(r)).collect()
}

/// Refuses a rule scoped to a target that `targets` (the run's target
/// names; empty for a run of one request) does not name: one line that
/// lists the names there are.
pub(crate) fn check_scopes(rules: &[Rule], targets: &[String]) -> Result<(), UsageError> {
    for rule in rules {
        let Some(scope) = rule.scope() else {
            continue;
        };
        if targets.iter().any(|t| t == scope) {
            continue;
        }
        let known = if targets.is_empty() {
            "this run has no --targets: a rule without a scope judges the whole run".to_string()
        } else {
            let names: Vec<String> = targets.iter().map(|t| format!("{t:?}")).collect();
            format!("the targets are {}", names.join(", "))
        };
        return Err(UsageError(format!(
            "--threshold {:?}: no target is named {scope:?}; {known}",
            rule.text
        )));
    }
    Ok(())
}

/// `login:p99<1s` → `(Some("login"), "p99<1s")`: the scope ends at the last
/// `:` followed by a metric and a comparison, or else at the last `:` (so
/// that the error names what follows it).
fn split_scope(s: &str) -> (Option<&str>, &str) {
    let names_a_metric = |rest: &str| {
        let compact: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
        compact
            .find(['<', '>'])
            .is_some_and(|at| Metric::parse(&compact[..at]).is_some())
    };
    let at = s
        .rmatch_indices(':')
        .map(|(i, _)| i)
        .find(|&i| names_a_metric(&s[i + 1..]))
        .or_else(|| s.rfind(':'));
    match at {
        Some(i) => (Some(&s[..i]), &s[i + 1..]),
        None => (None, s),
    }
}

/// Parses one rule, e.g. `p99<250ms`, `errors < 1%`, `rps>=990`,
/// `login:p99<200ms`.
pub(crate) fn parse(s: &str) -> Result<Rule, UsageError> {
    let bad = |why: &str| UsageError(format!("--threshold {s:?}: {why}"));
    let (scope, rule) = split_scope(s);
    let scope = scope.map(str::trim);
    if scope == Some("") {
        return Err(bad(
            "no target name before the ':'; write NAME:METRIC OP VALUE, e.g. login:p99<200ms",
        ));
    }
    let text: String = rule.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(at) = text.find(['<', '>']) else {
        return Err(bad(&format!("no comparison; {ACCEPTED}")));
    };
    let (metric_text, rest) = text.split_at(at);
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else {
        (Op::Gt, &rest[1..])
    };
    let metric = match Metric::parse(metric_text) {
        Some(m) => m,
        None if metric_text.is_empty() => {
            return Err(bad(&format!("no metric before the comparison; {ACCEPTED}")));
        }
        None => return Err(bad(&format!("unknown metric {metric_text:?}; {ACCEPTED}"))),
    };
    let Some((number, unit)) = split_number(value) else {
        let what = if metric.is_latency() {
            "a latency with a unit such as 250ms, 800us or 1.5s"
        } else if metric == Metric::Errors {
            "a share such as 1% or a count such as 10"
        } else {
            "a number of requests per second such as 990"
        };
        return Err(bad(&format!(
            "the value {value:?} is not a number; expected {what}"
        )));
    };
    let limit = match metric {
        Metric::Percentile(_) | Metric::Mean | Metric::Max => {
            let unit = match unit {
                "us" => TimeUnit::Us { micro_sign: false },
                "µs" => TimeUnit::Us { micro_sign: true },
                "ms" => TimeUnit::Ms,
                "s" => TimeUnit::S,
                "" => {
                    return Err(bad(&format!(
                        "a latency needs a unit: {number}ms, {number}us or {number}s (a bare number is refused, \
                         it could mean either)"
                    )));
                }
                other => {
                    return Err(bad(&format!(
                        "unknown latency unit {other:?}; use us, ms or s, e.g. 250ms"
                    )));
                }
            };
            Limit::Latency {
                us: number * unit.micros(),
                unit,
            }
        }
        Metric::Errors => match unit {
            "%" if number <= 100.0 => Limit::Share(number),
            "%" => return Err(bad("a share of errors is at most 100%")),
            "" if !value.contains('.') && number <= u64::MAX as f64 => Limit::Count(number as u64),
            "" => {
                return Err(bad(&format!(
                    "a count of errors is a whole number; for a share write {number}%"
                )));
            }
            other => {
                return Err(bad(&format!(
                    "unknown unit {other:?}; errors takes a share such as 1% or a count such as 10"
                )));
            }
        },
        Metric::Rps => match unit {
            "" => Limit::Rate(number),
            _ => {
                return Err(bad(
                    "rps takes a plain number of requests per second, e.g. rps>=990",
                ));
            }
        },
    };
    Ok(Rule {
        text: match scope {
            Some(name) => format!("{name}:{text}"),
            None => text,
        },
        scope: scope.map(str::to_string),
        metric,
        op,
        limit,
    })
}

/// `"250ms"` → `(250.0, "ms")`. `None` unless it starts with a finite,
/// non-negative decimal number.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(end);
    let value: f64 = number.parse().ok()?;
    value.is_finite().then_some((value, unit))
}

/// The outcome of one rule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) rule: Rule,
    pub(crate) passed: bool,
    /// The measured value, in the unit of `Limit::value`.
    pub(crate) measured: f64,
}

impl Verdict {
    /// The measured value in the unit the rule was written in.
    pub(crate) fn shown(&self) -> String {
        match self.rule.limit {
            Limit::Latency { unit, .. } => unit.show(self.measured),
            Limit::Share(_) => format!("{}%", trim(format!("{:.3}", self.measured))),
            Limit::Count(_) => thousands(self.measured as u64),
            Limit::Rate(_) => format!("{} req/s", trim(format!("{:.2}", self.measured))),
        }
    }

    /// The measured value for JSON: whole µs for a latency percentile or
    /// max, 0.1 µs for the mean, the share in % or the count for errors,
    /// req/s for rps.
    pub(crate) fn json_value(&self) -> serde_json::Number {
        let decimal = |x: f64| serde_json::Number::from_f64(x).unwrap_or_else(|| 0.into());
        match (self.rule.metric, self.rule.limit) {
            (Metric::Mean, _) => decimal(round(self.measured, 1)),
            (_, Limit::Latency { .. } | Limit::Count(_)) => (self.measured as u64).into(),
            (_, Limit::Share(_)) => decimal(round(self.measured, 4)),
            (_, Limit::Rate(_)) => decimal(round(self.measured, 2)),
        }
    }

    /// The rule's limit, in the unit of the measured value.
    pub(crate) fn limit(&self) -> f64 {
        self.rule.limit.value()
    }

    /// The unit of [`Verdict::json_value`] and [`Verdict::limit`]: `us`,
    /// `%`, `count` or `req/s`.
    pub(crate) fn unit(&self) -> &'static str {
        self.rule.limit.json_unit()
    }
}

/// Evaluates every rule on the final statistics; `targets` names the
/// targets of `s.targets`, in order (empty for a run of one request). A
/// scoped rule judges its target's figures; one whose target is not there
/// (which [`check_scopes`] prevents) fails, measuring 0.
pub(crate) fn evaluate(rules: &[Rule], s: &Stats, targets: &[&str]) -> Vec<Verdict> {
    rules
        .iter()
        .map(|rule| {
            let figures = match rule.scope() {
                None => Some(Figures::of_run(s)),
                Some(name) => targets
                    .iter()
                    .position(|t| *t == name)
                    .and_then(|i| s.targets.get(i))
                    .map(|t| Figures::of_target(t, s)),
            };
            // A rule with nothing to measure (no latency recorded, no
            // request ended) fails: an empty target must not pass
            // `p99<200ms`.
            let (measured, passed) = match figures.and_then(|f| f.measure(rule)) {
                Some(measured) => (measured, rule.op.holds(measured, rule.limit.value())),
                None => (0.0, false),
            };
            Verdict {
                rule: rule.clone(),
                passed,
                measured,
            }
        })
        .collect()
}

/// What a rule reads: the whole run's figures, or one target's.
struct Figures<'a> {
    latency: &'a Histogram<u64>,
    completed: u64,
    failed: u64,
    non_success: u64,
    achieved_rps: f64,
}

impl<'a> Figures<'a> {
    fn of_run(s: &'a Stats) -> Self {
        Self {
            latency: &s.latency,
            completed: s.completed,
            failed: s.failed,
            non_success: s.non_success(),
            achieved_rps: s.achieved_rps(),
        }
    }

    /// Target `t` of the run `s`: its rate is over the run's window.
    fn of_target(t: &'a TargetStats, s: &Stats) -> Self {
        let window = s.duration.as_secs_f64();
        Self {
            latency: &t.latency,
            completed: t.completed,
            failed: t.failed,
            non_success: t.non_success(),
            achieved_rps: if window > 0.0 {
                t.completed as f64 / window
            } else {
                0.0
            },
        }
    }

    /// The rule's metric, or `None` when there is nothing to measure it on.
    fn measure(&self, rule: &Rule) -> Option<f64> {
        let h = self.latency;
        Some(match rule.metric {
            Metric::Percentile(_) | Metric::Max | Metric::Mean if h.is_empty() => return None,
            Metric::Percentile(p) => h.value_at_percentile(p) as f64,
            Metric::Mean => h.mean(),
            Metric::Max => h.max() as f64,
            Metric::Errors => {
                let errors = self.failed + self.non_success;
                match rule.limit {
                    Limit::Share(_) => {
                        let ended = self.completed + self.failed;
                        if ended == 0 {
                            return None;
                        }
                        100.0 * errors as f64 / ended as f64
                    }
                    _ => errors as f64,
                }
            }
            Metric::Rps => self.achieved_rps,
        })
    }
}

/// One line naming the failed rules, for stderr; `None` when all passed.
pub(crate) fn failure_line(verdicts: &[Verdict]) -> Option<String> {
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| format!("{} (measured {})", v.rule.text, v.shown()))
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "{} of {} thresholds failed: {}",
            failed.len(),
            verdicts.len(),
            failed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn rule(s: &str) -> Rule {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        parse(s).unwrap_err().0
    }

    #[test]
    fn parses_every_metric_and_op() {
        let r = rule("p99<250ms");
        assert_eq!((r.metric, r.op), (Metric::Percentile(99.0), Op::Lt));
        assert_eq!(
            r.limit,
            Limit::Latency {
                us: 250_000.0,
                unit: TimeUnit::Ms
            }
        );
        assert_eq!(rule("p99.9 <= 1.5s").limit.value(), 1_500_000.0);
        assert_eq!(rule("p99.9 <= 1.5s").text, "p99.9<=1.5s");
        assert_eq!(rule("p50>800us").limit.value(), 800.0);
        assert_eq!(
            rule("max<2µs").limit,
            Limit::Latency {
                us: 2.0,
                unit: TimeUnit::Us { micro_sign: true }
            }
        );
        assert_eq!(rule("MEAN>=3ms").metric, Metric::Mean);
        assert_eq!(
            (rule("p90<1s").metric, rule("p95<1s").metric),
            (Metric::Percentile(90.0), Metric::Percentile(95.0))
        );
        assert_eq!(rule("p99.99<1s").metric, Metric::Percentile(99.99));
        assert_eq!(rule("errors<1%").limit, Limit::Share(1.0));
        assert_eq!(rule("errors<0.5%").limit, Limit::Share(0.5));
        assert_eq!(rule("errors<=10").limit, Limit::Count(10));
        let r = rule("rps>=990");
        assert_eq!(
            (r.metric, r.op, r.limit),
            (Metric::Rps, Op::Ge, Limit::Rate(990.0))
        );
        assert_eq!(rule("rps > 0.5").limit, Limit::Rate(0.5));
    }

    #[test]
    fn refusals_are_one_line_and_say_what_is_accepted() {
        let cases = [
            ("p99=250ms", "no comparison"),
            ("p99", "no comparison"),
            ("<250ms", "no metric"),
            ("p42<250ms", "unknown metric \"p42\""),
            ("latency<250ms", "unknown metric"),
            ("p99<250", "needs a unit: 250ms, 250us or 250s"),
            ("p99<250m", "unknown latency unit \"m\""),
            ("p99<fast", "not a number"),
            ("p99<-1ms", "not a number"),
            ("p99<<1ms", "not a number"),
            ("p99<1ms%", "unknown latency unit"),
            ("errors<101%", "at most 100%"),
            ("errors<1.5", "whole number; for a share write 1.5%"),
            ("errors<1ms", "unknown unit \"ms\""),
            ("errors<", "not a number"),
            ("rps>=990/s", "plain number"),
            ("rps>=1%", "plain number"),
            ("p99<1.2.3ms", "not a number"),
        ];
        for (input, expected) in cases {
            let e = err(input);
            assert!(
                e.starts_with(&format!("--threshold {input:?}: ")),
                "{input}: {e}"
            );
            assert!(e.contains(expected), "{input}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(
            err("p42<1ms").contains("p50 p90 p95 p99 p99.9"),
            "lists the metrics"
        );
        assert!(
            parse_all(&["p99<1ms".into(), "bad".into()])
                .unwrap_err()
                .0
                .contains("\"bad\"")
        );
    }

    fn stats() -> Stats {
        // 100 completions: 1..=100 ms latency, 3 with 503; 2 failures;
        // over a 2 s window.
        let mut s = Stats::new();
        for i in 1..=100u64 {
            s.latency.record(i * 1000).unwrap();
            s.add_status(if i <= 3 { 503 } else { 200 }, 1);
        }
        s.completed = 100;
        s.failed = 2;
        s.scheduled = 102;
        s.duration = Duration::from_secs(2);
        s
    }

    fn verdict(r: &str) -> Verdict {
        evaluate(&[rule(r)], &stats(), &[]).remove(0)
    }

    #[test]
    fn evaluates_on_the_final_stats() {
        let s = stats();
        let p99 = s.latency.value_at_percentile(99.0);
        assert!((99_000..=99_100).contains(&p99), "{p99}");
        assert!(verdict("p99<100ms").passed);
        assert!(!verdict("p99<99ms").passed);
        assert!(verdict("p99>=99ms").passed);
        assert_eq!(verdict("p99<100ms").measured, p99 as f64);
        assert!(verdict("max<=0.101s").passed);
        assert!(!verdict("max<100ms").passed);
        assert!(verdict("mean>50ms").passed && verdict("mean<51ms").passed);
        // 2 failed + 3 non-2xx/3xx = 5 of the 102 that ended.
        let e = verdict("errors<5%");
        assert!((e.measured - 500.0 / 102.0).abs() < 1e-9, "{}", e.measured);
        assert!(e.passed);
        assert!(!verdict("errors<4.9%").passed);
        assert_eq!(verdict("errors<=5").measured, 5.0);
        assert!(verdict("errors<=5").passed && !verdict("errors<5").passed);
        assert_eq!(verdict("rps>=50").measured, 50.0);
        assert!(verdict("rps>=50").passed && !verdict("rps>50").passed);
    }

    #[test]
    fn values_in_the_rules_unit() {
        let s = stats();
        let p99 = s.latency.value_at_percentile(99.0) as f64;
        assert_eq!(
            verdict("p99<250ms").shown(),
            format!("{}ms", trim(format!("{:.3}", p99 / 1e3)))
        );
        assert_eq!(verdict("p50<1s").shown(), "0.050015s");
        assert_eq!(verdict("p50<1us").shown(), "50015us");
        assert_eq!(verdict("errors<1%").shown(), "4.902%");
        assert_eq!(verdict("errors<1").shown(), "5");
        assert_eq!(verdict("rps>1").shown(), "50 req/s");
        let json = |r: &str| {
            let v = verdict(r);
            (v.json_value().to_string(), v.limit(), v.unit())
        };
        assert_eq!(
            json("p99<250ms"),
            ((p99 as u64).to_string(), 250_000.0, "us")
        );
        assert_eq!(json("errors<1%"), ("4.902".into(), 1.0, "%"));
        assert_eq!(json("errors<9").0, "5");
        assert_eq!(json("rps>=60"), ("50.0".into(), 60.0, "req/s"));
        assert_eq!(json("mean<1s").0, round(s.latency.mean(), 1).to_string());
    }

    #[test]
    fn the_failure_line_names_the_failed_rules() {
        assert_eq!(failure_line(&[verdict("p50<1s")]), None);
        assert_eq!(
            failure_line(&[verdict("p50<1s"), verdict("errors<1%")]).unwrap(),
            "1 of 2 thresholds failed: errors<1% (measured 4.902%)"
        );
    }

    #[test]
    fn a_scope_ends_at_the_last_colon_a_metric_follows() {
        let r = rule("login:p99<200ms");
        assert_eq!((r.scope(), r.text()), (Some("login"), "login:p99<200ms"));
        assert_eq!(r.limit.value(), 200_000.0);
        // Names keep their spaces, slashes and colons; the rule loses its spaces.
        let r = rule("GET /api:p99 < 1s");
        assert_eq!((r.scope(), r.text()), (Some("GET /api"), "GET /api:p99<1s"));
        assert_eq!(
            rule("GET http://h:8080/a:errors<1%").scope(),
            Some("GET http://h:8080/a")
        );
        assert_eq!(rule("a:p99<1s:max<2s").scope(), Some("a:p99<1s"));
        assert_eq!(rule(" login : rps>=10").scope(), Some("login"));
        assert_eq!(rule("p99<1s").scope(), None);
        // A colon without a metric after it: the error names what follows.
        assert!(err("login:p42<1s").contains("unknown metric \"p42\""));
        assert!(err(":p99<1s").contains("no target name before the ':'"));
        assert!(err(" :p99<1s").contains("no target name"));
    }

    #[test]
    fn scopes_must_name_a_target() {
        let rules = [
            rule("p99<1s"),
            rule("GET /api:p99<1s"),
            rule("login:errors<1%"),
        ];
        let names = ["login".to_string(), "GET /api".to_string()];
        assert!(check_scopes(&rules, &names).is_ok());
        let e = check_scopes(&rules, &names[..1]).unwrap_err().0;
        assert_eq!(
            e,
            "--threshold \"GET /api:p99<1s\": no target is named \"GET /api\"; the targets are \"login\""
        );
        let e = check_scopes(&rules, &[]).unwrap_err().0;
        assert!(e.contains("this run has no --targets"), "{e}");
        assert!(!e.contains('\n'));
        assert!(check_scopes(&rules[..1], &[]).is_ok());
    }

    #[test]
    fn a_scoped_rule_judges_its_target() {
        let mut s = stats();
        // `slow`: 10 completions of 500 ms, 1 failure; `fast`: 90 of 1 ms.
        let mut slow = TargetStats::new(3);
        let mut fast = TargetStats::new(3);
        for _ in 0..10 {
            slow.latency.record(500_000).unwrap();
            slow.add_status(200, 1);
        }
        for _ in 0..90 {
            fast.latency.record(1_000).unwrap();
            fast.add_status(200, 1);
        }
        (slow.completed, slow.failed) = (10, 1);
        fast.completed = 90;
        s.targets = vec![slow, fast];
        let names = ["slow", "fast"];
        let v = evaluate(
            &[
                rule("fast:p99<2ms"),
                rule("slow:p99<2ms"),
                rule("slow:errors<=1"),
                rule("slow:errors<9%"),
                rule("fast:rps>=45"),
                rule("gone:p99<1s"),
            ],
            &s,
            &names,
        );
        let got: Vec<_> = v.iter().map(|v| (v.passed, v.shown())).collect();
        assert_eq!(
            got,
            [
                (true, "1ms".to_string()),
                (false, "500.223ms".to_string()),
                (true, "1".to_string()),
                (false, "9.091%".to_string()),
                (true, "45 req/s".to_string()),
                (false, "0s".to_string()),
            ]
        );
    }

    #[test]
    fn nothing_measured_passes_no_rule() {
        let s = Stats::new();
        let v = evaluate(
            &[rule("p99<1ms"), rule("errors<1%"), rule("rps>=1")],
            &s,
            &[],
        );
        assert_eq!(
            v.iter().map(|v| v.measured).collect::<Vec<_>>(),
            [0.0, 0.0, 0.0]
        );
        // No latency and no request that ended: the rules cannot hold.
        assert_eq!(
            v.iter().map(|v| v.passed).collect::<Vec<_>>(),
            [false, false, false]
        );
    }
}
