//! The mio loop of one thread: the only place that reads the clock (with
//! the send timer, which counts its delay from a fresh reading).

use std::io;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Events, Poll, Token, Waker};
use volley_core::{ConnId, Engine, Output, RequestRecord, Stats, Wake};

use crate::Origin;
use crate::control::{Control, StartGate};
use crate::endpoint::{Attempt, Route};
use crate::error::{Failure, SetupError};
use crate::published::Snapshot;
use crate::read::{ReadEvent, ReadOutcome};
use crate::sleep::{self, Sleep};
use crate::socket::{ConnectCheck, Socket};
use crate::stamp::Clocks;
use crate::stream::Stream;
use crate::timer::PreciseTimer;
use crate::tls::Tls;

/// Token of the waker that interrupts the poll for a stop.
const WAKER: Token = Token(usize::MAX);
/// Token of the precise send timer.
const TIMER: Token = Token(usize::MAX - 1);
/// Size of the shared read buffer.
const READ_BUF: usize = 64 * 1024;
/// Most reads from one socket per readiness event, so that one fast socket
/// cannot starve the others (quinn's `MAX_TRANSMIT_DATAGRAMS` idea).
const MAX_READS_PER_EVENT: usize = 16;

/// Records per batch sent to the log writer.
pub(crate) const LOG_BATCH: usize = 1024;

/// How often a watched loop publishes a snapshot at most (more often only
/// when a second of the timeline closes). Taking one walks two HDR
/// histograms, which is cheap a few times a second and would not be per
/// request.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(250);

/// When a watched loop publishes its next snapshot.
struct Watch {
    t0: Instant,
    next: Instant,
    /// Timeline rows when the last one was taken.
    rows: usize,
    /// The words of a snapshot, kept to take the next one without allocating.
    scratch: Vec<u64>,
}

/// Collects the engine's request records and hands them to the log writer
/// in batches. The channel is bounded: if the writer falls behind, the loop
/// waits for it rather than letting memory grow.
pub(crate) struct LogSink {
    batch: Vec<RequestRecord>,
    tx: SyncSender<Vec<RequestRecord>>,
}

impl LogSink {
    pub(crate) fn new(tx: SyncSender<Vec<RequestRecord>>) -> Self {
        Self {
            batch: Vec::with_capacity(LOG_BATCH),
            tx,
        }
    }

    fn take(&mut self, engine: &mut Engine) {
        while let Some(r) = engine.poll_record() {
            self.batch.push(r);
            if self.batch.len() >= LOG_BATCH {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(LOG_BATCH));
            // A writer that has gone away (its file failed) drops the log,
            // never the run.
            let _ = self.tx.send(full);
        }
    }
}

/// One thread's loop.
///
/// Waking a sleeping thread is the dearest thing a paced client does, and a
/// naive loop wakes twice per request: for the send and for the response.
/// Since a response's time comes from the kernel's stamp, reading it can
/// wait. So while the next thing due is a send, soon, with a user free for
/// it, the loop sleeps on `quiet`, which holds only the send timer and a
/// waker; on waking it collects what the sockets reported meanwhile from
/// `poll`, without sleeping, and handles closes, then the sends, then the
/// responses. Otherwise (connects, all users busy, the end) it sleeps on
/// `poll`, which holds the sockets too. [`sleep::choose`] decides which.
pub(crate) struct EventLoop {
    poll: Poll,
    quiet: Poll,
    /// Sockets that had unwritten bytes when last written (may hold ids
    /// that have since flushed or closed; pruned before deciding to sleep
    /// on `quiet`).
    unflushed: Vec<usize>,
    /// Sockets whose last read pass stopped at [`MAX_READS_PER_EVENT`]
    /// with more to read: with edge-triggered readiness no new event would
    /// come for what is already there, so the loop reads them again on its
    /// next pass, without sleeping.
    unread: Vec<usize>,
    timer: PreciseTimer,
    engine: Engine,
    sockets: Vec<Socket>,
    /// Where each origin's connections go, and its TLS (SPEC §10: the
    /// targets may name several origins; a user connects to its own).
    routes: Vec<Route>,
    tls: Vec<Option<Tls>>,
    buf: Box<[u8]>,
    control: Arc<Control>,
    index: usize,
    log: Option<LogSink>,
    /// Set at the start when someone watches the run live.
    watch: Option<Watch>,
}

