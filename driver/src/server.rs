//! The built-in HTTP/1.1 target behind `volley serve`.
//!
//! One thread, one mio `Poll`, edge-triggered, after mio's `tcp_server.rs`:
//! `Token(0)` is the listener, `Token(usize::MAX)` the shutdown waker, and
//! `Token(slot + 1)` indexes a `Slab<Conn>`. Each connection is registered once for
//! READABLE | WRITABLE and never reregistered; every event on it runs one
//! `Conn::drive`, which parses buffered requests, flushes the output buffer
//! and reads until `WouldBlock`, in a loop.
//!
//! Responses are rendered once per status at startup; answering a request
//! copies those bytes into the connection's output buffer, so the hot path
//! allocates nothing. With a delay, the answer is queued instead: the delay
//! is the same for every request, so one `VecDeque` in arrival order is also
//! sorted by due time, and its front is the poll timeout. Queue entries carry
//! the slot's generation, so answers for connections that closed meanwhile
//! are dropped. A connection the server closes is shut down for writing and
//! drained for up to [`LINGER`], so the client's unread data cannot turn the
//! close into a reset that destroys the last response (nginx's lingering
//! close).
//!
//! Request bodies are framed by Content-Length and skipped;
//! `Transfer-Encoding` request bodies are not supported and get `501` and a
//! close. Every status in the mix is chosen by smooth weighted round-robin,
//! so `200:3,500:1` answers 200, 200, 500, 200, again and again.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use volley_core::response::{parse_decimal, trim};

/// Most header fields accepted in one request head; more get `431`.
pub const MAX_HEADERS: usize = 64;
/// Largest request head accepted, in bytes; larger gets `431`.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long a connection the server closes is drained before it is dropped.
pub const LINGER: Duration = Duration::from_secs(2);

const LISTENER: Token = Token(0);
/// The token of the shutdown waker.
const WAKER: Token = Token(usize::MAX);
/// Initial read buffer; it grows up to [`MAX_HEAD_BYTES`] for large heads.
const READ_BUF: usize = 4096;
/// Stop parsing requests while this many response bytes wait to be written.
const OUT_HIGH: usize = 256 * 1024;
/// Stop parsing requests while this many delayed answers wait on one connection.
const MAX_QUEUED: usize = 4096;
/// Reads per connection per wakeup before other connections get their turn.
const READS_PER_DRIVE: u32 = 16;
/// The longest accepted `delay`, so that `now + delay` cannot overflow.
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// How the built-in target answers.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Every response is held this long after its request head arrived
    /// (zero: answer immediately). At most 24 hours.
    pub delay: Duration,
    /// Weighted status mix, e.g. `[(200, 95), (500, 5)]`, spread evenly and
    /// deterministically (smooth weighted round-robin), never at random.
    pub statuses: Vec<(u16, u32)>,
    /// Bytes of body in every response.
    pub body_size: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            delay: Duration::ZERO,
            statuses: vec![(200, 1)],
            body_size: 64,
        }
    }
}

/// What a server did, returned by [`Server::run`] when it shuts down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServeStats {
    /// Connections accepted.
    pub connections: u64,
    /// Request heads received (including ones answered with an error status,
    /// but not unparseable ones).
    pub requests: u64,
    /// Responses handed to a connection's output buffer, error responses
    /// included; an answer whose connection closed during its delay is not
    /// counted.
    pub responses: u64,
}

/// Parses a status mix such as `200:95,500:5`; a bare `200` has weight 1.
///
/// Statuses must be 100 to 599 and not 101; weights must be at least 1.
pub fn parse_status_mix(s: &str) -> Result<Vec<(u16, u32)>, String> {
    const FORM: &str = "expected status[:weight],... such as 200:95,500:5";
    if s.trim().is_empty() {
        return Err(format!("empty status mix: {FORM}"));
    }
    let mut mix = Vec::new();
    for item in s.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!("empty item in status mix '{s}': {FORM}"));
        }
        let (status, weight) = match item.split_once(':') {
            Some((status, weight)) => (status.trim(), Some(weight.trim())),
            None => (item, None),
        };
        let status = match status.parse::<u16>() {
            Ok(n) if valid_status(n) => n,
            _ => {
                return Err(format!(
                    "invalid status '{status}' in status mix: expected a number from 100 to 599, \
                     not 101"
                ));
            }
        };
        let weight = match weight.map(str::parse::<u32>) {
            None => 1,
            Some(Ok(w)) if w >= 1 => w,
            Some(_) => {
                let w = weight.unwrap_or_default();
                return Err(format!(
                    "invalid weight '{w}' for status {status} in status mix: expected a whole \
                     number from 1 to {}",
                    u32::MAX
                ));
            }
        };
        mix.push((status, weight));
    }
    Ok(mix)
}

