//! Runs an [`Engine`] against a [`FakeServer`] in virtual time.
//!
//! One `Instant::now()` is read, in [`Sim::new`], as the epoch; every later
//! time is the epoch plus `Duration`s, so runs are exact and take no wall
//! time. [`Sim::step`] is quinn's `Pair::step` / str0m's `progress`:
//!
//! 1. deliver everything the server has due at the current time (connect
//!    outcomes, response bytes, EOFs and resets), draining
//!    [`Engine::poll_output`] after each handler and acting on every output
//!    (`Connect` → [`FakeServer::connect`], `Send` → [`FakeServer::receive`]
//!    with [`Engine::request_bytes`], `Close` → [`FakeServer::close`]);
//! 2. start the run (`handle_start(now)`) once [`Engine::is_ready`], and
//!    raise the stop level one step for each scheduled stop (Ctrl-C) that
//!    has fallen due, handing the engine the new level once
//!    (`handle_stop(now, level)`), as the driver does with what it finds in
//!    its `Control`;
//! 3. jump to the earliest of [`Engine::poll_timeout`], the server's next
//!    delivery and the scheduled stop, and call [`Engine::handle_timeout`]
//!    there if the engine's deadline has come. Once the engine has finished
//!    the clock stops, so [`Sim::now`] is when the run ended.
//!
//! At one instant the engine's timers fire first (on the jump), then the
//! server's deliveries, then the start and any stop. Ties are thereby
//! broken the same way every run, so tests can assert exact counts.
//!
//! Besides [`Sim::run_to_end`] and [`Sim::run_until`], tests can stop the
//! run like Ctrl-C ([`Sim::stop_at`], [`Sim::stop_now`]), give the engine a
//! clock that jitters backwards ([`Sim::skew`]), call any handler with any
//! instant ([`Sim::poke`]), read when each request reached the server
//! ([`Sim::arrivals`]) and record a trace of every delivery and output
//! ([`Sim::tracing`]), which a protocol violation prints.

use std::time::{Duration, Instant};

use volley_core::{
    Config, ConnId, Engine, ErrorKind, Output, RequestSpec, RequestTemplate, Requests, Stats, Stop,
};

use crate::fake_server::{Delivery, FakeServer, Script};

/// Steps (and deliveries) after which the sim gives up: a bug that never
/// finishes fails the test instead of hanging it.
pub const MAX_STEPS: u64 = 5_000_000;

/// What the engine asked of the driver, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputCounts {
    /// `Output::Connect`.
    pub connects: u64,
    /// `Output::Send`.
    pub sends: u64,
    /// `Output::Close`.
    pub closes: u64,
}

/// A GET of `/` on `sim.test`, the request most tests send.
pub fn get() -> RequestTemplate {
    request("GET")
}

/// A request with `method` and no body.
pub fn request(method: &str) -> RequestTemplate {
    let spec = RequestSpec {
        method: method.into(),
        target: "/".into(),
        host: "sim.test".into(),
        ..RequestSpec::default()
    };
    // ok: a fixed, valid spec.
    RequestTemplate::new(&spec).expect("valid request")
}

/// An engine and a fake server on one virtual clock.
pub struct Sim {
    /// The engine under test.
    pub engine: Engine,
    /// The scripted server.
    pub server: FakeServer,
    epoch: Instant,
    now: Instant,
    t0: Option<Instant>,
    /// Times of scheduled stops (each one Ctrl-C), latest first.
    stops: Vec<Instant>,
    /// The stop level those that fell due have raised.
    stop: Option<Stop>,
    /// The engine sees `now - skew` on every other call (see [`Sim::skew`]).
    skew: Duration,
    flip: bool,
    steps: u64,
    /// Every delivery and output, when tracing.
    trace: Option<Vec<String>>,
    /// What the engine asked for so far.
    pub outputs: OutputCounts,
}