impl EventLoop {
    pub(crate) fn new(
        engine: Engine,
        users: usize,
        origins: Vec<Origin>,
        control: Arc<Control>,
        index: usize,
        log: Option<LogSink>,
    ) -> Result<Self, SetupError> {
        let poll = Poll::new().map_err(SetupError::Poll)?;
        let quiet = Poll::new().map_err(SetupError::Poll)?;
        for p in [&poll, &quiet] {
            control.add_waker(Waker::new(p.registry(), WAKER).map_err(SetupError::Poll)?);
        }
        let timer = PreciseTimer::new(&[poll.registry(), quiet.registry()], TIMER)
            .map_err(SetupError::Poll)?;
        Ok(Self {
            poll,
            quiet,
            unflushed: Vec::new(),
            unread: Vec::new(),
            timer,
            engine,
            sockets: (0..users).map(|_| Socket::default()).collect(),
            routes: origins
                .iter()
                .map(|o| Route::new(o.endpoint.clone()))
                .collect(),
            tls: origins.into_iter().map(|o| o.tls).collect(),
            buf: vec![0; READ_BUF].into_boxed_slice(),
            control,
            index,
            log,
            watch: None,
        })
    }

    /// Runs until the engine has finished; returns its statistics.
    pub(crate) fn run(mut self, gate: &StartGate) -> io::Result<Stats> {
        // A local, so that handling an event can borrow `self` mutably.
        let mut events = Events::with_capacity(1024);
        let mut started = false;
        let mut stop_seen = None;
        loop {
            let now = Instant::now();
            self.engine.handle_timeout(now);
            self.drain();
            if self.engine.is_finished() {
                break;
            }
            // The level, not a count of calls: two stops that came while the
            // loop was busy are still two.
            let stop = self.control.stop_level();
            if let Some(level) = stop.filter(|_| stop > stop_seen) {
                stop_seen = stop;
                self.engine.handle_stop(now, level);
                continue;
            }
            if !started && self.engine.is_ready() {
                started = true;
                let t0 = gate.arrive(&self.control);
                self.control.live(self.index).set_started();
                self.engine.handle_start(t0);
                if self.control.is_watched() {
                    self.watch = Some(Watch {
                        t0,
                        next: t0,
                        rows: 0,
                        scratch: Vec::new(),
                    });
                }
                continue;
            }
            // mio rounds the timeout up to whole milliseconds; a send must
            // not wait that long, so its exact instant goes to the timerfd
            // (the rounded timeout stays as a backstop).
            let wake = self.engine.next_wake();
            if let Some((at, Wake::Send)) = wake {
                self.timer.arm(at)?;
            }
            let busy = self.is_busy();
            // A watched loop wakes for its snapshots even when idle.
            let snapshot_due = self
                .watch
                .as_ref()
                .map(|w| w.next.saturating_duration_since(now));
            // Sockets with more to read: look at the others without
            // sleeping, then read on.
            let unread_due = (!self.unread.is_empty()).then_some(Duration::ZERO);
            match sleep::choose(wake, now, busy)
                .at_most(snapshot_due)
                .at_most(unread_due)
            {
                Sleep::Quiet(timeout) => {
                    poll_once(&mut self.quiet, &mut events, Some(timeout))?;
                    // Woken for the send (or a stop). Collect, without
                    // sleeping, what the sockets reported meanwhile. Closes
                    // and errors go first, so that no request is written
                    // into a connection the server has closed; then the
                    // sends that are due; then the responses, whose times
                    // the kernel's stamps keep.
                    poll_once(&mut self.poll, &mut events, Some(Duration::ZERO))?;
                    let clocks = Clocks::read();
                    let ends = |e: &Event| e.is_read_closed() || e.is_error();
                    for event in events.iter().filter(|e| ends(e)) {
                        self.dispatch(event, clocks);
                    }
                    // (Timeouts wait for the loop's next pass: a response
                    // that came in just before its deadline is among the
                    // events.)
                    self.drain();
                    for event in events.iter().filter(|e| !ends(e)) {
                        self.dispatch(event, clocks);
                    }
                }
                Sleep::Watch(timeout) => {
                    poll_once(&mut self.poll, &mut events, timeout)?;
                    let clocks = Clocks::read();
                    for event in events.iter() {
                        self.dispatch(event, clocks);
                    }
                }
            }
            if !self.unread.is_empty() {
                let clocks = Clocks::read();
                for id in std::mem::take(&mut self.unread) {
                    if self.sockets[id].is_open() && !self.sockets[id].is_connecting() {
                        self.read(id, clocks, false);
                        self.note_unflushed(id);
                    }
                }
            }
            self.publish();
        }
        if !started {
            // Finished before the start (stopped during connect): let the
            // other threads go on.
            gate.arrive(&self.control);
        }
        self.publish();
        let mut stats = self.engine.into_stats();
        stats.destinations = self.routes.iter().flat_map(Route::opened).collect();
        Ok(stats)
    }

