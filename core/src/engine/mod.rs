//! The engine: a fixed pool of users driven by the arrival schedule.
//!
//! Under HTTP/1.1 each user has a connection of its own; under HTTP/2
//! ([`Config::http2`]) users are streams over a few shared connections,
//! which [`h2`] keeps.

mod h2;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

use crate::conn::{Conn, ConnState, Feed};
use crate::error::ErrorKind;
use crate::event::{ConnId, Output, Stop};
use crate::pacer::{Pacer, Rate, Stage};
use crate::stats::Stats;
use crate::targets::Requests;
use crate::template::Values;
use crate::timer::DeadlineList;
use crate::{Duration, Instant};

pub use h2::Http2;

/// After the end, in-flight requests are awaited at most this long (SPEC §2).
pub const MAX_DRAIN: Duration = Duration::from_secs(5);
/// First wait after a failed connect; it doubles with each further failure.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest wait between connect attempts of one user.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How long to wait before the next connect after `failures` in a row (at
/// least one): [`BACKOFF_MIN`], doubling, at most [`BACKOFF_MAX`].
fn backoff_after(failures: u32) -> Duration {
    BACKOFF_MIN
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_MAX)
}

/// What one engine runs: its share of the plan.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Concurrent users, each with one connection and at most one request.
    pub users: usize,
    /// Arrival rate of the whole run (all engines together).
    pub rate: Rate,
    /// How long requests start after `t0`.
    pub duration: Duration,
    /// Stop after this many requests of the whole run started, if set.
    pub max_requests: Option<u64>,
    /// The rate rises linearly from 0 over this time.
    pub ramp_up: Duration,
    /// A piecewise-linear load shape (SPEC §12) instead of `rate` and
    /// `ramp_up` when not empty; `rate` is then its highest rate (for the
    /// report), and `duration` the stages' sum.
    pub stages: Vec<Stage>,
    /// This engine takes every `stride`-th request of the run...
    pub stride: u64,
    /// ... starting with request `phase` (`phase < stride`).
    pub phase: u64,
    /// Limit from the start of the write to the end of the response.
    pub timeout: Duration,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Reuse connections; when false every request gets a new connection.
    pub keep_alive: bool,
    /// Keep a [`RequestRecord`] of every request that ends, for
    /// [`Engine::poll_record`].
    pub record_requests: bool,
    /// Keep each second's latencies and service times in the timeline
    /// ([`Stats::keep_seconds`]).
    pub keep_seconds: bool,
    /// Speak HTTP/2 (SPEC §11): users are streams over these connections.
    pub http2: Option<Http2>,
}

impl Config {
    /// Splits this plan across `n` engines (threads or shards): users are
    /// divided as evenly as possible, and engine i takes global requests
    /// i, i+n, i+2n, ... of the schedule. Engines with no user are dropped.
    pub fn split(&self, n: usize) -> Vec<Self> {
        let n = n.clamp(1, self.users.max(1));
        (0..n)
            .map(|i| Self {
                users: self.users / n + usize::from(i < self.users % n),
                stride: self.stride * n as u64,
                phase: self.phase + self.stride * i as u64,
                http2: self.http2.as_ref().map(|h| Http2 {
                    connections: (h.connections / n + usize::from(i < h.connections % n)).max(1),
                    ..h.clone()
                }),
                ..self.clone()
            })
            .collect()
    }

    /// How many requests this engine may start under `max_requests`: the
    /// global indices `phase + k·stride` below the limit.
    fn request_quota(&self) -> Option<u64> {
        self.max_requests
            .map(|n| n.saturating_sub(self.phase).div_ceil(self.stride))
    }

    /// How long requests start after `t0` unless told otherwise (SPEC §1).
    pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
    /// The per-request limit unless told otherwise (SPEC §1).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The connect limit unless told otherwise (SPEC §1).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A config with the SPEC's defaults ([`Config::DEFAULT_DURATION`],
    /// [`Config::DEFAULT_TIMEOUT`], [`Config::DEFAULT_CONNECT_TIMEOUT`]),
    /// keep-alive, no ramp, no request limit.
    pub fn new(users: usize, rate: Rate) -> Self {
        Self {
            users,
            rate,
            duration: Self::DEFAULT_DURATION,
            max_requests: None,
            ramp_up: Duration::ZERO,
            stages: Vec::new(),
            stride: 1,
            phase: 0,
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            keep_alive: true,
            record_requests: false,
            keep_seconds: false,
            http2: None,
        }
    }
}

/// The request a user is working on.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    /// This engine's request number (see [`Pacer::global_index`]).
    k: u64,
    intended: Instant,
    /// When its (latest) write started.
    sent: Option<Instant>,
    first_byte: Option<Instant>,
    bytes_in: u64,
    /// It lost the keep-alive race once and went again on a new
    /// connection; it does not go a third time. (Under HTTP/2: it went
    /// again at least once.)
    retried: bool,
    /// HTTP/2: the status of its response head, once it came.
    status: u16,
    /// HTTP/2: times the server did not process it.
    refusals: u8,
}

/// How a logged request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A complete response with this status code.
    Completed(u16),
    /// An error of this kind.
    Failed(ErrorKind),
    /// Still in flight when the run ended.
    Unfinished,
}

