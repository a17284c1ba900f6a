//! volley-driver: runs volley-core engines over real sockets.
//!
//! One thread runs one [`mio`] loop that multiplexes its share of the users'
//! keep-alive connections through one [`volley_core::Engine`]. The loop is
//! the only code that reads the clock: once per wakeup it takes `now`,
//! hands every readiness event to the engine as a `handle_*` call, carries
//! out the engine's outputs (connect, write the request, close), and sleeps
//! until the engine's next deadline. Sockets are registered once for both
//! directions (edge-triggered) and never re-registered; the request bytes
//! are rendered once and written as-is, so a request costs one `write` and,
//! usually, one `read`.
//!
//! Several threads are several independent loops: the plan is split with
//! [`volley_core::Config::split`], every loop connects its users, then all
//! start on one common `t0`, and their statistics merge exactly at the end.
//!
//! While they run, [`Control`] is what the rest of the program sees of
//! them: the stop level, live counters, and, once [`Control::watch`] has
//! been called, a [`Snapshot`] of each loop's statistics published a few
//! times a second for live views, which a reader takes without a lock and
//! without making a loop wait.

#![deny(missing_docs)]

mod control;
mod endpoint;
mod error;
mod event_loop;
mod limits;
mod published;
mod read;
mod sleep;
mod socket;
mod stamp;
mod stream;
mod target_counts;
mod timer;
mod tls;
mod trust;

use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Instant;

pub use control::{Control, LiveSnapshot};
pub use endpoint::Endpoint;
pub use error::{SetupError, TlsSetupError};
pub use limits::ensure_fd_limit;
pub use published::{RECENT_ROWS, STATUS_CODES, Snapshot};
pub use target_counts::{MAX_TARGETS, StatusSlots, TARGET_CODES, TargetCounts};
pub use timer::PreciseTimer;
pub use tls::{Tls, TlsOptions};
use volley_core::{Config, Engine, RequestRecord, Requests, Stats};

use crate::control::StartGate;
use crate::event_loop::EventLoop;

/// What to run: where, what, and one engine config per loop thread.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// Where the connections go: one origin, or one for each origin the
    /// targets name, in the order of [`Requests::with_origins`]'s indices.
    pub origins: Vec<Origin>,
    /// What the users send: one request, or a list of targets.
    pub requests: Requests,
    /// Where each loop sends its batches of request records (set
    /// `record_requests` in the engine configs too).
    pub log: Option<SyncSender<Vec<RequestRecord>>>,
    /// One config per loop thread (see [`Config::split`]).
    pub engines: Vec<Config>,
    /// Hold `t0` until this wall-clock time, once the users have connected
    /// (`--start-at`, SPEC §13), so that shards start one schedule together.
    pub start_at: Option<std::time::SystemTime>,
}

/// One place requests go: where to connect, and TLS for an https origin.
#[derive(Clone, Debug)]
pub struct Origin {
    /// Where the connections go.
    pub endpoint: Endpoint,
    /// TLS for an https origin.
    pub tls: Option<Tls>,
}

impl Origin {
    /// Connections to `endpoint`, with `tls` for https.
    pub fn new(endpoint: Endpoint, tls: Option<Tls>) -> Self {
        Self { endpoint, tls }
    }
}

/// Runs the plan to its end and returns the merged statistics. `control`
/// must have been made for `plan.engines.len()` loops.
pub fn run(plan: RunPlan, control: Arc<Control>) -> Result<Stats, SetupError> {
    let users: usize = plan.engines.iter().map(|c| c.users).sum();
    ensure_fd_limit(users)?;
    let gate = Arc::new(StartGate::new(plan.engines.len(), plan.start_at));
    let mut handles = Vec::with_capacity(plan.engines.len());
    for (index, config) in plan.engines.into_iter().enumerate() {
        let (template, control, gate) = (
            plan.requests.clone(),
            Arc::clone(&control),
            Arc::clone(&gate),
        );
        let origins = plan.origins.clone();
        let log = plan.log.clone().map(event_loop::LogSink::new);
        let handle = std::thread::Builder::new()
            .name(format!("volley-loop-{index}"))
            .spawn(move || -> Result<Stats, SetupError> {
                let engine = Engine::new(config, template, Instant::now());
                let slots = engine.connection_slots();
                let event_loop =
                    EventLoop::new(engine, slots, origins, Arc::clone(&control), index, log);
                match event_loop {
                    Ok(l) => l.run(&gate).map_err(SetupError::Loop),
                    Err(e) => {
                        // Do not leave the other loops waiting for this one.
                        gate.arrive(&control);
                        Err(e)
                    }
                }
            })
            .map_err(SetupError::Thread)?;
        handles.push(handle);
    }
    let mut total: Option<Stats> = None;
    let mut first_error = None;
    for h in handles {
        match h.join() {
            Ok(Ok(stats)) => match &mut total {
                Some(t) => t.merge(&stats),
                None => total = Some(stats),
            },
            Ok(Err(e)) => first_error = first_error.or(Some(e)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    match (first_error, total) {
        (Some(e), _) => Err(e),
        (None, Some(t)) => Ok(t),
        (None, None) => Ok(Stats::new()),
    }
}