    /// The origin the slot `id` connects to.
    fn origin(&self, id: usize) -> usize {
        self.engine.origin_of(ConnId(id)).min(self.routes.len() - 1)
    }

    /// Hands one readiness event to the timer or to its socket.
    fn dispatch(&mut self, event: &Event, clocks: Clocks) {
        match event.token() {
            WAKER => {}
            TIMER => self.timer.fired(),
            Token(id) => {
                let closed = event.is_read_closed();
                let error = event.is_error();
                let readable = event.is_readable() || closed || error;
                self.on_event(id, clocks, readable, event.is_writable() || error, closed);
            }
        }
    }

    /// Whether a socket waits on its readiness to make progress: a
    /// connect, a TLS handshake, a request still being written (see
    /// [`sleep::choose`]).
    ///
    /// Under HTTP/2 the loop is always busy: the responses of many streams
    /// share one socket, and a read stamps all it takes with the arrival
    /// of its last segment, so reading them only at the next send would
    /// make every response in that read as late as the last one.
    fn is_busy(&mut self) -> bool {
        if self.engine.is_connecting() || self.engine.is_http2() {
            return true;
        }
        let sockets = &self.sockets;
        self.unflushed.retain(|&id| sockets[id].has_pending());
        !self.unflushed.is_empty()
    }

    /// Remembers `id` if it has bytes waiting for the socket to take them.
    fn note_unflushed(&mut self, id: usize) {
        if self.sockets[id].has_pending() && !self.unflushed.contains(&id) {
            self.unflushed.push(id);
        }
    }

    /// Acts on every output the engine has queued. The clock is read for
    /// each: a request's send time is when it is written, not when the pass
    /// began (at a high rate a pass may have several to write).
    fn drain(&mut self) {
        loop {
            let now = Instant::now();
            let Some(out) = self.engine.poll_output(now) else {
                break;
            };
            match out {
                Output::Connect(ConnId(id)) => {
                    // An HTTP/2 engine takes another slot when its
                    // connections drain slowly.
                    if id >= self.sockets.len() {
                        self.sockets.resize_with(id + 1, Socket::default);
                    }
                    let opened = self.routes[self.origin(id)].open(id);
                    self.start_connect(id, now, opened);
                }
                Output::Send(ConnId(id)) if self.engine.is_http2() => {
                    let socket = &mut self.sockets[id];
                    self.engine.take_bytes(ConnId(id), socket.tail_mut());
                    match socket.send_tail() {
                        Ok(()) => self.note_unflushed(id),
                        Err(e) => self.report(id, now, &Failure::Io(e)),
                    }
                }
                Output::Send(ConnId(id)) => {
                    match self.sockets[id].send(self.engine.request_bytes(ConnId(id))) {
                        Ok(()) => self.note_unflushed(id),
                        Err(e) => self.report(id, now, &Failure::Io(e)),
                    }
                }
                Output::Close(ConnId(id)) => {
                    // A connect the engine gives up on has timed out: later
                    // connects go to the next destination, if there is one.
                    if self.sockets[id].is_connecting() {
                        let origin = self.origin(id);
                        self.routes[origin].failed(self.sockets[id].attempt());
                    }
                    self.sockets[id].close();
                }
            }
        }
    }

