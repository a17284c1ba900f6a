//! `volley find` (SPEC §14): the highest arrival rate the service sustains
//! within every SLO. Each step is two runs at its rate: a short warm-up,
//! not judged, then the judged part; [`judge`] says how a step went and
//! [`search`] which rate comes next. Steps where volley itself was the
//! limit raise `--users` (Little's law) and run again, or end the search
//! with what to change; they are never reported as the service's capacity.

mod html;
mod judge;
pub(crate) mod report;
mod search;

use std::time::{Duration, Instant};

use volley_core::{Rate, Stats};

use crate::args::FindArgs;
use crate::error::{Exit, UsageError, usage};
use crate::plan::{self, Plan, parse, threshold};
use crate::run;
pub(crate) use judge::Outcome;
use search::{Answer, Next, Search};

/// Times the users may be raised for one rate before find gives up.
const MAX_RAISES: u32 = 4;

/// One step as the report shows it.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) rps: f64,
    pub(crate) users: usize,
    /// The confirming hold.
    pub(crate) hold: bool,
    pub(crate) achieved_rps: f64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) error_share: f64,
    pub(crate) outcome: Outcome,
}

/// What the search found, for the report.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) slos: Vec<String>,
    pub(crate) steps: Vec<Step>,
    pub(crate) answer: Option<Answer>,
    /// Why the search ended before its answer, if it did.
    pub(crate) stopped: Option<String>,
    /// What changed on the way (users raised).
    pub(crate) notes: Vec<String>,
    pub(crate) took: Duration,
}

/// The search's own settings.
struct Settings {
    warmup: Duration,
    judged: Duration,
    start: f64,
    max: Option<f64>,
    max_time: Duration,
}

fn settings(a: &FindArgs) -> Result<Settings, UsageError> {
    let step = parse::duration_flag("--step", &a.step)?;
    if step < Duration::from_millis(500) {
        return usage(format!("--step {:?}: a step needs at least 500ms", a.step));
    }
    let warmup = (step / 5).min(Duration::from_secs(2));
    let rate = |flag: &str, s: &str| match s.trim().replace('_', "").parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.001 => Ok(r),
        _ => usage(format!(
            "{flag} {s:?}: expected a rate in requests per second, such as 100"
        )),
    };
    Ok(Settings {
        warmup,
        judged: step - warmup,
        start: rate("--start-rps", &a.start_rps)?,
        max: a
            .max_rps
            .as_deref()
            .map(|m| rate("--max-rps", m))
            .transpose()?,
        max_time: parse::duration_flag("--max-time", &a.max_time)?,
    })
}

/// Runs `volley find`.
pub(crate) fn run(a: &FindArgs) -> anyhow::Result<Exit> {
    let given = [
        ("--rps", a.run.rps.is_some()),
        ("--stages", a.run.stages.is_some()),
        ("--ramp-up", a.run.ramp_up.is_some()),
        ("--requests", a.run.requests.is_some()),
        ("--threshold", !a.run.thresholds.is_empty()),
        ("--save", a.run.save.is_some()),
        ("--shard", a.run.shard.is_some()),
        ("--log", a.run.log.is_some()),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
        return Err(UsageError(format!(
            "volley find chooses the rates itself: drop {flag}; give --slo instead"
        ))
        .into());
    }
    // The live views and the start time belong to one run; a search makes
    // many, one after another.
    let one_run = [
        ("--metrics-listen", a.run.metrics_listen.is_some()),
        ("--live", a.run.live.is_some()),
        ("--tui", a.run.tui),
        ("--start-at", a.run.start_at.is_some()),
    ];
    if let Some((flag, _)) = one_run.iter().find(|(_, g)| *g) {
        return Err(UsageError(format!(
            "{flag} is for one run and volley find makes one per step: drop it"
        ))
        .into());
    }
    let set = settings(a)?;
    let rules = threshold::parse_all(&a.slos)
        .map_err(|e| UsageError(e.0.replace("--threshold", "--slo")))?;
    // Each step is judged as a whole: a rule scoped to a target is refused.
    if let Some(rule) = rules.iter().find(|r| r.scope().is_some()) {
        return Err(UsageError(format!(
            "--slo {:?}: volley find judges each step as a whole; drop the target's name",
            rule.text()
        ))
        .into());
    }
    let mut args = a.run.clone();
    args.rps = Some(set.start.to_string());
    let mut plan = plan::build(&args)?;
    let quiet = plan.quiet;
    plan.quiet = true;
    let endpoint = plan::resolve_origins(&plan)?;
    let max_users = match volley_driver::ensure_fd_limit(plan.config.users) {
        Ok(()) => max_users(),
        Err(e) => return Err(UsageError(format!("--users {}: {e}", plan.config.users)).into()),
    };
    let found = search(
        &mut plan, &endpoint, &rules, &a.slos, &set, max_users, quiet,
    )?;
    report::conclude(&found, &plan.report)
}