/// One request that ended, for the per-request log (SPEC §6). Times are
/// since `t0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Index of the request in the whole run's schedule (0-based; the same
    /// numbering across threads and shards).
    pub index: u64,
    /// When it was due.
    pub intended: Duration,
    /// When its write started, if it did.
    pub sent: Option<Duration>,
    /// When it ended.
    pub done: Duration,
    /// Response bytes received for it.
    pub bytes_in: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Which target it went to (its index in the run's list; 0 for a run
    /// of one request).
    pub target: u32,
}

/// One origin's side of the schedule (SPEC §10): a due request of the
/// origin waits for a free user of the origin, so each origin has a
/// backlog of its own.
#[derive(Debug, Default)]
struct Lane {
    /// Users free for a request: Idle or Disconnected, nothing in flight.
    idle: VecDeque<usize>,
    /// This engine's next request index that goes to this origin and has
    /// not started: every earlier one of the origin has.
    cursor: u64,
}

#[derive(Debug)]
struct User {
    conn: Conn,
    /// The origin this user connects to.
    origin: usize,
    req: Option<InFlight>,
    /// The target of the request in flight, or of the last one: the
    /// request a write or a retry sends.
    target: usize,
    /// That request rendered, when its target has placeholders; reused
    /// from one request to the next.
    buf: Vec<u8>,
    /// How much of the target's expected body text the response's body
    /// has matched so far (see [`crate::Needle::advance`]).
    found: u32,
    /// Connect failures in a row, for the backoff.
    failures: u32,
    connect_started: Instant,
    /// HTTP/2: the connection slot and stream its request is on.
    stream: Option<(usize, crate::h2::StreamId)>,
    /// HTTP/2: the slot whose server did not process its request, which
    /// it avoids when another connection has room.
    refused_on: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Users are connecting before `t0`; this many have not finished trying.
    Warmup { pending: usize },
    /// Every user has connected or failed; waiting for `handle_start`.
    Ready,
    /// Requests start on schedule until `end`.
    Running { t0: Instant, end: Instant },
    /// No new requests; in-flight ones are awaited until `until`.
    Draining { t0: Instant, until: Instant },
    /// Done; the statistics are final.
    Finished,
}

/// Why the engine wants to be woken next (for `--debug` and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wake {
    /// A connect attempt times out.
    ConnectTimeout,
    /// A response times out.
    ResponseTimeout,
    /// A user's connect backoff ends.
    Backoff,
    /// The next request is due.
    Send,
    /// The run's sending time ends.
    End,
    /// The wait for in-flight requests ends.
    DrainEnd,
}

/// A load generator for one thread, as a sans-io state machine.
///
/// Method groups, in the order a driver uses them:
///
/// A. Construction: [`Engine::new`] queues a connect for every user.
/// B. Handlers, named `handle_*`, feed in what happened at `now`: a connect
///    finished or failed, bytes arrived, the peer closed, an I/O error, a
///    timer fired, the user asked to stop.
/// C. Polling functions, named `poll_*`: after any handler, drain
///    [`Engine::poll_output`] until it returns `None`, then read
///    [`Engine::poll_timeout`] for the next wakeup.
/// D. Queries: [`Engine::is_ready`] (all users tried to connect; call
///    [`Engine::handle_start`] with the common `t0`), [`Engine::is_finished`],
///    [`Engine::stats`].
///
/// The engine never reads a clock: every `now` is the caller's.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    requests: Requests,
    /// Where a templated request's body is rendered before its length is
    /// known.
    scratch: Vec<u8>,
    /// Requests started, by target.
    started: Vec<u64>,
    pacer: Option<Pacer>,
    users: Vec<User>,
    /// The users of each origin free for a request, and that origin's
    /// place in the schedule (one lane unless the targets name several
    /// origins).
    lanes: Vec<Lane>,
    connecting: DeadlineList,
    responding: DeadlineList,
    backoff: BinaryHeap<Reverse<(Instant, usize)>>,
    outputs: VecDeque<Output>,
    records: VecDeque<RequestRecord>,
    phase: Phase,
    /// Requests started so far.
    next: u64,
    in_flight: usize,
    /// This engine's share of `max_requests`.
    quota: Option<u64>,
    stopped_by_limit: bool,
    /// The highest stop level handed in so far.
    stop: Option<Stop>,
    stats: Stats,
    /// The connections and waiting streams of an HTTP/2 run.
    h2: Option<Box<h2::Side>>,
}