/// Listen backlog asked for; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: libc::c_int = 65_535;

/// Raises the listen backlog from mio's 128 (std's value) to [`BACKLOG`]
/// (Linux applies a second `listen` on a listening socket). A client that
/// opens thousands of connections at once (volley's users, before `t0`)
/// otherwise overflows the accept queue: Linux then drops the handshake's
/// last ACK (or answers with SYN cookies it cannot honour), and the client
/// holds connections the server has not accepted. Best effort.
fn raise_backlog(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: `listen` on a socket descriptor that `listener` owns.
    let _ = unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) };
}

fn valid_status(n: u16) -> bool {
    (100..=599).contains(&n) && n != 101
}

/// A bound HTTP/1.1 target that serves once [`run`](Self::run) is called.
#[derive(Debug)]
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    local_addr: SocketAddr,
    handle: ShutdownHandle,
    conns: Slab<Conn>,
    shared: Shared,
}

/// Makes a running [`Server::run`] return promptly; cheap to clone and usable
/// from any thread.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
}

impl ShutdownHandle {
    /// Asks the server to stop; `run` returns at its next wakeup, which this
    /// call triggers. Calling it again, or after the server stopped, is harmless.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        // An error means the poll is gone, so the server has stopped already.
        let _ = self.waker.wake();
    }

    fn requested(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// A server running on its own thread, from [`Server::spawn`].
///
/// Dropping it shuts the server down and joins the thread.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<ServeStats>>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that shuts the server down.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Shuts the server down, waits for its thread and returns its stats,
    /// or the error that ended it.
    pub fn stop(mut self) -> io::Result<ServeStats> {
        self.join()
            .unwrap_or_else(|| Err(io::Error::other("volley serve thread panicked")))
    }

    /// Shuts down and joins; `None` if the thread panicked (or was joined).
    fn join(&mut self) -> Option<io::Result<ServeStats>> {
        self.handle.shutdown();
        self.thread.take()?.join().ok()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

impl Server {
    /// Binds the listener and returns without serving yet.
    ///
    /// Fails if the address cannot be bound (in use, not local, ...) or the
    /// config is invalid: an empty status mix, a status outside 100..=599 or
    /// 101, a zero weight, or a delay over 24 hours (`InvalidInput`).
    pub fn bind(config: ServeConfig) -> io::Result<Self> {
        if config.statuses.is_empty() {
            return Err(invalid("status mix is empty"));
        }
        for &(status, weight) in &config.statuses {
            if !valid_status(status) || weight == 0 {
                return Err(invalid(&format!(
                    "invalid status mix entry {status}:{weight}: expected a status from 100 to \
                     599 (not 101) with a weight of at least 1"
                )));
            }
        }
        if config.delay > MAX_DELAY {
            return Err(invalid("delay longer than 24 hours"));
        }
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(config.listen)?;
        raise_backlog(&listener);
        let local_addr = listener.local_addr()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let handle = ShutdownHandle {
            waker,
            stop: Arc::new(AtomicBool::new(false)),
        };
        Ok(Self {
            poll,
            listener,
            local_addr,
            handle,
            conns: Slab::new(),
            shared: Shared {
                responses: Responses::render(&config.statuses, config.body_size),
                picker: Picker::new(&config.statuses),
                delay: config.delay,
                delayed: VecDeque::new(),
                lingering: VecDeque::new(),
                dirty: Vec::new(),
                again: Vec::new(),
                next_gen: 0,
                stats: ServeStats::default(),
            },
        })
    }

    /// The address the listener is bound to (with the real port if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that makes [`run`](Self::run) return promptly, from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Binds, then runs the server on a new thread; the returned guard stops it.
    pub fn spawn(config: ServeConfig) -> io::Result<RunningServer> {
        let server = Self::bind(config)?;
        let addr = server.local_addr();
        let handle = server.shutdown_handle();
        let thread = std::thread::Builder::new()
            .name("volley-serve".into())
            .spawn(move || server.run())?;
        Ok(RunningServer {
            addr,
            handle,
            thread: Some(thread),
        })
    }

    /// Serves until shut down, on the calling thread, with one mio `Poll`.
    ///
    /// Errors only if polling itself fails; a failing connection is closed
    /// and the others carry on.
    pub fn run(mut self) -> io::Result<ServeStats> {
        let mut events = Events::with_capacity(1024);
        loop {
            if self.handle.requested() {
                return Ok(self.shared.stats);
            }
            let timeout = self.shared.poll_timeout(Instant::now());
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // Read after waking: a request read now arrived no later than this.
            let now = Instant::now();
            for event in &events {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(t) => self.drive(t.wrapping_sub(1), now),
                }
            }
            self.retry(now);
            self.expire(now);
        }
    }

    /// Accepts until `WouldBlock`. Another error (such as running out of
    /// file descriptors) stops this round; the next connection retries.
    fn accept(&mut self) {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    continue;
                }
                Err(_) => return,
            };
            // Without NODELAY only latency suffers, so an error is not fatal.
            let _ = stream.set_nodelay(true);
            let entry = self.conns.vacant_entry();
            let slot = entry.key();
            let token = Token(slot.wrapping_add(1));
            if self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_err()
            {
                continue;
            }
            self.shared.next_gen = self.shared.next_gen.wrapping_add(1);
            entry.insert(Conn::new(stream, slot, self.shared.next_gen));
            self.shared.stats.connections += 1;
        }
    }

    /// Runs one connection after an event, and acts on what it decides.
    fn drive(&mut self, slot: usize, now: Instant) {
        // Sporadic events for a slot already closed happen; ignore them.
        let Some(conn) = self.conns.get_mut(slot) else {
            return;
        };
        match conn.drive(&mut self.shared, now) {
            Next::Keep => {}
            Next::Again => self.shared.again.push((slot, conn.generation)),
            Next::Linger => {
                // The write side may already be shut by a reset; drain anyway.
                let _ = conn.stream.shutdown(Shutdown::Write);
                conn.lingering = true;
                let due = now.checked_add(LINGER).unwrap_or(now);
                self.shared.lingering.push_back(Due {
                    due,
                    slot,
                    generation: conn.generation,
                    reply: None,
                });
            }
            Next::Close => self.close(slot),
        }
    }

    /// Drives the connections that ran out of read budget last time.
    fn retry(&mut self, now: Instant) {
        let mut again = std::mem::take(&mut self.shared.again);
        for &(slot, generation) in &again {
            if self
                .conns
                .get(slot)
                .is_some_and(|c| c.generation == generation)
            {
                self.drive(slot, now);
            }
        }
        // Reuse the allocation unless driving queued new retries meanwhile.
        if self.shared.again.is_empty() {
            again.clear();
            self.shared.again = again;
        }
    }

    /// Sends the delayed answers that are due and ends expired lingers.
    fn expire(&mut self, now: Instant) {
        while let Some(d) = self.shared.delayed.front().copied() {
            if d.due > now {
                break;
            }
            self.shared.delayed.pop_front();
            let Some(conn) = self.conns.get_mut(d.slot) else {
                continue;
            };
            let Some(reply) = d.reply else { continue };
            if conn.generation != d.generation {
                continue;
            }
            conn.out
                .extend_from_slice(self.shared.responses.bytes(reply));
            conn.queued = conn.queued.saturating_sub(1);
            self.shared.stats.responses += 1;
            if !conn.dirty {
                conn.dirty = true;
                self.shared.dirty.push(d.slot);
            }
        }
        while let Some(slot) = self.shared.dirty.pop() {
            if let Some(conn) = self.conns.get_mut(slot) {
                conn.dirty = false;
                self.drive(slot, now);
            }
        }
        while let Some(d) = self.shared.lingering.front().copied() {
            if d.due > now {
                break;
            }
            self.shared.lingering.pop_front();
            if self
                .conns
                .get(d.slot)
                .is_some_and(|c| c.generation == d.generation)
            {
                self.close(d.slot);
            }
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut conn) = self.conns.try_remove(slot) {
            // The fd is closed on drop, which also removes it from epoll.
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned())
}