    /// Puts the connect `opened` (started for the slot `id`) in its slot.
    /// When the destination refuses at once, the same attempt goes on to
    /// the next destination it has not tried; when none is left, the
    /// engine hears of the failure.
    fn start_connect(
        &mut self,
        id: usize,
        now: Instant,
        (mut attempt, mut opened): (Attempt, io::Result<Stream>),
    ) {
        let origin = self.origin(id);
        loop {
            let result = opened.and_then(|stream| {
                self.sockets[id].connect(
                    self.poll.registry(),
                    Token(id),
                    (stream, attempt),
                    self.tls[origin].as_ref(),
                )
            });
            let Err(e) = result else { return };
            self.sockets[id].close();
            if e.kind() == io::ErrorKind::ConnectionRefused {
                // The attempt of this connect, not the slot's: a refusal
                // before the stream exists leaves the slot's last one.
                self.routes[origin].failed(attempt);
                if let Some(next) = self.routes[origin].retry(id, attempt) {
                    (attempt, opened) = next;
                    continue;
                }
            }
            self.report(id, now, &Failure::Connect(e));
            return;
        }
    }

    fn on_event(
        &mut self,
        id: usize,
        clocks: Clocks,
        readable: bool,
        writable: bool,
        read_closed: bool,
    ) {
        let now = clocks.now;
        let origin = self.origin(id);
        // Sporadic events for slots we do not know or no longer use happen.
        let Some(socket) = self.sockets.get_mut(id) else {
            return;
        };
        if !socket.is_open() {
            return;
        }
        if socket.is_connecting() {
            let attempt = socket.attempt();
            match socket.check_connect(now) {
                ConnectCheck::Pending => return,
                ConnectCheck::Connected => {
                    self.routes[origin].connected(attempt);
                    self.engine.handle_connected(ConnId(id), now);
                }
                // The engine hears of it when the handshake is done.
                ConnectCheck::Handshaking => self.routes[origin].connected(attempt),
                ConnectCheck::Failed(Failure::Connect(e))
                    if e.kind() == io::ErrorKind::ConnectionRefused =>
                {
                    socket.close();
                    self.routes[origin].failed(attempt);
                    match self.routes[origin].retry(id, attempt) {
                        Some(next) => self.start_connect(id, now, next),
                        None => self.report(id, now, &Failure::Connect(e)),
                    }
                    return;
                }
                ConnectCheck::Failed(failure) => {
                    socket.close();
                    self.report(id, now, &failure);
                    return;
                }
            }
        }
        let socket = &mut self.sockets[id];
        if writable && socket.has_pending() {
            if let Err(e) = socket.flush(self.engine.request_bytes(ConnId(id))) {
                self.report(id, now, &Failure::Io(e));
                return;
            }
        }
        if readable {
            self.read(id, clocks, read_closed);
        }
        // Connecting, a TLS handshake and TLS reads can leave records to send.
        self.note_unflushed(id);
    }