impl Sim {
    /// A new engine with `config` and `template` against a server following
    /// `script`, at the epoch. The engine's first connects are already
    /// handed to the server.
    pub fn new(config: Config, template: impl Into<Requests>, script: Script) -> Self {
        let epoch = Instant::now();
        let mut sim = Self {
            engine: Engine::new(config, template, epoch),
            server: FakeServer::new(script),
            epoch,
            now: epoch,
            t0: None,
            stops: Vec::new(),
            stop: None,
            skew: Duration::ZERO,
            flip: false,
            steps: 0,
            trace: None,
            outputs: OutputCounts::default(),
        };
        sim.drain(epoch);
        sim
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The one real instant the virtual clock counts from.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// When the run started (`handle_start`), once it has.
    pub fn t0(&self) -> Option<Instant> {
        self.t0
    }

    /// Virtual time since `t0` (zero before the start).
    pub fn elapsed(&self) -> Duration {
        self.t0.map_or(Duration::ZERO, |t0| self.now - t0)
    }

    /// The engine's statistics.
    pub fn stats(&self) -> &Stats {
        self.engine.stats()
    }

    /// When each request reached the server, as time since `t0`.
    pub fn arrivals(&self) -> Vec<Duration> {
        let t0 = self.t0.unwrap_or(self.epoch);
        self.server
            .arrivals
            .iter()
            .map(|&at| at.saturating_duration_since(t0))
            .collect()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Stops the run like Ctrl-C at `after` since `t0` (since now if the
    /// run has not started), after the deliveries due at that time. May be
    /// called again for a second Ctrl-C, at the same time or later.
    pub fn stop_at(&mut self, after: Duration) -> &mut Self {
        let t0 = self.t0.unwrap_or(self.now);
        self.stops.push(t0 + after);
        self.stops.sort_by(|a, b| b.cmp(a));
        self
    }

    /// Ctrl-C now: raises the stop level one step, hands it to the engine
    /// and acts on what it asks for.
    pub fn stop_now(&mut self) {
        self.raise_stop();
        self.hand_stop();
    }

    fn raise_stop(&mut self) {
        self.stop = Some(match self.stop {
            None => Stop::Drain,
            Some(_) => Stop::Now,
        });
    }

    fn hand_stop(&mut self) {
        if let Some(level) = self.stop {
            let at = self.engine_now();
            self.engine.handle_stop(at, level);
            self.drain(at);
        }
    }

    /// From now on, every other `now` the engine is given lies `skew` in the
    /// past (never before the epoch): a clock that jitters backwards.
    pub fn skew(&mut self, skew: Duration) -> &mut Self {
        self.skew = skew;
        self
    }

    /// Calls `f` on the engine with an arbitrary `at` (which may lie in the
    /// past), then drains its outputs with that same `at`. The server keeps
    /// the virtual clock.
    pub fn poke(&mut self, at: Instant, f: impl FnOnce(&mut Engine, Instant)) {
        f(&mut self.engine, at);
        self.drain(at);
    }

    /// Records every delivery and output from now on, for [`Sim::trace`].
    pub fn tracing(&mut self) -> &mut Self {
        self.trace.get_or_insert_with(Vec::new);
        self
    }

    /// The recorded deliveries and outputs, one line each, with the virtual
    /// time since the epoch (empty unless [`Sim::tracing`] was called).
    pub fn trace(&self) -> &[String] {
        self.trace.as_deref().unwrap_or_default()
    }

    fn trace_around_first_violation(&self) -> String {
        let trace = self.trace();
        let at = trace
            .iter()
            .position(|l| l.ends_with("!! violation"))
            .unwrap_or(trace.len());
        trace[at.saturating_sub(40)..(at + 5).min(trace.len())].join("\n")
    }

    fn note(&mut self, what: std::fmt::Arguments<'_>) {
        if let Some(trace) = &mut self.trace {
            trace.push(format!("{:>12?} {what}", self.now - self.epoch));
        }
    }

    fn engine_now(&mut self) -> Instant {
        self.flip = !self.flip;
        if self.flip && !self.skew.is_zero() {
            self.now
                .checked_sub(self.skew)
                .unwrap_or(self.epoch)
                .max(self.epoch)
        } else {
            self.now
        }
    }

    /// Drains `poll_output(at)` until `None`, acting on each output.
    fn drain(&mut self, at: Instant) {
        while let Some(out) = self.engine.poll_output(at) {
            self.note(format_args!("out {out:?}"));
            match out {
                Output::Connect(c) => {
                    self.outputs.connects += 1;
                    self.server.connect(c, self.now);
                }
                Output::Send(c) => {
                    self.outputs.sends += 1;
                    let before = self.server.violations.len();
                    self.server
                        .receive(c, self.now, self.engine.request_bytes(c));
                    if self.server.violations.len() > before {
                        self.note(format_args!("!! violation"));
                    }
                }
                Output::Close(c) => {
                    self.outputs.closes += 1;
                    self.server.close(c);
                }
            }
        }
    }

    fn deliver(&mut self, conn: ConnId, delivery: Delivery) {
        if self.trace.is_some() {
            let what = match &delivery {
                Delivery::Data(b) => format!("Data({:?})", String::from_utf8_lossy(b)),
                other => format!("{other:?}"),
            };
            self.note(format_args!("in  {conn:?} {what}"));
        }
        let at = self.engine_now();
        match delivery {
            Delivery::Connected => self.engine.handle_connected(conn, at),
            Delivery::ConnectFailed(kind) => {
                self.engine
                    .handle_error(conn, at, kind, &"connection refused")
            }
            Delivery::Data(bytes) => self.engine.handle_data(conn, at, &bytes),
            Delivery::Eof => self.engine.handle_eof(conn, at),
            Delivery::Reset => self.engine.handle_error(
                conn,
                at,
                ErrorKind::Reset,
                &"Connection reset by peer (os error 104)",
            ),
        }
        self.drain(at);
    }

    /// One step: deliver what is due now, start or stop the run when due,
    /// then jump to the next event and fire the engine's timers there.
    /// Returns false when nothing will ever happen again (the engine has
    /// finished, or has no timer and the server nothing to deliver).
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        while let Some((conn, delivery)) = self.server.pop_due(self.now) {
            // Deliveries count too: zero-latency replies at `Rate::Max` could
            // otherwise loop forever at one instant.
            self.steps += 1;
            assert!(
                self.steps < MAX_STEPS,
                "no end after {MAX_STEPS} steps, at {:?}",
                self.now - self.epoch
            );
            self.deliver(conn, delivery);
        }
        if self.t0.is_none() && self.engine.is_ready() {
            self.t0 = Some(self.now);
            self.server.set_origin(self.now);
            let at = self.engine_now();
            self.engine.handle_start(at);
            self.drain(at);
        }
        let before = self.stop;
        while self.stops.last().is_some_and(|&s| s <= self.now) {
            self.stops.pop();
            self.raise_stop();
        }
        if self.stop > before {
            self.hand_stop();
        }
        if self.engine.is_finished() {
            // The clock stops with the run: `now` is when it ended.
            return false;
        }
        // The start, a stop or a zero-latency reply may have made something
        // due right now: take it in the next step, without moving time.
        let next = [
            self.engine.poll_timeout(),
            self.server.next_delivery(),
            self.stops.last().copied(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        if self.engine.poll_timeout().is_some_and(|t| t <= self.now) {
            let at = self.engine_now();
            self.engine.handle_timeout(at);
            self.drain(at);
        }
        true
    }

    /// Steps until the engine has finished; then asserts that the server saw
    /// no protocol breach. Panics after [`MAX_STEPS`] steps, or if nothing is
    /// left to happen while the engine is not finished.
    pub fn run_to_end(&mut self) -> &Stats {
        while !self.engine.is_finished() {
            assert!(
                self.steps < MAX_STEPS,
                "no end after {MAX_STEPS} steps, at {:?}",
                self.now - self.epoch
            );
            let moved = self.step();
            assert!(
                moved || self.engine.is_finished(),
                "stuck at {:?}: no timer and nothing to deliver",
                self.now - self.epoch
            );
        }
        assert!(
            self.server.violations.is_empty(),
            "protocol violations: {:#?}\nend of the trace:\n{}",
            self.server.violations,
            self.trace_around_first_violation()
        );
        self.engine.stats()
    }

    /// Steps until virtual time reaches `t0 + until` (or the run ends).
    pub fn run_until(&mut self, until: Duration) {
        while !self.engine.is_finished() && (self.t0.is_none() || self.elapsed() < until) {
            assert!(
                self.steps < MAX_STEPS,
                "no progress after {MAX_STEPS} steps"
            );
            if !self.step() {
                return;
            }
        }
    }
}

/// Runs `config` with a GET against `script` to the end and returns the sim.
pub fn run(config: Config, script: Script) -> Sim {
    run_with(config, get(), script)
}

/// Runs `config` with `template` against `script` to the end.
pub fn run_with(config: Config, template: impl Into<Requests>, script: Script) -> Sim {
    let mut sim = Sim::new(config, template, script);
    sim.run_to_end();
    sim
}