impl Engine {
    /// An engine that starts connecting all its users at `now`; its
    /// requests are one [`crate::RequestTemplate`] or a list of targets
    /// ([`Requests`]).
    pub fn new(config: Config, requests: impl Into<Requests>, now: Instant) -> Self {
        let requests = requests.into();
        let pacer = match config.rate {
            Rate::Fixed { .. } if !config.stages.is_empty() => {
                Some(Pacer::staged(&config.stages, config.stride, config.phase))
            }
            Rate::Fixed { milli_rps } => Some(Pacer::new(
                milli_rps,
                config.ramp_up,
                config.stride,
                config.phase,
            )),
            Rate::Max => None,
        };
        let n = config.users;
        let per_origin = requests.users_per_origin(n, config.stride, config.phase);
        let origin_of_user = per_origin
            .iter()
            .enumerate()
            .flat_map(|(o, &count)| std::iter::repeat_n(o, count));
        let mut engine = Self {
            lanes: per_origin.iter().map(|_| Lane::default()).collect(),
            users: origin_of_user
                .map(|origin| User {
                    origin,
                    conn: Conn::new(),
                    req: None,
                    target: 0,
                    buf: Vec::new(),
                    found: 0,
                    failures: 0,
                    connect_started: now,
                    stream: None,
                    refused_on: None,
                })
                .collect(),
            connecting: DeadlineList::new(n),
            responding: DeadlineList::new(n),
            backoff: BinaryHeap::new(),
            outputs: VecDeque::with_capacity(2 * n + 8),
            records: VecDeque::new(),
            phase: Phase::Warmup { pending: n },
            next: 0,
            in_flight: 0,
            quota: config.request_quota(),
            stopped_by_limit: false,
            stop: None,
            stats: Stats::new(),
            config,
            scratch: Vec::new(),
            started: vec![0; requests.len()],
            h2: None,
            requests,
            pacer,
        };
        engine.stats.keep_seconds(engine.config.keep_seconds);
        if engine.requests.per_target {
            engine.stats.set_targets(engine.requests.len());
        }
        for lane in 0..engine.lanes.len() {
            engine.lanes[lane].cursor = engine.next_of(lane, 0);
        }
        if let Some(plan) = &engine.config.http2 {
            let side = h2::Side::new(plan, &engine.requests, n, now);
            engine.connecting = DeadlineList::new(side.max_slots().max(n));
            engine.h2 = Some(Box::new(side));
            for (origin, u) in h2::users_free(&engine.users).collect::<Vec<_>>() {
                engine.lanes[origin].idle.push_back(u);
            }
            let pending = if n == 0 { 0 } else { engine.h2_start(now) };
            engine.phase = Phase::Warmup { pending };
        } else {
            for u in 0..n {
                engine.connect(u, now);
            }
        }
        if engine.phase == (Phase::Warmup { pending: 0 }) {
            engine.phase = Phase::Ready;
        }
        engine
    }

    /// How many connection slots the driver keeps to begin with: one per
    /// user under HTTP/1.1; under HTTP/2, twice the connections of each
    /// origin (one may drain after a GOAWAY while its replacement opens).
    /// Under HTTP/2 the engine may take more when connections drain
    /// slowly, up to [`Engine::max_connection_slots`]: a driver grows its
    /// slots when an [`Output::Connect`] names one it does not have.
    pub fn connection_slots(&self) -> usize {
        self.h2.as_ref().map_or(self.users.len(), |h| h.slots())
    }

    /// The most connection slots the engine ever uses: every [`ConnId`] is
    /// below it.
    pub fn max_connection_slots(&self) -> usize {
        self.h2.as_ref().map_or(self.users.len(), |h| h.max_slots())
    }

    /// The run speaks HTTP/2: on [`Output::Send`] the driver writes what
    /// [`Engine::take_bytes`] gives it, not [`Engine::request_bytes`].
    pub fn is_http2(&self) -> bool {
        self.h2.is_some()
    }

    /// HTTP/2: moves the bytes queued for `conn`'s server into `dst`
    /// (appended; when `dst` is empty the buffers are swapped, so the
    /// steady state copies and allocates nothing). Call on each
    /// [`Output::Send`]; the driver keeps what the socket does not take.
    pub fn take_bytes(&mut self, conn: ConnId, dst: &mut Vec<u8>) {
        self.h2_take_bytes(conn, dst);
    }

    /// The bytes to write on [`Output::Send`] of `conn`: its request.
    pub fn request_bytes(&self, conn: ConnId) -> &[u8] {
        if self.h2.is_some() {
            return &[];
        }
        let Some(user) = self.users.get(conn.0) else {
            return &[];
        };
        let template = &self.requests.targets[user.target].template;
        if template.is_templated() {
            &user.buf
        } else {
            template.bytes()
        }
    }

    /// Every user has connected or failed to: the driver may call
    /// [`Engine::handle_start`].
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// The run is over and [`Engine::stats`] are final.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Some user is connecting (for https: or in its TLS handshake).
    pub fn is_connecting(&self) -> bool {
        self.connecting.front().is_some()
    }

    /// The origin `conn` connects to: an index into the origins its
    /// requests name (always 0 when they name one).
    pub fn origin_of(&self, conn: ConnId) -> usize {
        if let Some(side) = &self.h2 {
            return side.origin_of(conn);
        }
        self.users.get(conn.0).map_or(0, |u| u.origin)
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The statistics so far (final once [`Engine::is_finished`]).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Closes the timeline's second in progress once `now` is past it, so
    /// that a live view gets each second's row when that second ends
    /// rather than when the next request does (which, at a low rate or in a
    /// stall, may be much later). Changes no count.
    pub fn roll_timeline(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Running { .. } | Phase::Draining { .. }) {
            let since = self.since_t0(now);
            self.stats.roll(since);
        }
    }

    /// Takes the statistics out of a finished engine.
    pub fn into_stats(self) -> Stats {
        self.stats
    }

    /// Starts the schedule: request 0 is intended at `t0` (plus the
    /// engine's phase). Ignored unless the engine is ready.
    pub fn handle_start(&mut self, t0: Instant) {
        if matches!(self.phase, Phase::Warmup { .. } | Phase::Ready) {
            self.phase = Phase::Running {
                t0,
                end: t0 + self.config.duration,
            };
        }
    }

    /// The connection of `conn` is established.
    pub fn handle_connected(&mut self, conn: ConnId, now: Instant) {
        self.connected(conn, now, None);
    }