    /// Reads until the socket would block, it closes, or the per-event cap.
    ///
    /// Data counts as arrived when the kernel stamped it, which is earlier
    /// than `now` by however long the loop took to wake and get to it.
    fn read(&mut self, id: usize, clocks: Clocks, read_closed: bool) {
        let conn = ConnId(id);
        let now = clocks.now;
        for pass in 1..=MAX_READS_PER_EVENT {
            let engine = &mut self.engine;
            let mut not_h2 = false;
            let mut on = |event: ReadEvent<'_>| match event {
                ReadEvent::Handshaken { h2: false, .. } if engine.is_http2() => not_h2 = true,
                ReadEvent::Handshaken {
                    started, resumed, ..
                } => engine.handle_connected_tls(conn, now, started, resumed),
                ReadEvent::Data { bytes, arrived } => {
                    engine.handle_data(conn, clocks.arrival(arrived), bytes)
                }
            };
            let outcome = self.sockets[id].read(&mut self.buf, &mut on);
            if not_h2 {
                if let Some(tls) = &self.tls[self.origin(id)] {
                    self.control.fail(tls.not_h2_message());
                }
                self.sockets[id].close();
                self.engine.handle_error(
                    conn,
                    now,
                    volley_core::ErrorKind::Tls,
                    &"the server did not select HTTP/2 (ALPN h2)",
                );
                return;
            }
            match outcome {
                // A short read drained the socket: with edge-triggered
                // readiness, later data raises a new event, so skip the
                // read that would only say WouldBlock. Unless the peer also
                // closed: then read on to see the EOF.
                ReadOutcome::Short if !read_closed => return,
                ReadOutcome::Short | ReadOutcome::More if pass == MAX_READS_PER_EVENT => {
                    if !self.unread.contains(&id) {
                        self.unread.push(id);
                    }
                }
                ReadOutcome::Short | ReadOutcome::More => {}
                ReadOutcome::WouldBlock => return,
                ReadOutcome::Eof => {
                    self.engine.handle_eof(conn, now);
                    self.sockets[id].close();
                    return;
                }
                ReadOutcome::Failed(failure) => {
                    self.report(id, now, &failure);
                    self.sockets[id].close();
                    return;
                }
            }
        }
    }

    /// Tells the engine that the connection of `id` failed; it decides what
    /// that costs (a connect, a request, nothing). A rejected certificate,
    /// which every connection would meet, also ends the run.
    fn report(&mut self, id: usize, now: Instant, failure: &Failure) {
        if let (Failure::Tls(e), Some(tls)) = (failure, &self.tls[self.origin(id)]) {
            if let Some(message) = tls.fatal_message(e) {
                self.control.fail(message);
            }
        }
        self.engine
            .handle_error(ConnId(id), now, failure.kind(), failure);
    }

    /// Copies the live counters for the progress line, passes finished
    /// requests to the log and, when someone watches, publishes a snapshot.
    fn publish(&mut self) {
        if let Some(log) = &mut self.log {
            log.take(&mut self.engine);
            if self.engine.is_finished() {
                log.flush();
            }
        }
        let s = self.engine.stats();
        // A server that asked for a client certificate, got none and
        // answers 400 refuses every request alike: one line, not a report.
        if s.status(400) > 0 {
            if let Some(message) = self.tls.iter().flatten().find_map(Tls::missing_client_cert) {
                self.control.fail(message);
            }
        }
        let p99 = s.last_second().map_or(0, |r| r.p99_us);
        self.control.live(self.index).publish(
            s.sent,
            s.completed,
            s.failed,
            self.engine.in_flight() as u64,
            p99,
        );
        self.publish_snapshot();
    }

    /// For the live views, when someone watches: a snapshot every
    /// [`SNAPSHOT_EVERY`], at each second's end, as soon as a second's row
    /// has closed, and the final one.
    fn publish_snapshot(&mut self) {
        let Some(w) = &mut self.watch else {
            return;
        };
        let finished = self.engine.is_finished();
        let now = Instant::now();
        if !finished && now < w.next && self.engine.stats().timeline.len() == w.rows {
            return;
        }
        // A loop with nothing ending would otherwise leave its second open
        // until the next request ends.
        self.engine.roll_timeline(now);
        let elapsed = now.saturating_duration_since(w.t0);
        let stats = self.engine.stats();
        let snapshot = Snapshot::of(
            stats,
            self.engine.in_flight() as u64,
            elapsed,
            finished,
            self.control.status_slots(),
        );
        w.rows = stats.timeline.len();
        let second_end = w.t0 + Duration::from_secs(elapsed.as_secs() + 1);
        w.next = (now + SNAPSHOT_EVERY).min(second_end);
        self.control
            .published_of(self.index)
            .write(&snapshot, &mut w.scratch);
    }
}

/// One wait on `poll`; a signal interrupting it counts as a wakeup.
fn poll_once(poll: &mut Poll, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
    match poll.poll(events, timeout) {
        Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
        _ => Ok(()),
    }
}