/// Server state a connection needs while it runs, apart from the slab.
#[derive(Debug)]
struct Shared {
    responses: Responses,
    picker: Picker,
    delay: Duration,
    /// Delayed answers in arrival order, which is also due order.
    delayed: VecDeque<Due>,
    /// Connections being drained before close, in due order.
    lingering: VecDeque<Due>,
    /// Connections that got delayed answers this round.
    dirty: Vec<usize>,
    /// Connections that ran out of read budget, with their generation.
    again: Vec<(usize, u64)>,
    next_gen: u64,
    stats: ServeStats,
}

impl Shared {
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.again.is_empty() {
            return Some(Duration::ZERO);
        }
        let front = |q: &VecDeque<Due>| q.front().map(|d| d.due);
        let due = match (front(&self.delayed), front(&self.lingering)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // mio rounds up to whole milliseconds, so we never wake early for long.
        due.map(|d| d.saturating_duration_since(now))
    }
}

/// Something due at a time on one connection slot of one generation.
#[derive(Clone, Copy, Debug)]
struct Due {
    due: Instant,
    slot: usize,
    generation: u64,
    /// The answer to send, for the delay queue; `None` for a linger deadline.
    reply: Option<Reply>,
}

/// Which pre-rendered response to send, and whether without its body.
#[derive(Clone, Copy, Debug)]
struct Reply {
    index: u32,
    head_only: bool,
}

