//! Runs an [`Engine`] against a [`FakeServer`] in virtual time.
//!
//! One `Instant::now()` is read, in [`Sim::new`], as the epoch; every later
//! time is the epoch plus `Duration`s, so runs are exact and take no wall
//! time. [`Sim::step`] is quinn's `Pair::step` / str0m's `progress`:
//!
//! 1. deliver everything the server has due at the current time (connect
//!    outcomes, response bytes, EOFs), draining
//!    [`Engine::poll_output`] after each handler and acting on every output
//!    (`Connect` → [`FakeServer::connect`], `Send` → [`FakeServer::receive`]
//!    with [`Engine::request_bytes`], `Close` → [`FakeServer::close`]);
//! 2. start the run (`handle_start(now)`) once [`Engine::is_ready`], and
//!    stop it (`handle_stop(now)`) when a scheduled stop falls due;
//! 3. jump to the earliest of [`Engine::poll_timeout`], the server's next
//!    delivery and the scheduled stop, and call [`Engine::handle_timeout`]
//!    there if the engine's deadline has come.

use std::time::{Duration, Instant};

use volley_core::{Config, ConnId, Engine, Output, RequestSpec, RequestTemplate, Stats};

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
    let spec = RequestSpec { method: method.into(), target: "/".into(), host: "sim.test".into(), ..RequestSpec::default() };
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
    stop_at: Option<Instant>,
    /// The engine sees `now - skew` on every other call (see [`Sim::skew`]).
    skew: Duration,
    flip: bool,
    steps: u64,
    /// What the engine asked for so far.
    pub outputs: OutputCounts,
}

impl Sim {
    /// A new engine with `config` and `template` against a server following
    /// `script`, at the epoch. The engine's first connects are already
    /// handed to the server.
    pub fn new(config: Config, template: RequestTemplate, script: Script) -> Self {
        let epoch = Instant::now();
        let mut sim = Self {
            engine: Engine::new(config, template, epoch),
            server: FakeServer::new(script),
            epoch,
            now: epoch,
            t0: None,
            stop_at: None,
            skew: Duration::ZERO,
            flip: false,
            steps: 0,
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

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Calls `handle_stop` (Ctrl-C) at `after` since `t0`.
    pub fn stop_at(&mut self, after: Duration) -> &mut Self {
        let t0 = self.t0.unwrap_or(self.now);
        self.stop_at = Some(t0 + after);
        self
    }

    /// Calls `handle_stop` now and acts on what it asks for.
    pub fn stop_now(&mut self) {
        let at = self.engine_now();
        self.engine.handle_stop(at);
        self.drain(at);
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

    fn engine_now(&mut self) -> Instant {
        self.flip = !self.flip;
        if self.flip && !self.skew.is_zero() {
            self.now.checked_sub(self.skew).unwrap_or(self.epoch).max(self.epoch)
        } else {
            self.now
        }
    }

    /// Drains `poll_output(at)` until `None`, acting on each output.
    fn drain(&mut self, at: Instant) {
        while let Some(out) = self.engine.poll_output(at) {
            match out {
                Output::Connect(c) => {
                    self.outputs.connects += 1;
                    self.server.connect(c, self.now);
                }
                Output::Send(c) => {
                    self.outputs.sends += 1;
                    self.server.receive(c, self.now, self.engine.request_bytes());
                }
                Output::Close(c) => {
                    self.outputs.closes += 1;
                    self.server.close(c);
                }
                other => panic!("unknown output {other:?}"),
            }
        }
    }

    fn deliver(&mut self, conn: ConnId, delivery: Delivery) {
        let at = self.engine_now();
        match delivery {
            Delivery::Connected => self.engine.handle_connected(conn, at),
            Delivery::ConnectFailed(kind) => self.engine.handle_connect_failed(conn, at, kind, &"connection refused"),
            Delivery::Data(bytes) => self.engine.handle_data(conn, at, &bytes),
            Delivery::Eof => self.engine.handle_eof(conn, at),
        }
        self.drain(at);
    }

    /// One step: deliver what is due now, start or stop the run when due,
    /// then jump to the next event and fire the engine's timers there.
    /// Returns false when nothing will ever happen again.
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        while let Some((conn, delivery)) = self.server.pop_due(self.now) {
            // Deliveries count too: zero-latency replies at `Rate::Max` could
            // otherwise loop forever at one instant.
            self.steps += 1;
            assert!(self.steps < MAX_STEPS, "no end after {MAX_STEPS} steps, at {:?}", self.now - self.epoch);
            self.deliver(conn, delivery);
        }
        if self.t0.is_none() && self.engine.is_ready() {
            self.t0 = Some(self.now);
            self.server.set_origin(self.now);
            let at = self.engine_now();
            self.engine.handle_start(at);
            self.drain(at);
        }
        if self.stop_at.is_some_and(|s| s <= self.now) {
            self.stop_at = None;
            self.stop_now();
        }
        // The start, a stop or a zero-latency reply may have made something
        // due right now: take it in the next step, without moving time.
        let next = [self.engine.poll_timeout(), self.server.next_delivery(), self.stop_at].into_iter().flatten().min();
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
            assert!(self.steps < MAX_STEPS, "no end after {MAX_STEPS} steps, at {:?}", self.now - self.epoch);
            let moved = self.step();
            assert!(
                moved || self.engine.is_finished(),
                "stuck at {:?}: no timer and nothing to deliver",
                self.now - self.epoch
            );
        }
        assert!(self.server.violations.is_empty(), "protocol violations: {:#?}", self.server.violations);
        self.engine.stats()
    }

    /// Steps until virtual time reaches `t0 + until` (or the run ends).
    pub fn run_until(&mut self, until: Duration) {
        while !self.engine.is_finished() && (self.t0.is_none() || self.elapsed() < until) {
            assert!(self.steps < MAX_STEPS, "no progress after {MAX_STEPS} steps");
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
pub fn run_with(config: Config, template: RequestTemplate, script: Script) -> Sim {
    let mut sim = Sim::new(config, template, script);
    sim.run_to_end();
    sim
}
