//! The run stage: a plan handed to the driver, with what runs beside it
//! (Ctrl-C, the progress line, the `--log` writer), ending in the run's
//! description and statistics.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use volley_core::Stats;
use volley_driver::{Control, RunPlan};

use crate::error::UsageError;
use crate::live::{log::RequestLog, progress::Progress};
use crate::plan::Plan;
use crate::result::{RunInfo, StageInfo, saved};

/// Ctrl-C, for every run of the process (`volley find` makes several): the
/// handler can be installed only once, so it stops whichever run is
/// current, and remembers that it came.
pub(crate) mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex, Once, PoisonError};

    use volley_driver::Control;

    static CURRENT: Mutex<Option<Arc<Control>>> = Mutex::new(None);
    static CAME: AtomicBool = AtomicBool::new(false);

    /// Makes `control` the run that Ctrl-C stops (a second Ctrl-C stops
    /// waiting for its in-flight requests).
    pub(crate) fn watch(control: &Arc<Control>) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let _ = ctrlc::set_handler(|| {
                CAME.store(true, Ordering::Relaxed);
                if let Some(c) = CURRENT
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                {
                    c.stop();
                }
            });
        });
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(control));
    }

    /// Ctrl-C came during this process.
    pub(crate) fn came() -> bool {
        CAME.load(Ordering::Relaxed)
    }
}

/// A run that happened.
pub(crate) struct Finished {
    pub(crate) info: RunInfo,
    pub(crate) stats: Stats,
    /// The wall-clock time of `t0`, Unix seconds.
    pub(crate) wall_start_unix_s: f64,
}

/// Runs `plan` to its end, its connections going to `endpoint`.
pub(crate) fn execute(plan: &Plan, endpoint: volley_driver::Endpoint) -> anyhow::Result<Finished> {
    let engines = plan.config.split(plan.threads);
    let control = Arc::new(Control::new(engines.len()));
    interrupt::watch(&control);
    let info = RunInfo {
        method: plan.method.clone(),
        url: plan.target.url.clone(),
        duration: plan.config.duration,
        target_rps: plan.target_rps(),
        users: plan.config.users,
        threads: engines.len(),
        keep_alive: plan.config.keep_alive,
        timeout: plan.config.timeout,
        tls: plan.tls.is_some(),
        insecure: plan.insecure,
        shard: plan.shard,
        stages: plan
            .shape()
            .into_iter()
            .map(|st| StageInfo {
                duration: st.duration,
                rps: st.rps,
            })
            .collect(),
    };
    let progress = (!plan.quiet && io::stderr().is_terminal())
        .then(|| Progress::start(Arc::clone(&control), plan.config.duration));
    let log = match &plan.log {
        Some(path) => Some(
            RequestLog::create(path)
                .map_err(|e| UsageError(format!("--log {path:?}: cannot create it: {e}")))?,
        ),
        None => None,
    };
    let run_plan = RunPlan {
        endpoint,
        template: plan.template.clone(),
        tls: plan.tls.clone(),
        log: log.as_ref().map(|l| l.tx.clone()),
        engines,
        start_at: plan.start_at,
    };
    // t0's wall-clock time for the result: read once, here; t0 itself
    // comes later by the time the users take to connect.
    let wall_start = SystemTime::now();
    let stats = volley_driver::run(run_plan, Arc::clone(&control)).context("the run failed")?;
    // The wall-clock time of t0 itself, when the loops got that far.
    let wall_start = control.started_at().unwrap_or(wall_start);
    drop(progress);
    if let (Some(log), Some(path)) = (log, &plan.log) {
        // The report still comes; the log's failure is said on stderr.
        if let Err(e) = log.finish() {
            eprintln!("volley: --log {path:?}: writing failed: {e}");
        }
    }
    if let Some(reason) = control.fatal() {
        // Every connection would fail the same way: one line, not a report.
        anyhow::bail!("{reason}");
    }
    Ok(Finished {
        info,
        stats,
        wall_start_unix_s: saved::unix_seconds(wall_start),
    })
}