/// How a response says whether the connection stays open.
#[derive(Clone, Copy, Debug)]
enum Variant {
    /// HTTP/1.1 keep-alive: no Connection header.
    Plain = 0,
    /// HTTP/1.0 keep-alive: `Connection: keep-alive`.
    KeepAlive = 1,
    /// `Connection: close`.
    Close = 2,
}

const VARIANTS: [Variant; 3] = [Variant::Plain, Variant::KeepAlive, Variant::Close];

/// Every response the server can send, rendered once.
///
/// Index `3 * i + variant` is status `i` of the mix; the error responses
/// follow, all with `Connection: close` and an empty body.
#[derive(Debug)]
struct Responses {
    bytes: Vec<Box<[u8]>>,
    head_len: Vec<usize>,
    bad_request: u32,
    too_large: u32,
    not_implemented: u32,
}

impl Responses {
    fn render(statuses: &[(u16, u32)], body_size: usize) -> Self {
        let mut this = Self {
            bytes: Vec::new(),
            head_len: Vec::new(),
            bad_request: 0,
            too_large: 0,
            not_implemented: 0,
        };
        let mut body = vec![b'x'; body_size];
        if let Some(last) = body.last_mut() {
            *last = b'\n';
        }
        for &(status, _) in statuses {
            for variant in VARIANTS {
                this.push(status, variant, &body);
            }
        }
        this.bad_request = this.push(400, Variant::Close, &[]);
        this.too_large = this.push(431, Variant::Close, &[]);
        this.not_implemented = this.push(501, Variant::Close, &[]);
        this
    }

    /// Renders one response; 1xx, 204 and 304 get no body (RFC 9110 §6.4.1),
    /// and 1xx and 204 no Content-Length either.
    fn push(&mut self, status: u16, variant: Variant, body: &[u8]) -> u32 {
        let reason = volley_core::reason_phrase(status);
        let mut r = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
        let no_length = (100..200).contains(&status) || status == 204;
        if !no_length {
            // For 304 this is the length the body would have had, as for HEAD.
            r.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        let body = if no_length || status == 304 {
            &[][..]
        } else {
            body
        };
        r.extend_from_slice(b"Content-Type: text/plain\r\n");
        match variant {
            Variant::Plain => {}
            Variant::KeepAlive => r.extend_from_slice(b"Connection: keep-alive\r\n"),
            Variant::Close => r.extend_from_slice(b"Connection: close\r\n"),
        }
        r.extend_from_slice(b"\r\n");
        self.head_len.push(r.len());
        r.extend_from_slice(body);
        self.bytes.push(r.into_boxed_slice());
        // A few responses per status in the mix: far below u32::MAX.
        u32::try_from(self.bytes.len() - 1).unwrap_or(u32::MAX)
    }

    fn status(&self, i: usize, variant: Variant, head_only: bool) -> Reply {
        Reply {
            index: (3 * i + variant as usize) as u32,
            head_only,
        }
    }

    fn bytes(&self, reply: Reply) -> &[u8] {
        let i = reply.index as usize;
        match (self.bytes.get(i), self.head_len.get(i)) {
            (Some(b), Some(&h)) if reply.head_only => &b[..h],
            (Some(b), _) => b,
            _ => &[],
        }
    }
}

/// Smooth weighted round-robin (as nginx's upstream balancer): every pick
/// adds each weight to its entry's credit, takes the largest credit and
/// charges it the total, which spreads each status evenly over a period of
/// `total` picks.
#[derive(Debug)]
struct Picker {
    weights: Vec<i64>,
    credit: Vec<i64>,
    total: i64,
}

impl Picker {
    fn new(statuses: &[(u16, u32)]) -> Self {
        let weights: Vec<i64> = statuses.iter().map(|&(_, w)| i64::from(w)).collect();
        let total = weights.iter().sum();
        Self {
            credit: vec![0; weights.len()],
            weights,
            total,
        }
    }

    /// The index of the next status in the mix.
    fn next(&mut self) -> usize {
        let (mut best, mut best_credit) = (0, i64::MIN);
        for (i, (c, w)) in self.credit.iter_mut().zip(&self.weights).enumerate() {
            *c += w;
            if *c > best_credit {
                (best, best_credit) = (i, *c);
            }
        }
        if let Some(c) = self.credit.get_mut(best) {
            *c -= self.total;
        }
        best
    }
}

/// What the server does with a connection after driving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Wait for its next event (or delayed answer).
    Keep,
    /// It used its read budget with data maybe left: drive it again soon.
    Again,
    /// Everything is answered and the server closes: shut down and drain.
    Linger,
    /// Drop it now.
    Close,
}