/// The most users this process can hold open at once.
fn max_users() -> usize {
    let mut n = 1usize << 20;
    while n > 1 && volley_driver::ensure_fd_limit(n).is_err() {
        n /= 2;
    }
    n
}

fn search(
    plan: &mut Plan,
    endpoint: &[volley_driver::Endpoint],
    rules: &[threshold::Rule],
    slos: &[String],
    set: &Settings,
    max_users: usize,
    quiet: bool,
) -> anyhow::Result<Found> {
    let started = Instant::now();
    let mut found = Found {
        url: plan.url(),
        method: plan.method.clone(),
        slos: slos.to_vec(),
        steps: Vec::new(),
        answer: None,
        stopped: None,
        notes: Vec::new(),
        took: Duration::ZERO,
    };
    let mut s = Search::new(set.start, set.max);
    let mut baseline: Option<f64> = None;
    let mut raises = 0;
    loop {
        let (rps, hold) = match s.next() {
            Next::Step(r) => (r, false),
            Next::Hold(r) => (r, true),
            Next::Done(answer) => {
                found.answer = Some(answer);
                break;
            }
        };
        let judged = if hold { set.judged * 3 } else { set.judged };
        if started.elapsed() + set.warmup + judged > set.max_time {
            found.stopped = Some(format!(
                "the search reached --max-time before it finished ({} req/s next)",
                rps
            ));
            break;
        }
        let stats = step(plan, endpoint, rps, set.warmup, judged)?;
        if run::interrupt::came() {
            found.stopped = Some("interrupted (Ctrl-C)".into());
            break;
        }
        let cx = judge::Context {
            rps,
            users: plan.config.users,
            baseline_service_us: baseline,
            max_users,
        };
        let outcome = judge::judge(&stats, rules, cx);
        let step = row(&stats, rps, plan.config.users, hold, outcome.clone());
        if !quiet {
            eprintln!("volley find: {}", report::step_line(&step));
        }
        found.steps.push(step);
        match outcome {
            Outcome::Limited {
                why,
                users: Some(users),
            } if raises < MAX_RAISES => {
                raises += 1;
                found.notes.push(format!(
                    "raised --users from {} to {users}: {why}",
                    crate::format::thousands(plan.config.users as u64)
                ));
                plan.config.users = users;
                plan.threads = plan.threads.max(1).min(users);
            }
            Outcome::Limited { why, .. } => {
                found.stopped = Some(format!("volley was the limit, not the service: {why}"));
                break;
            }
            Outcome::Pass => {
                raises = 0;
                let service = stats.service.value_at_percentile(50.0) as f64;
                baseline = Some(baseline.map_or(service, |b| b.min(service)));
                s.record(rps, true, hold);
            }
            Outcome::Fail(_) => {
                raises = 0;
                s.record(rps, false, hold);
            }
        }
    }
    if found.answer.is_none() {
        found.answer = s.best().map(|rps| Answer::Sustains { rps, at_max: false });
    }
    found.took = started.elapsed();
    Ok(found)
}

/// One step: the warm-up, then the judged run, at `rps`.
fn step(
    plan: &mut Plan,
    endpoint: &[volley_driver::Endpoint],
    rps: f64,
    warmup: Duration,
    judged: Duration,
) -> anyhow::Result<Stats> {
    plan.config.rate =
        Rate::per_second(rps).ok_or_else(|| anyhow::anyhow!("the rate {rps} is too low"))?;
    plan.config.duration = warmup;
    let warm = run::execute(plan, endpoint.to_vec())?;
    if run::interrupt::came() {
        return Ok(warm.stats);
    }
    plan.config.duration = judged;
    Ok(run::execute(plan, endpoint.to_vec())?.stats)
}

fn row(s: &Stats, rps: f64, users: usize, hold: bool, outcome: Outcome) -> Step {
    let ended = s.completed + s.failed;
    let errors = s.failed + s.non_success();
    Step {
        rps,
        users,
        hold,
        achieved_rps: s.achieved_rps(),
        p50_us: if s.latency.is_empty() {
            0
        } else {
            s.latency.value_at_percentile(50.0)
        },
        p99_us: if s.latency.is_empty() {
            0
        } else {
            s.latency.value_at_percentile(99.0)
        },
        error_share: if ended == 0 {
            0.0
        } else {
            100.0 * errors as f64 / ended as f64
        },
        outcome,
    }
}