    /// The connection of `conn` is established and its TLS handshake, which
    /// started at `tls_started` (when TCP connected), is complete;
    /// `resumed` if it resumed an earlier session.
    pub fn handle_connected_tls(
        &mut self,
        conn: ConnId,
        now: Instant,
        tls_started: Instant,
        resumed: bool,
    ) {
        self.connected(conn, now, Some((tls_started, resumed)));
    }

    fn connected(&mut self, conn: ConnId, now: Instant, tls: Option<(Instant, bool)>) {
        if self.h2.is_some() {
            return self.h2_connected(conn.0, now, tls);
        }
        let u = conn.0;
        let Some(user) = self.users.get_mut(u) else {
            return;
        };
        if !user.conn.connected() {
            return;
        }
        user.failures = 0;
        let tcp_done = tls.map_or(now, |(started, _)| started);
        let took = tcp_done
            .checked_duration_since(user.connect_started)
            .unwrap_or_default();
        self.stats.record_connect(took);
        if let Some((started, resumed)) = tls {
            self.stats.record_handshake(
                now.checked_duration_since(started).unwrap_or_default(),
                resumed,
            );
        }
        self.connecting.remove(u);
        if self.users[u].req.is_some() {
            self.send(u, now);
        } else {
            self.lanes[self.users[u].origin].idle.push_back(u);
            self.warmup_progress();
        }
    }

    /// Bytes arrived on `conn`.
    pub fn handle_data(&mut self, conn: ConnId, now: Instant, data: &[u8]) {
        if self.h2.is_some() {
            return self.h2_data(conn.0, now, data);
        }
        let u = conn.0;
        let Some(user) = self.users.get_mut(u) else {
            return;
        };
        let target = &self.requests.targets[user.target];
        self.stats.bytes_in += data.len() as u64;
        if let Some(req) = &mut user.req {
            if req.first_byte.is_none() && req.sent.is_some() {
                req.first_byte = Some(now);
            }
            req.bytes_in += data.len() as u64;
            if let Some(t) = self.stats.targets.get_mut(user.target) {
                t.bytes_in += data.len() as u64;
            }
        }
        let head = target.template.is_head();
        let User { conn, found, .. } = user;
        let fed = match &target.expect.body {
            Some(needle) => conn.feed_with(data, head, &mut |b| *found = needle.advance(*found, b)),
            None => conn.feed_with(data, head, &mut |_| {}),
        };
        match fed {
            Ok(Feed::More) => {}
            Ok(Feed::Done {
                status,
                keep_alive,
                trailing,
            }) => {
                self.complete_checked(u, now, status);
                if trailing > 0 || !keep_alive || !self.config.keep_alive {
                    self.close(u);
                }
                self.free(u, now);
            }
            Err(e) => {
                let had_request = self.users[u].req.is_some();
                if had_request {
                    self.fail(u, now, ErrorKind::Malformed, &e);
                } else {
                    self.stats.note_example(ErrorKind::Malformed, &e);
                }
                self.close(u);
                if had_request {
                    self.free(u, now);
                }
            }
        }
    }

    /// The server closed its side of `conn` (a read returned 0). While the
    /// connection is connecting, that is a failed connect. With a request
    /// in flight it fails the request as closed early, unless the close is
    /// SPEC §2's keep-alive race (see [`Engine::handle_error`]).
    pub fn handle_eof(&mut self, conn: ConnId, now: Instant) {
        if self.h2.is_some() {
            return self.h2_eof(conn.0, now);
        }
        let u = conn.0;
        let Some(user) = self.users.get_mut(u) else {
            return;
        };
        match user.conn.state() {
            ConnState::Connecting => {
                self.connect_failed(
                    u,
                    now,
                    ErrorKind::ConnectError,
                    &"connection closed during connect",
                );
                return;
            }
            ConnState::Disconnected | ConnState::Backoff => return,
            _ => {}
        }
        let unanswered = user.conn.unanswered_on_reuse();
        match user.conn.eof() {
            Ok(Some(Feed::Done { status, .. })) => {
                self.complete_checked(u, now, status);
                self.close(u);
                self.free(u, now);
            }
            Ok(_) => self.close(u), // an idle keep-alive connection closed: reconnect when needed
            Err(()) if unanswered && self.may_retry(u) => self.retry(u, now),
            Err(()) => {
                self.fail(
                    u,
                    now,
                    ErrorKind::ClosedEarly,
                    &"connection closed before the response was complete",
                );
                self.close(u);
                self.free(u, now);
            }
        }
    }

    /// An error of `kind` on `conn`: the connect failed, or a reset, a
    /// broken pipe, a TLS failure, ...
    ///
    /// The engine decides what it costs from the connection's state. While
    /// the connection is connecting (for https, until
    /// [`Engine::handle_connected_tls`]), it is a failed connect: counted
    /// as one, and the user backs off before trying again. Afterwards it
    /// fails the request in flight, if there is one, and closes the
    /// connection. A connection the engine has already given up on is left
    /// alone.
    ///
    /// The exception is SPEC §2's keep-alive race: a request written on a
    /// connection that had already carried a response, closed or reset
    /// before any byte came back for it. The server closed that connection
    /// while it was idle, as the request crossed, and never processed it.
    /// An idempotent request then goes once more on a new connection,
    /// keeping its due time, as Go's and hyper's clients send it again.
    /// It is not a failure but a retry ([`Stats::retries`]).
    pub fn handle_error(
        &mut self,
        conn: ConnId,
        now: Instant,
        kind: ErrorKind,
        message: &dyn fmt::Display,
    ) {
        if self.h2.is_some() {
            return self.h2_error(conn.0, now, kind, message);
        }
        let u = conn.0;
        let Some(user) = self.users.get(u) else {
            return;
        };
        match user.conn.state() {
            ConnState::Connecting => self.connect_failed(u, now, kind, message),
            ConnState::Disconnected | ConnState::Backoff => {}
            ConnState::Idle => {
                self.stats.note_example(kind, message);
                self.close(u);
            }
            ConnState::AwaitingHead if user.conn.unanswered_on_reuse() && self.may_retry(u) => {
                self.retry(u, now);
            }
            ConnState::AwaitingHead | ConnState::ReadingBody(_) => {
                self.fail(u, now, kind, message);
                self.close(u);
                self.free(u, now);
            }
        }
    }