/// One accepted connection.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    slot: usize,
    /// Tells this connection from later ones in the same slot.
    generation: u64,
    /// Received bytes; `buf[start..end]` is not parsed yet. Its length is
    /// the usable size, from [`READ_BUF`] up to [`MAX_HEAD_BYTES`].
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Request body bytes still to skip.
    skip: u64,
    /// Response bytes; `out[out_pos..]` is not written yet.
    out: Vec<u8>,
    out_pos: usize,
    /// Answers of this connection waiting in the delay queue.
    queued: usize,
    /// A request said close or was bad: parse no more, close after answering.
    closing: bool,
    /// The peer shut its write side: answer what was read, then close.
    peer_closed: bool,
    /// Shut down for writing and drained until its linger deadline.
    lingering: bool,
    /// Listed in `Shared::dirty`.
    dirty: bool,
}

impl Conn {
    fn new(stream: TcpStream, slot: usize, generation: u64) -> Self {
        Self {
            stream,
            slot,
            generation,
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
            skip: 0,
            out: Vec::new(),
            out_pos: 0,
            queued: 0,
            closing: false,
            peer_closed: false,
            lingering: false,
            dirty: false,
        }
    }

    /// Answers buffered requests, writes, and reads more, until the socket
    /// would block or the read budget is spent.
    fn drive(&mut self, sh: &mut Shared, now: Instant) -> Next {
        if self.lingering {
            return self.drain();
        }
        for _ in 0..READS_PER_DRIVE {
            self.process(sh, now);
            if self.flush().is_err() {
                return Next::Close;
            }
            if !self.wants_read() {
                return self.settle();
            }
            match self.fill() {
                Ok(0) => self.peer_closed = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return self.settle(),
                Err(_) => return Next::Close,
            }
        }
        self.process(sh, now);
        if self.flush().is_err() {
            return Next::Close;
        }
        Next::Again
    }

    /// Whether this connection is done, once nothing more can happen now.
    fn settle(&self) -> Next {
        let answered = self.queued == 0 && self.out_pos == self.out.len();
        if !answered {
            Next::Keep
        } else if self.peer_closed {
            Next::Close
        } else if self.closing {
            Next::Linger
        } else {
            Next::Keep
        }
    }

    /// Too much is waiting to be written to take more requests.
    fn paused(&self) -> bool {
        self.out.len() - self.out_pos >= OUT_HIGH || self.queued >= MAX_QUEUED
    }

    fn wants_read(&self) -> bool {
        !self.closing && !self.peer_closed && !self.paused()
    }

    /// Parses and answers every complete request in the buffer.
    fn process(&mut self, sh: &mut Shared, now: Instant) {
        loop {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(self.end - self.start);
                self.start += n;
                self.skip -= n as u64;
                if self.skip > 0 {
                    break;
                }
            }
            if self.start == self.end || self.paused() {
                break;
            }
            if self.closing {
                // Nothing after a closing request is answered.
                self.start = self.end;
                break;
            }
            match parse_head(&self.buf[self.start..self.end]) {
                Parsed::Partial => {
                    if self.end - self.start >= MAX_HEAD_BYTES {
                        self.fail(sh, now, sh.responses.too_large);
                    }
                    break;
                }
                Parsed::TooLarge => self.fail(sh, now, sh.responses.too_large),
                Parsed::Bad => self.fail(sh, now, sh.responses.bad_request),
                Parsed::Request(head) => {
                    self.start += head.len;
                    sh.stats.requests += 1;
                    if head.chunked {
                        self.fail(sh, now, sh.responses.not_implemented);
                        continue;
                    }
                    self.skip = head.body;
                    let variant = match (head.keep_alive, head.http10) {
                        (false, _) => Variant::Close,
                        (true, true) => Variant::KeepAlive,
                        (true, false) => Variant::Plain,
                    };
                    self.closing = !head.keep_alive;
                    // Only to HTTP/1.1 (RFC 9110 §10.1.1), and only when
                    // nothing earlier waits in the delay queue, or this
                    // interim response would overtake that answer.
                    if head.expect_continue && head.body > 0 && !head.http10 && self.queued == 0 {
                        self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                    let reply = sh.responses.status(sh.picker.next(), variant, head.head);
                    self.answer(sh, now, reply);
                }
            }
        }
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
    }

    /// Answers a bad request with `index` and stops reading requests.
    fn fail(&mut self, sh: &mut Shared, now: Instant, index: u32) {
        self.closing = true;
        self.skip = 0;
        self.start = self.end;
        self.answer(
            sh,
            now,
            Reply {
                index,
                head_only: false,
            },
        );
    }

