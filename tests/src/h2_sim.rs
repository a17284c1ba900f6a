//! Runs an HTTP/2 [`Engine`] against a [`FakeH2`] in virtual time: the
//! HTTP/2 counterpart of [`crate::sim::Sim`], stepped the same way.
//!
//! The difference is what a `Send` means: the engine's [`ConnId`]s name
//! connection slots, and on [`Output::Send`] the sim takes the slot's
//! bytes with [`Engine::take_bytes`] (as the driver does) and hands them to
//! the server. One step delivers what the server has due now (draining
//! [`Engine::poll_output`] after each handler), starts the run once the
//! engine is ready, then jumps to the earliest of the engine's timeout and
//! the server's next delivery, firing the engine's timers there. At one
//! instant the engine's timers fire first, then the server's deliveries.
//!
//! Every [`RequestRecord`] the engine yields is kept in [`H2Sim::records`]
//! (with [`volley_core::Config::record_requests`] on).

use std::time::{Duration, Instant};

use volley_core::{ConnId, Engine, ErrorKind, Output, RequestRecord, Requests, Stats};

use crate::fake_h2::{FakeH2, H2Script};
use crate::fake_server::Delivery;
use crate::sim::{MAX_STEPS, OutputCounts};

/// An HTTP/2 engine and a fake HTTP/2 server on one virtual clock.
pub struct H2Sim {
    /// The engine under test.
    pub engine: Engine,
    /// The scripted server.
    pub server: FakeH2,
    epoch: Instant,
    now: Instant,
    t0: Option<Instant>,
    steps: u64,
    /// Bytes taken from the engine, reused.
    buf: Vec<u8>,
    /// What the engine asked for so far.
    pub outputs: OutputCounts,
    /// Requests that ended, in order (with `record_requests`).
    pub records: Vec<RequestRecord>,
    trace: Option<Vec<String>>,
}

impl H2Sim {
    /// A new engine with `config` (whose `http2` must be set) and
    /// `requests`, against a server following `script`, at the epoch.
    pub fn new(
        config: volley_core::Config,
        requests: impl Into<Requests>,
        script: H2Script,
    ) -> Self {
        assert!(config.http2.is_some(), "an H2Sim needs Config::http2");
        let epoch = Instant::now();
        let mut sim = Self {
            engine: Engine::new(config, requests, epoch),
            server: FakeH2::new(script),
            epoch,
            now: epoch,
            t0: None,
            steps: 0,
            buf: Vec::new(),
            outputs: OutputCounts::default(),
            records: Vec::new(),
            trace: None,
        };
        sim.drain(epoch);
        sim
    }

    /// Records every delivery and output from now on; a failed
    /// [`H2Sim::run_to_end`] prints the end of it.
    pub fn tracing(&mut self) -> &mut Self {
        self.trace.get_or_insert_with(Vec::new);
        self
    }

    /// The recorded lines (empty unless [`H2Sim::tracing`] was called).
    pub fn trace(&self) -> &[String] {
        self.trace.as_deref().unwrap_or_default()
    }

    fn note(&mut self, what: std::fmt::Arguments<'_>) {
        if let Some(trace) = &mut self.trace {
            trace.push(format!("{:>12?} {what}", self.now - self.epoch));
        }
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// When the run started, once it has.
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
                    self.engine.take_bytes(c, &mut self.buf);
                    let before = self.server.violations.len();
                    self.server.receive(c, self.now, &self.buf);
                    self.buf.clear();
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
        self.records
            .extend(std::iter::from_fn(|| self.engine.poll_record()));
    }

    fn deliver(&mut self, conn: ConnId, delivery: Delivery) {
        if self.trace.is_some() {
            let what = match &delivery {
                Delivery::Data(b) => format!("Data({} bytes)", b.len()),
                other => format!("{other:?}"),
            };
            self.note(format_args!("in  {conn:?} {what}"));
        }
        let at = self.now;
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

    /// One step (see the module doc). False when nothing will ever happen
    /// again.
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        while let Some((conn, delivery)) = self.server.pop_due(self.now) {
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
            self.engine.handle_start(self.now);
            self.drain(self.now);
        }
        if self.engine.is_finished() {
            return false;
        }
        let next = [self.engine.poll_timeout(), self.server.next_delivery()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        if self.engine.poll_timeout().is_some_and(|t| t <= self.now) {
            self.engine.handle_timeout(self.now);
            self.drain(self.now);
        }
        true
    }

    /// Steps until the engine has finished; then asserts that the server
    /// saw no protocol breach.
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
        self.assert_no_violations();
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

    /// Asserts that the server saw no protocol breach, printing the end of
    /// the trace around the first.
    pub fn assert_no_violations(&self) {
        if self.server.violations.is_empty() {
            return;
        }
        let trace = self.trace();
        let at = trace
            .iter()
            .position(|l| l.ends_with("!! violation"))
            .unwrap_or(trace.len());
        panic!(
            "protocol violations: {:#?}\nend of the trace:\n{}",
            self.server.violations,
            trace[at.saturating_sub(40)..(at + 5).min(trace.len())].join("\n")
        );
    }
}