    /// The run is to stop early, at the level `stop` (see [`Stop`]).
    ///
    /// [`Stop::Drain`] ends it as at its normal end: no new requests, and
    /// those in flight are awaited. A run that is already awaiting them at
    /// its end, or has not started yet, ends at once: the user asks for more
    /// than the end already does. [`Stop::Now`] ends it at once, counting
    /// the requests in flight as unfinished.
    ///
    /// A level no higher than one handed before changes nothing, so the
    /// driver may hand the level it sees without counting calls.
    pub fn handle_stop(&mut self, now: Instant, stop: Stop) {
        if self.stop >= Some(stop) {
            return;
        }
        self.stop = Some(stop);
        match self.phase {
            Phase::Warmup { .. } | Phase::Ready => self.finish(now, None),
            Phase::Running { .. } => {
                // Fixes what was scheduled and for how long, as at the end.
                self.begin_drain(now);
                if let (Stop::Now, Phase::Draining { t0, .. }) = (stop, self.phase) {
                    self.finish(now, Some(t0));
                }
            }
            Phase::Draining { t0, .. } => self.finish(now, Some(t0)),
            Phase::Finished => {}
        }
    }

    /// Timers due at `now` fire. Safe to call early or more than once.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(u) = self.connecting.pop_expired(now) {
            let limit = self.config.connect_timeout;
            if self.h2.is_some() {
                self.h2_connect_failed_timeout(u, now, limit);
                continue;
            }
            self.connect_failed(
                u,
                now,
                ErrorKind::ConnectTimeout,
                &format_args!("connect did not complete within {limit:?}"),
            );
        }
        while let Some(u) = self.responding.pop_expired(now) {
            let limit = self.config.timeout;
            if self.h2.is_some() {
                self.h2_timeout(u, now, limit);
                continue;
            }
            self.fail(
                u,
                now,
                ErrorKind::Timeout,
                &format_args!("no complete response within {limit:?}"),
            );
            self.close(u);
            self.free(u, now);
        }
        while let Some(&Reverse((at, u))) = self.backoff.peek() {
            if at > now {
                break;
            }
            self.backoff.pop();
            if self.h2.is_some() {
                self.h2_backoff_over(u, now);
                continue;
            }
            self.users[u].conn.backoff_over();
            self.lanes[self.users[u].origin].idle.push_back(u);
        }
        match self.phase {
            Phase::Running { end, .. } if now >= end => self.start_due(now),
            Phase::Draining { t0, until } if now >= until => self.finish(now, Some(t0)),
            _ => {}
        }
    }

    /// The next action for the driver, or `None` when there is nothing to do
    /// until the next handler call or [`Engine::poll_timeout`].
    ///
    /// Pass the time of the call: a send counts as sent when it is taken.
    pub fn poll_output(&mut self, now: Instant) -> Option<Output> {
        if self.outputs.is_empty() {
            self.start_due(now);
        }
        let out = self.outputs.pop_front();
        match out {
            Some(Output::Send(ConnId(s))) if self.h2.is_some() => self.h2_sending(s, now),
            Some(Output::Close(ConnId(s))) if self.h2.is_some() => self.h2_closed(s, now),
            Some(Output::Connect(ConnId(s))) if self.h2.is_some() => {
                self.h2_connecting_from(s, now)
            }
            Some(Output::Send(ConnId(u))) => self.sending(u, now),
            Some(Output::Connect(ConnId(u))) => self.connecting_from(u, now),
            _ => {}
        }
        out
    }

    /// When the engine next needs [`Engine::handle_timeout`], if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_wake().map(|(at, _)| at)
    }

    /// [`Engine::poll_timeout`] with the reason.
    pub fn next_wake(&self) -> Option<(Instant, Wake)> {
        let mut best: Option<(Instant, Wake)> = None;
        let mut consider = |at: Option<Instant>, why: Wake| {
            if let Some(at) = at {
                if best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, why));
                }
            }
        };
        consider(
            self.connecting.front().map(|(_, d)| d),
            Wake::ConnectTimeout,
        );
        consider(
            self.responding.front().map(|(_, d)| d),
            Wake::ResponseTimeout,
        );
        consider(self.backoff.peek().map(|Reverse((d, _))| *d), Wake::Backoff);
        match self.phase {
            Phase::Running { t0, end } => {
                consider(Some(end), Wake::End);
                if let Some(p) = &self.pacer {
                    for lane in self.lanes.iter().filter(|l| !l.idle.is_empty()) {
                        let at = t0 + p.intended(lane.cursor);
                        if at < end {
                            consider(Some(at), Wake::Send);
                        }
                    }
                }
            }
            Phase::Draining { until, .. } => consider(Some(until), Wake::DrainEnd),
            _ => {}
        }
        best
    }

    // ---- internals -------------------------------------------------------

    /// Hands every due request to a free user. Requests that fell due
    /// before the end still start if a user is free when the end is noticed
    /// (the wakeup may come a little late); none start after that.
    fn start_due(&mut self, now: Instant) {
        let Phase::Running { t0, end } = self.phase else {
            return;
        };
        loop {
            let quota = self.quota.unwrap_or(u64::MAX);
            if self.lanes.iter().all(|l| l.cursor >= quota) {
                self.stopped_by_limit = true;
                self.begin_drain(now);
                return;
            }
            // Of the lanes with a free user, the one whose next request is
            // due first.
            let Some(lane) = (0..self.lanes.len())
                .filter(|&l| !self.lanes[l].idle.is_empty() && self.lanes[l].cursor < quota)
                .min_by_key(|&l| self.lanes[l].cursor)
            else {
                break;
            };
            let k = self.lanes[lane].cursor;
            let intended = match &self.pacer {
                Some(p) => {
                    let at = t0 + p.intended(k);
                    if at > now || at >= end {
                        break;
                    }
                    at
                }
                None if now >= end => break,
                None => now,
            };
            let Some(u) = self.lanes[lane].idle.pop_front() else {
                break;
            };
            self.lanes[lane].cursor = self.next_of(lane, k + 1);
            self.take_target(u, k);
            self.next += 1;
            self.in_flight += 1;
            self.users[u].req = Some(InFlight {
                k,
                intended,
                sent: None,
                first_byte: None,
                bytes_in: 0,
                retried: false,
                status: 0,
                refusals: 0,
            });
            if self.h2.is_some() {
                self.h2_dispatch(u, now);
                continue;
            }
            match self.users[u].conn.state() {
                ConnState::Idle => self.send(u, now),
                _ => self.connect(u, now),
            }
        }
        if now >= end {
            self.begin_drain(now);
        }
    }

    fn connect(&mut self, u: usize, now: Instant) {
        let user = &mut self.users[u];
        user.conn.start_connect();
        user.connect_started = now;
        self.connecting
            .push_back(u, now + self.config.connect_timeout);
        self.outputs.push_back(Output::Connect(ConnId(u)));
    }

    fn send(&mut self, u: usize, now: Instant) {
        let user = &mut self.users[u];
        user.conn.send();
        user.found = 0;
        let Some(req) = &mut user.req else { return };
        // Provisional: `poll_output` sets the time the driver takes the
        // send, which is when it writes.
        req.sent = Some(now);
        self.responding.push_back(u, now + self.config.timeout);
        self.outputs.push_back(Output::Send(ConnId(u)));
    }

    /// The driver takes the connect of `u` at `now` and starts it at once:
    /// its connect time and timeout count from then. Thousands of users
    /// connecting together leave one after another, and on a busy port
    /// range a `connect` call can take long to find a free port; counted
    /// from when they were queued, the last ones timed out although each
    /// connected quickly.
    fn connecting_from(&mut self, u: usize, now: Instant) {
        let Some(user) = self.users.get_mut(u) else {
            return;
        };
        if user.conn.state() != ConnState::Connecting || now <= user.connect_started {
            return;
        }
        user.connect_started = now;
        self.connecting
            .push_back(u, now + self.config.connect_timeout);
    }

    /// The driver takes the send of `u` at `now` and writes it at once: that
    /// is its send time (the sends of one pass leave one after another, not
    /// all at the instant the pass began).
    ///
    /// A request's send lag is counted when it ends, from its last write:
    /// a retried request's lag is that of the write that got the answer.
    fn sending(&mut self, u: usize, now: Instant) {
        // The request may have ended since it was queued (the run finished
        // in the same pass); its bytes are written all the same.
        let retry = self
            .users
            .get_mut(u)
            .and_then(|user| user.req.as_mut())
            .is_some_and(|req| {
                req.sent = Some(req.sent.map_or(now, |queued| queued.max(now)));
                req.retried
            });
        let len = self.request_bytes(ConnId(u)).len();
        self.stats.record_write(!retry, len);
        if let Some(t) = self
            .users
            .get(u)
            .and_then(|user| self.stats.targets.get_mut(user.target))
        {
            t.sent += u64::from(!retry);
            t.bytes_out += len as u64;
        }
    }

    /// Request `k` of this engine goes to `u`: it takes its target from the
    /// mix, and a templated request is rendered into the user's buffer.
    fn take_target(&mut self, u: usize, k: u64) {
        let global = self.global_index(k);
        let t = self.requests.mix.pick(global);
        self.started[t] += 1;
        let user = &mut self.users[u];
        user.target = t;
        let template = &self.requests.targets[t].template;
        if template.is_templated() {
            let values = Values::new(global, self.requests.seed, self.requests.data.as_ref());
            template.render(&values, &mut self.scratch, &mut user.buf);
        }
    }

    /// This engine's first request index from `k` on that goes to origin
    /// `lane`, or
    /// `u64::MAX` when none does: the picks of this engine's indices
    /// repeat after one period of its share of the mix, and an engine that
    /// takes every `stride`-th request may never meet an origin (weights
    /// 1:1 over two threads give one thread every request of the first).
    fn next_of(&self, lane: usize, k: u64) -> u64 {
        if self.lanes.len() == 1 {
            return k;
        }
        let origins = &self.requests.origins;
        let period = self.requests.mix.period(self.config.stride);
        (k..k.saturating_add(period))
            .find(|&j| usize::from(origins[self.requests.mix.pick(self.global_index(j))]) == lane)
            .unwrap_or(u64::MAX)
    }

    /// The index in the whole run's schedule of this engine's request `k`.
    fn global_index(&self, k: u64) -> u64 {
        k.saturating_mul(self.config.stride)
            .saturating_add(self.config.phase)
    }

    /// Whether the request of `u`, having lost the keep-alive race, may go
    /// again: only once, and only if repeating it is harmless.
    fn may_retry(&self, u: usize) -> bool {
        let user = &self.users[u];
        self.requests.targets[user.target].template.is_idempotent()
            && user.req.is_some_and(|req| !req.retried)
    }

    /// Sends the request of `u` again on a new connection. It keeps its due
    /// time, so the reconnect counts in its latency; its service time, time
    /// to first byte and send lag are those of the new write.
    fn retry(&mut self, u: usize, now: Instant) {
        self.responding.remove(u);
        if let Some(req) = &mut self.users[u].req {
            req.retried = true;
            req.sent = None;
            req.first_byte = None;
            req.bytes_in = 0;
        }
        self.stats.retries += 1;
        self.close(u);
        self.connect(u, now);
    }

    fn connect_failed(
        &mut self,
        u: usize,
        now: Instant,
        kind: ErrorKind,
        message: &dyn fmt::Display,
    ) {
        self.connecting.remove(u);
        self.stats.connect_failures += 1;
        if self.users[u].req.is_some() {
            self.fail(u, now, kind, message);
        } else {
            self.stats.note_example(kind, message);
        }
        self.outputs.push_back(Output::Close(ConnId(u)));
        let user = &mut self.users[u];
        user.conn.back_off();
        user.failures = user.failures.saturating_add(1);
        self.backoff
            .push(Reverse((now + backoff_after(user.failures), u)));
        self.warmup_progress();
        self.finish_if_drained(now);
    }

    fn finish_if_drained(&mut self, now: Instant) {
        if let (Phase::Draining { t0, .. }, 0) = (self.phase, self.in_flight) {
            self.finish(now, Some(t0));
        }
    }

    fn warmup_progress(&mut self) {
        if let Phase::Warmup { pending } = &mut self.phase {
            *pending = pending.saturating_sub(1);
            if *pending == 0 {
                self.phase = Phase::Ready;
            }
        }
    }

    fn since_t0(&self, now: Instant) -> Duration {
        match self.phase {
            Phase::Running { t0, .. } | Phase::Draining { t0, .. } => {
                now.checked_duration_since(t0).unwrap_or_default()
            }
            _ => Duration::ZERO,
        }
    }

    fn complete(&mut self, u: usize, now: Instant, status: u16) {
        self.responding.remove(u);
        let Some(req) = self.users[u].req.take() else {
            return;
        };
        self.in_flight -= 1;
        self.record_send_lag(&req);
        let sent = req.sent.unwrap_or(req.intended);
        // A response cannot end before its request was written; a driver's
        // clock mapping that says otherwise is off by a little.
        let now = now.max(sent);
        let since = |t: Instant| now.checked_duration_since(t).unwrap_or_default();
        let ttfb = req
            .first_byte
            .unwrap_or(now)
            .checked_duration_since(sent)
            .unwrap_or_default();
        let (at, latency, service) = (self.since_t0(now), since(req.intended), since(sent));
        self.stats
            .record_response(at, status, latency, service, ttfb);
        if let Some(t) = self.stats.targets.get_mut(self.users[u].target) {
            t.record_response(at, status, latency, service, ttfb);
        }
        self.record(u, &req, now, Outcome::Completed(status));
    }

    /// A complete response: completed, unless its target expects another
    /// status or a body text it did not contain (SPEC §10's checks).
    fn complete_checked(&mut self, u: usize, now: Instant, status: u16) {
        let user = &self.users[u];
        let expect = &self.requests.targets[user.target].expect;
        if expect
            .status
            .as_ref()
            .is_some_and(|set| !set.contains(status))
        {
            self.fail(
                u,
                now,
                ErrorKind::UnexpectedStatus,
                &format_args!("status {status}, which the target does not expect"),
            );
        } else if let Some(needle) = expect.body.as_ref().filter(|n| !n.found(user.found)) {
            let text = String::from_utf8_lossy(needle.text()).into_owned();
            self.fail(
                u,
                now,
                ErrorKind::BodyMismatch,
                &format_args!("status {status}, and the body does not contain {text:?}"),
            );
        } else {
            self.complete(u, now, status);
        }
    }

    fn fail(&mut self, u: usize, now: Instant, kind: ErrorKind, message: &dyn fmt::Display) {
        self.responding.remove(u);
        if let Some(req) = self.users[u].req.take() {
            self.in_flight -= 1;
            self.record_send_lag(&req);
            let at = self.since_t0(now);
            self.stats.record_failure(at, kind, message);
            if let Some(t) = self.stats.targets.get_mut(self.users[u].target) {
                t.record_failure(at, kind);
            }
            self.record(u, &req, now, Outcome::Failed(kind));
        }
    }

    /// How late the request's last write left after it was due, if it was
    /// written.
    fn record_send_lag(&mut self, req: &InFlight) {
        if let Some(sent) = req.sent {
            let lag = sent
                .checked_duration_since(req.intended)
                .unwrap_or_default();
            self.stats.record_send_lag(lag);
        }
    }

    fn record(&mut self, u: usize, req: &InFlight, now: Instant, outcome: Outcome) {
        if !self.config.record_requests {
            return;
        }
        let (Phase::Running { t0, .. } | Phase::Draining { t0, .. }) = self.phase else {
            return;
        };
        let since = |t: Instant| t.checked_duration_since(t0).unwrap_or_default();
        let index = self.global_index(req.k);
        let target = self.users[u].target as u32;
        self.records.push_back(RequestRecord {
            target,
            index,
            intended: since(req.intended),
            sent: req.sent.map(since),
            done: since(now),
            bytes_in: req.bytes_in,
            outcome,
        });
    }

    /// The next [`RequestRecord`], in the order requests ended, when
    /// [`Config::record_requests`] is on. Drain it after each batch of
    /// handler calls; it holds only what ended since.
    pub fn poll_record(&mut self) -> Option<RequestRecord> {
        self.records.pop_front()
    }

    /// Drops the socket of `u`; the user reconnects for its next request.
    fn close(&mut self, u: usize) {
        self.connecting.remove(u);
        self.users[u].conn.close();
        self.outputs.push_back(Output::Close(ConnId(u)));
    }

    /// `u` finished its request; it is free for the next one.
    fn free(&mut self, u: usize, now: Instant) {
        if self.users[u].conn.state() == ConnState::Backoff {
            return;
        }
        self.lanes[self.users[u].origin].idle.push_back(u);
        self.finish_if_drained(now);
    }

    fn begin_drain(&mut self, now: Instant) {
        let Phase::Running { t0, end } = self.phase else {
            return;
        };
        let stop = now.min(end);
        let window = stop.checked_duration_since(t0).unwrap_or_default();
        // Request indices below `due` were scheduled; without pacing, only
        // those that started were, and nothing waits.
        let due = match &self.pacer {
            Some(p) => p.count_before(window),
            None => 0,
        };
        let due = self.quota.map_or(due, |limit| due.min(limit));
        // Each origin's backlog: its requests from its cursor until `due`.
        let mut unsent = vec![0; self.requests.len()];
        let (stride, phase) = (self.config.stride, self.config.phase);
        for (o, lane) in self.lanes.iter().enumerate() {
            let mut counts = vec![0; self.requests.len()];
            self.requests.mix.count(
                lane.cursor..due.max(lane.cursor),
                stride,
                phase,
                &mut counts,
            );
            for (t, n) in counts.into_iter().enumerate() {
                if usize::from(self.requests.origins[t]) == o {
                    unsent[t] += n;
                }
            }
        }
        self.stats.unsent = unsent.iter().sum();
        self.stats.scheduled = self.next + self.stats.unsent;
        for ((t, n), started) in self.stats.targets.iter_mut().zip(unsent).zip(&self.started) {
            t.unsent = n;
            t.scheduled = started + n;
        }
        self.stats.duration = window;
        let wait = self.config.timeout.min(MAX_DRAIN);
        self.phase = Phase::Draining {
            t0,
            until: now + wait,
        };
        if self.in_flight == 0 {
            self.finish(now, Some(t0));
        }
    }

    fn finish(&mut self, now: Instant, t0: Option<Instant>) {
        if let (Some(t0), true) = (t0, self.stopped_by_limit) {
            // Stopped by --requests: the run lasted until its last response.
            self.stats.duration = now.checked_duration_since(t0).unwrap_or_default();
        }
        for u in 0..self.users.len() {
            if let Some(req) = self.users[u].req.take() {
                self.stats.unfinished += 1;
                if let Some(t) = self.stats.targets.get_mut(self.users[u].target) {
                    t.unfinished += 1;
                }
                self.record_send_lag(&req);
                self.record(u, &req, now, Outcome::Unfinished);
            }
            self.responding.remove(u);
            self.connecting.remove(u);
            if !matches!(
                self.users[u].conn.state(),
                ConnState::Disconnected | ConnState::Backoff
            ) {
                self.close(u);
            }
        }
        self.h2_finish();
        self.in_flight = 0;
        for lane in &mut self.lanes {
            lane.idle.clear();
        }
        self.backoff.clear();
        self.stats.finish();
        self.phase = Phase::Finished;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_divides_users_and_requests_exactly() {
        let mut plan = Config::new(10, Rate::Max);
        plan.max_requests = Some(100);
        let parts = plan.split(3);
        assert_eq!(parts.iter().map(|c| c.users).collect::<Vec<_>>(), [4, 3, 3]);
        assert_eq!(
            parts
                .iter()
                .map(|c| (c.stride, c.phase))
                .collect::<Vec<_>>(),
            [(3, 0), (3, 1), (3, 2)]
        );
        assert_eq!(
            parts
                .iter()
                .map(|c| c.request_quota().unwrap())
                .sum::<u64>(),
            100
        );
        // Splitting a split (shards, then threads) keeps the global schedule.
        let nested: Vec<_> = parts.iter().flat_map(|c| c.split(2)).collect();
        let mut phases: Vec<_> = nested.iter().map(|c| c.phase).collect();
        phases.sort();
        assert_eq!(phases, [0, 1, 2, 3, 4, 5]);
        assert!(nested.iter().all(|c| c.stride == 6));
        assert_eq!(
            nested
                .iter()
                .map(|c| c.request_quota().unwrap())
                .sum::<u64>(),
            100
        );
        // Never more engines than users.
        assert_eq!(Config::new(2, Rate::Max).split(8).len(), 2);
    }
}