    /// Writes the answer now, or queues it until the delay has passed.
    fn answer(&mut self, sh: &mut Shared, now: Instant, reply: Reply) {
        if sh.delay.is_zero() {
            self.out.extend_from_slice(sh.responses.bytes(reply));
            sh.stats.responses += 1;
        } else {
            let due = now.checked_add(sh.delay).unwrap_or(now);
            sh.delayed.push_back(Due {
                due,
                slot: self.slot,
                generation: self.generation,
                reply: Some(reply),
            });
            self.queued += 1;
        }
    }

    /// Reads once into the buffer; `Ok(0)` is the peer's end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_HEAD_BYTES {
                // `process` answers 431 before this, so this is not reached.
                return Err(io::Error::other("request head too large"));
            }
            self.buf.resize((self.buf.len() * 2).min(MAX_HEAD_BYTES), 0);
        }
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes the output buffer until it is empty or the socket would block.
    fn flush(&mut self) -> io::Result<()> {
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Keep the written prefix from growing without bound
                    // under a client that reads slowly but never stops.
                    if self.out_pos >= OUT_HIGH {
                        self.out.drain(..self.out_pos);
                        self.out_pos = 0;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Ok(())
    }

    /// Reads and discards until the peer closes (while lingering).
    fn drain(&mut self) -> Next {
        for _ in 0..READS_PER_DRIVE {
            match self.stream.read(&mut self.buf) {
                Ok(0) => return Next::Close,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        Next::Again
    }
}

/// A parsed request head, as far as the server cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    /// Bytes of the head, up to and including the empty line.
    len: usize,
    /// A HEAD request: answer without body.
    head: bool,
    http10: bool,
    keep_alive: bool,
    /// Content-Length of the request body.
    body: u64,
    /// Any Transfer-Encoding, which this server does not decode.
    chunked: bool,
    expect_continue: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parsed {
    Request(Head),
    Partial,
    /// More than [`MAX_HEADERS`] fields.
    TooLarge,
    /// Not HTTP/1.x, or an invalid Content-Length.
    Bad,
}

/// Parses one request head from the front of `buf`.
///
/// Body framing follows RFC 9112 §6.3 for requests: Transfer-Encoding
/// (any) overrides Content-Length and is reported as `chunked`; several
/// Content-Length values must agree; no length means no body.
fn parse_head(buf: &[u8]) -> Parsed {
    let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::TooLarge,
        Err(_) => return Parsed::Bad,
    };
    let version = req.version.unwrap_or(1);
    let mut head = Head {
        len,
        head: req.method == Some("HEAD"),
        http10: version == 0,
        keep_alive: volley_core::response::keep_alive(version, req.headers),
        body: 0,
        chunked: false,
        expect_continue: false,
    };
    let mut length: Option<u64> = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            for part in h.value.split(|&b| b == b',') {
                match (parse_decimal(trim(part)), length) {
                    (None, _) => return Parsed::Bad,
                    (Some(n), Some(prev)) if n != prev => return Parsed::Bad,
                    (n, _) => length = n,
                }
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = true;
        } else if h.name.eq_ignore_ascii_case("expect") {
            head.expect_continue = trim(h.value).eq_ignore_ascii_case(b"100-continue");
        }
    }
    head.body = length.unwrap_or(0);
    Parsed::Request(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpStream as StdStream;

    /// Bounds every blocking read and write in these tests.
    const IO_TIMEOUT: Duration = Duration::from_secs(5);

    fn serve(config: ServeConfig) -> RunningServer {
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        Server::spawn(ServeConfig { listen, ..config }).expect("bind 127.0.0.1:0")
    }

    fn connect(server: &RunningServer) -> (StdStream, BufReader<StdStream>) {
        let stream = StdStream::connect(server.addr()).expect("connect");
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .expect("write timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        (stream, reader)
    }

    #[derive(Debug)]
    struct Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Response {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| &**v)
        }
    }

    /// Reads one response; the body by its Content-Length unless `head`.
    fn read_response(r: &mut BufReader<StdStream>, head: bool) -> Response {
        let mut line = String::new();
        r.read_line(&mut line).expect("status line");
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect(&line);
        let mut headers = Vec::new();
        loop {
            line.clear();
            r.read_line(&mut line).expect("header line");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').expect(l);
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
        let mut resp = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if !head {
            let len = resp
                .header("content-length")
                .map_or(0, |v| v.parse().expect(v));
            resp.body = vec![0; len];
            r.read_exact(&mut resp.body).expect("body");
        }
        resp
    }

    /// Asserts the server closed the connection and sent nothing more.
    fn assert_closed(r: &mut BufReader<StdStream>) {
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).expect("read to end of stream");
        assert_eq!(String::from_utf8_lossy(&rest), "");
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    #[test]
    fn keep_alive_answers_every_request_on_one_connection() {
        let server = serve(ServeConfig {
            body_size: 100,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        for _ in 0..3 {
            s.write_all(GET).unwrap();
            let resp = read_response(&mut r, false);
            assert_eq!(resp.status, 200);
            assert_eq!(resp.body.len(), 100);
            assert_eq!(resp.header("connection"), None);
        }
        drop((s, r));
        let stats = server.stop().unwrap();
        assert_eq!(
            stats,
            ServeStats {
                connections: 1,
                requests: 3,
                responses: 3
            }
        );
    }

    #[test]
    fn pipelined_requests_get_answers_in_order() {
        let server = serve(ServeConfig {
            body_size: 7,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        let mut batch = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".to_vec();
        batch.extend_from_slice(GET);
        s.write_all(&batch).unwrap();
        for _ in 0..2 {
            let resp = read_response(&mut r, false);
            assert_eq!((resp.status, resp.body.len()), (200, 7));
        }
        // A body split from its head, then the next request, still frames.
        s.write_all(b"PUT / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab")
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.write_all(b"c").unwrap();
        s.write_all(GET).unwrap();
        read_response(&mut r, false);
        read_response(&mut r, false);
        drop((s, r));
        assert_eq!(server.stop().unwrap().responses, 4);
    }

    #[test]
    fn status_mix_is_spread_exactly() {
        let statuses = vec![(200, 3), (500, 1)];
        let server = serve(ServeConfig {
            statuses,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        let mut seen = Vec::new();
        for _ in 0..8 {
            s.write_all(GET).unwrap();
            seen.push(read_response(&mut r, false).status);
        }
        assert_eq!(seen.iter().filter(|&&c| c == 200).count(), 6, "{seen:?}");
        assert_eq!(seen.iter().filter(|&&c| c == 500).count(), 2, "{seen:?}");
        assert_eq!(seen, [200, 200, 500, 200, 200, 200, 500, 200]);
    }

    #[test]
    fn head_gets_length_but_no_body() {
        let server = serve(ServeConfig {
            body_size: 10,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        s.write_all(b"HEAD / HTTP/1.1\r\n\r\n").unwrap();
        let resp = read_response(&mut r, true);
        assert_eq!(
            (resp.status, resp.header("content-length")),
            (200, Some("10"))
        );
        // Had a body been sent, it would be read here as the next status line.
        s.write_all(GET).unwrap();
        let resp = read_response(&mut r, false);
        assert_eq!((resp.status, resp.body.len()), (200, 10));
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let server = serve(ServeConfig::default());
        let (mut s, mut r) = connect(&server);
        s.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut r, false);
        assert_eq!(resp.header("connection"), Some("keep-alive"));
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let resp = read_response(&mut r, false);
        assert_eq!(
            (resp.status, resp.header("connection")),
            (200, Some("close"))
        );
        assert_closed(&mut r);
    }

    #[test]
    fn http11_connection_close_closes() {
        let server = serve(ServeConfig::default());
        let (mut s, mut r) = connect(&server);
        // The request after the closing one is never answered.
        s.write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n")
            .unwrap();
        assert_eq!(
            read_response(&mut r, false).header("connection"),
            Some("close")
        );
        assert_closed(&mut r);
    }

    #[test]
    fn garbage_gets_400_and_close() {
        let server = serve(ServeConfig::default());
        let (mut s, mut r) = connect(&server);
        s.write_all(b"\x16\x03\x01 not http at all\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut r, false);
        assert_eq!(
            (resp.status, resp.header("connection")),
            (400, Some("close"))
        );
        assert_closed(&mut r);
        let stats = server.stop().unwrap();
        assert_eq!((stats.requests, stats.responses), (0, 1));
    }

    #[test]
    fn oversize_head_gets_431_and_chunked_body_501() {
        let server = serve(ServeConfig::default());
        let (mut s, mut r) = connect(&server);
        let mut big = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        big.resize(MAX_HEAD_BYTES + 10, b'a');
        s.write_all(&big).unwrap();
        assert_eq!(read_response(&mut r, false).status, 431);
        assert_closed(&mut r);

        let (mut s, mut r) = connect(&server);
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        s.write_all(&many).unwrap();
        assert_eq!(read_response(&mut r, false).status, 431);
        assert_closed(&mut r);

        let (mut s, mut r) = connect(&server);
        s.write_all(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut r, false).status, 501);
        assert_closed(&mut r);
    }

    #[test]
    fn half_closed_peer_still_gets_its_answers() {
        let delay = Duration::from_millis(20);
        let server = serve(ServeConfig {
            delay,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        s.write_all(&[GET, GET].concat()).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_response(&mut r, false).status, 200);
        assert_eq!(read_response(&mut r, false).status, 200);
        assert_closed(&mut r);
    }

    #[test]
    fn delay_holds_the_response() {
        let delay = Duration::from_millis(50);
        let server = serve(ServeConfig {
            delay,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        for _ in 0..2 {
            let sent = Instant::now();
            s.write_all(GET).unwrap();
            assert_eq!(read_response(&mut r, false).status, 200);
            assert!(
                sent.elapsed() >= delay,
                "answered after {:?}",
                sent.elapsed()
            );
        }
    }

    #[test]
    fn answers_for_closed_connections_are_dropped() {
        let delay = Duration::from_millis(30);
        let server = serve(ServeConfig {
            delay,
            ..Default::default()
        });
        for _ in 0..3 {
            let (mut s, _r) = connect(&server);
            s.write_all(&[GET, GET, GET].concat()).unwrap();
        }
        // The slots are reused by a new connection while stale answers wait.
        let (mut s, mut r) = connect(&server);
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut r, false).status, 200);
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut r, false).status, 200);
        drop((s, r));
        let stats = server.stop().unwrap();
        assert_eq!(stats.connections, 4);
        assert!(
            stats.responses >= 2 && stats.responses <= stats.requests,
            "{stats:?}"
        );
    }

    #[test]
    fn no_body_statuses_and_expect_continue() {
        let statuses = vec![(204, 1)];
        let server = serve(ServeConfig {
            statuses,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        s.write_all(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut r, true).status, 100);
        s.write_all(b"hi").unwrap();
        let resp = read_response(&mut r, true);
        assert_eq!((resp.status, resp.header("content-length")), (204, None));
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut r, true).status, 204);
    }

    #[test]
    fn shutdown_before_run_and_bind_errors() {
        let server = Server::bind(ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Default::default()
        })
        .unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let again = Server::bind(ServeConfig {
            listen: addr,
            ..Default::default()
        });
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AddrInUse);
        server.shutdown_handle().shutdown();
        assert_eq!(server.run().unwrap(), ServeStats::default());

        let bad = ServeConfig {
            statuses: vec![(200, 0)],
            ..Default::default()
        };
        assert_eq!(
            Server::bind(bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let bad = ServeConfig {
            statuses: vec![],
            ..Default::default()
        };
        assert_eq!(
            Server::bind(bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn status_mix_parses() {
        assert_eq!(parse_status_mix("200"), Ok(vec![(200, 1)]));
        assert_eq!(
            parse_status_mix("200:95,500:5"),
            Ok(vec![(200, 95), (500, 5)])
        );
        assert_eq!(
            parse_status_mix(" 200 : 2 , 404 "),
            Ok(vec![(200, 2), (404, 1)])
        );
        assert_eq!(parse_status_mix("100,599"), Ok(vec![(100, 1), (599, 1)]));
    }

    #[test]
    fn status_mix_errors_name_the_bad_part() {
        for (input, part) in [
            ("", "empty status mix"),
            ("200,", "empty item"),
            ("abc", "'abc'"),
            ("99", "'99'"),
            ("600:1", "'600'"),
            ("101", "'101'"),
            ("200:0", "'0'"),
            ("200:x", "'x'"),
            ("200:-1", "'-1'"),
            ("200:", "''"),
            (":5", "''"),
        ] {
            let e = parse_status_mix(input).expect_err(input);
            assert!(e.contains(part), "{input:?} gave {e:?}");
            assert!(!e.contains('\n') && e == e.to_lowercase(), "{e:?}");
        }
    }

    #[test]
    fn picker_spreads_evenly() {
        let mut p = Picker::new(&[(200, 1), (500, 1), (503, 2)]);
        let picks: Vec<usize> = (0..8).map(|_| p.next()).collect();
        assert_eq!(picks, [2, 0, 1, 2, 2, 0, 1, 2]);
    }

    #[test]
    fn heads_parse_with_framing() {
        let Parsed::Request(h) = parse_head(b"GET / HTTP/1.0\r\ncontent-length: 4, 4\r\n\r\nbody")
        else {
            panic!("not a request")
        };
        assert_eq!(
            (h.len, h.body, h.http10, h.keep_alive, h.head),
            (40, 4, true, false, false)
        );
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost"), Parsed::Partial);
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n"),
            Parsed::Bad
        );
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            Parsed::Bad
        );
        assert_eq!(parse_head(b"GET / HTTP/2.0\r\n\r\n"), Parsed::Bad);
    }
}
