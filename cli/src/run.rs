//! The run stage: a plan handed to the driver, with what runs beside it
//! (Ctrl-C, the progress line, the `--log` writer, the live views), ending
//! in the run's description and statistics.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use volley_core::Stats;
use volley_driver::{Control, Origin, RunPlan};

use crate::error::UsageError;
use crate::live::Schedule;
use crate::live::lines::LiveLines;
use crate::live::metrics::{self, MetricsServer};
use crate::live::tui::{self, Tui};
use crate::live::{log::RequestLog, progress::Progress};
use crate::plan::Plan;
use crate::plan::live::LiveTo;
use crate::result::{RunInfo, StageInfo, TargetInfo, saved};

/// Ctrl-C, for every run of the process (`volley find` makes several): the
/// handler can be installed only once, so it stops whichever run is
/// current, and remembers that it came.
pub(crate) mod interrupt {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, Once, PoisonError};

    use volley_driver::Control;

    static CURRENT: Mutex<Option<Arc<Control>>> = Mutex::new(None);
    /// Ctrl-Cs so far.
    static COUNT: AtomicU64 = AtomicU64::new(0);

    /// Makes `control` the run that Ctrl-C stops (a second Ctrl-C stops
    /// waiting for its in-flight requests).
    pub(crate) fn watch(control: &Arc<Control>) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let _ = ctrlc::set_handler(|| {
                COUNT.fetch_add(1, Ordering::Relaxed);
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
        count() > 0
    }

    /// How many times Ctrl-C came: a wait after the run ends when it
    /// changes.
    pub(crate) fn count() -> u64 {
        COUNT.load(Ordering::Relaxed)
    }
}

/// A run that happened.
pub(crate) struct Finished {
    pub(crate) info: RunInfo,
    pub(crate) stats: Stats,
    /// The wall-clock time of `t0`, Unix seconds.
    pub(crate) wall_start_unix_s: f64,
    /// The metrics endpoint, serving the final values until it lingers
    /// out.
    metrics: Option<MetricsServer>,
}

impl Finished {
    /// After the report: keeps the final metrics scrapable for
    /// `--metrics-linger`, unless Ctrl-C comes first.
    pub(crate) fn linger(&self) {
        if let Some(m) = &self.metrics {
            let seen = interrupt::count();
            m.linger(|| interrupt::count() != seen);
        }
    }
}

/// `--live`'s argument, for messages.
fn live_name(to: &LiveTo) -> &str {
    match to {
        LiveTo::Stdout => "-",
        LiveTo::File(path) => path.to_str().unwrap_or("PATH"),
    }
}

/// The metrics endpoint of `--metrics-listen`, listening.
fn start_metrics(
    plan: &Plan,
    control: &Arc<Control>,
    schedule: Schedule,
) -> anyhow::Result<Option<MetricsServer>> {
    let Some(m) = plan.watch.metrics else {
        return Ok(None);
    };
    let labels = metrics::Labels {
        shard: plan
            .shard
            .map_or("0/1".into(), |s| format!("{}/{}", s.index, s.count)),
        target: plan.target_name(),
        targets: plan.targets.iter().map(|t| t.name.clone()).collect(),
        schedule,
    };
    let server = MetricsServer::start(m.addr, m.linger, Arc::clone(control), labels)
        .with_context(|| format!("--metrics-listen {}: cannot listen there", m.addr))?;
    eprintln!("volley: metrics at http://{}/metrics", server.addr());
    Ok(Some(server))
}

/// The `--tui` view, on the terminal.
fn start_tui(info: &RunInfo, control: &Arc<Control>, schedule: Schedule) -> anyhow::Result<Tui> {
    let about = tui::About {
        request: format!("{} {}", info.method, info.url),
        users: info.users,
        threads: info.threads,
        schedule,
    };
    Tui::start(Arc::clone(control), about).context("--tui: cannot take the terminal")
}

/// Runs `plan` to its end, its connections going to `endpoint`.
pub(crate) fn execute(
    plan: &Plan,
    endpoints: Vec<volley_driver::Endpoint>,
) -> anyhow::Result<Finished> {
    let engines = plan.config.split(plan.threads);
    let control = Arc::new(Control::new(engines.len()));
    interrupt::watch(&control);
    let info = RunInfo {
        method: plan.method.clone(),
        url: plan.url(),
        duration: plan.config.duration,
        target_rps: plan.target_rps(),
        users: plan.config.users,
        threads: engines.len(),
        keep_alive: plan.config.keep_alive,
        protocol: match &plan.config.http2 {
            Some(_) => crate::result::HTTP2,
            None => crate::result::HTTP1,
        }
        .into(),
        connections: plan.config.http2.as_ref().map(|h| h.connections),
        timeout: plan.config.timeout,
        tls: plan.origins.iter().any(|o| o.tls.is_some()),
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
        targets: plan
            .targets
            .iter()
            .map(|t| TargetInfo {
                name: t.name.clone(),
                method: t.method.clone(),
                url: t.url.clone(),
                weight: t.weight,
            })
            .collect(),
    };
    let schedule = Schedule {
        rps: plan.target_rps(),
        stages: plan.shape(),
        duration: plan.config.duration,
    };
    // Before any connection: an address that cannot be had stops the run
    // with nothing sent.
    let metrics = start_metrics(plan, &control, schedule.clone())?;
    if plan.watch.any() {
        control.watch();
    }
    let log = match &plan.log {
        Some(path) => Some(
            RequestLog::create(path, &plan.target_names())
                .map_err(|e| UsageError(format!("--log {path:?}: cannot create it: {e}")))?,
        ),
        None => None,
    };
    let run_plan = RunPlan {
        origins: endpoints
            .into_iter()
            .zip(&plan.origins)
            .map(|(endpoint, o)| Origin::new(endpoint, o.tls.clone()))
            .collect(),
        requests: plan.requests.clone(),
        log: log.as_ref().map(|l| l.tx.clone()),
        engines,
        start_at: plan.start_at,
    };
    // t0's wall-clock time for the result: read once, here; t0 itself
    // comes later by the time the users take to connect.
    let wall_start = SystemTime::now();
    let live = match &plan.watch.live {
        Some(to) => Some(
            LiveLines::start(
                to,
                Arc::clone(&control),
                saved::unix_seconds(wall_start),
                &info,
                schedule.clone(),
            )
            .map_err(|e| UsageError(format!("--live {}: cannot create it: {e}", live_name(to))))?,
        ),
        None => None,
    };
    // The full-screen view replaces the progress line.
    let tui = if plan.watch.tui {
        Some(start_tui(&info, &control, schedule)?)
    } else {
        None
    };
    let progress = (!plan.quiet && tui.is_none() && io::stderr().is_terminal())
        .then(|| Progress::start(Arc::clone(&control), plan.config.duration));
    let stats = volley_driver::run(run_plan, Arc::clone(&control)).context("the run failed")?;
    // The wall-clock time of t0 itself, when the loops got that far.
    let wall_start = control.started_at().unwrap_or(wall_start);
    drop(progress);
    // The screen is given back before anything else is said.
    if let Some(tui) = tui {
        if let Err(e) = tui.finish() {
            eprintln!("volley: --tui: {e}");
        }
    }
    if let Some(live) = live {
        match live.finish(&stats) {
            // A reader of the lines that went away takes nothing else with it.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => eprintln!(
                "volley: --live {}: writing failed: {e}",
                plan.watch.live.as_ref().map_or("", live_name)
            ),
            Ok(()) => {}
        }
    }
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
    if let Some(m) = &metrics {
        m.finish(&stats);
    }
    Ok(Finished {
        info,
        stats,
        wall_start_unix_s: saved::unix_seconds(wall_start),
        metrics,
    })
}
