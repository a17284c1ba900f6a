//! A scripted HTTP server with no sockets and no clock, for [`crate::sim::Sim`].
//!
//! Like str0m's `netem`, the server is itself sans-io: the simulator tells it
//! what the engine did (`connect`, `receive`, `close`) at a virtual time, and
//! it answers by queueing [`Delivery`]s that fall due at later virtual times.
//! The simulator pops them with [`FakeServer::pop_due`] and feeds them to the
//! engine's handlers.
//!
//! Each connection slot carries a generation number. Closing or reconnecting
//! a slot bumps it, so bytes still queued for an old connection are dropped,
//! as they would be with a real socket.
//!
//! The server also checks the engine's side of the protocol and records every
//! breach in [`FakeServer::violations`]: a `Send` on a slot that is not
//! connected, a second request before any byte of the answer to the first
//! (volley never pipelines), or a `Connect` on a slot whose socket was never closed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;
use std::time::{Duration, Instant};

use volley_core::{ConnId, ErrorKind};

/// What the simulator hands to the engine when a delivery falls due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The connect completed: `handle_connected`.
    Connected,
    /// The connect failed: `handle_error` with this kind.
    ConnectFailed(ErrorKind),
    /// Response bytes: `handle_data`.
    Data(Vec<u8>),
    /// The server closed its side: `handle_eof`.
    Eof,
    /// The server reset the connection: `handle_error` with
    /// `ErrorKind::Reset`.
    Reset,
}

/// How the server treats one connect attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connect {
    /// Accept after [`Script::connect_latency`].
    Accept,
    /// Refuse after [`Script::connect_latency`] (`ErrorKind::ConnectRefused`).
    Refuse,
    /// Never answer: the engine's connect timeout must fire.
    Hang,
}

/// One request as the server saw it, passed to the responder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Its request line, without the line end (`GET /a HTTP/1.1`).
    pub line: String,
    /// Index over the whole run, from 0.
    pub index: u64,
    /// Index on this connection, from 0.
    pub on_conn: u64,
    /// The slot it arrived on.
    pub conn: ConnId,
}

/// The server's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Bytes to send, cut into pieces per [`Script::pieces`].
    pub bytes: Vec<u8>,
    /// Close the connection right after the last byte.
    pub close: bool,
    /// End the connection with a reset instead (implies `close`).
    pub reset: bool,
    /// Latency of this reply, instead of [`Script::latency`].
    pub latency: Option<Duration>,
}

impl Reply {
    /// Send `bytes` and keep the connection open.
    pub fn send(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            close: false,
            reset: false,
            latency: None,
        }
    }

    /// Send `bytes`, then close the connection (a read-until-close body, a
    /// response cut short, ...).
    pub fn send_then_close(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            close: true,
            reset: false,
            latency: None,
        }
    }

    /// Send `bytes`, then reset the connection (as a server does that
    /// closes with unread bytes in its receive buffer).
    pub fn send_then_reset(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            close: true,
            reset: true,
            latency: None,
        }
    }

    /// The same reply after `latency`.
    pub fn after(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }
}

/// How a reply is cut into `handle_data` calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pieces {
    /// One call with every byte.
    Whole,
    /// One call per byte.
    Bytewise,
    /// Two calls: bytes `..n` and `n..` (when `n` is inside the reply).
    SplitAt(usize),
    /// Calls of at most this many bytes.
    Chunks(usize),
}

impl Pieces {
    /// Cuts `bytes` into the pieces this describes. Never yields an empty
    /// piece, except for an empty input.
    pub fn cut<'a>(&self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        if bytes.is_empty() {
            return Vec::new();
        }
        match *self {
            Self::Whole => vec![bytes],
            Self::Bytewise => bytes.chunks(1).collect(),
            Self::Chunks(n) => bytes.chunks(n.max(1)).collect(),
            Self::SplitAt(n) if n > 0 && n < bytes.len() => vec![&bytes[..n], &bytes[n..]],
            Self::SplitAt(_) => vec![bytes],
        }
    }
}

/// Closes each connection after this many responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseAfter {
    /// Responses per connection.
    pub responses: u64,
    /// Add `Connection: close` to the last response; without it the close
    /// comes unannounced, right after the last response.
    pub announce: bool,
}

/// Chooses the reply to each request; `None` means never answer.
pub type Responder = Box<dyn FnMut(&Request) -> Option<Reply>>;
/// Chooses how each connect attempt (numbered from 0) goes.
pub type Connector = Box<dyn FnMut(u64) -> Connect>;

/// Everything the server does, fixed before the run.
pub struct Script {
    /// Time from a request's arrival to its response's first piece.
    pub latency: Duration,
    /// Time from a `Connect` to its outcome.
    pub connect_latency: Duration,
    /// How each connect attempt goes.
    pub connector: Connector,
    /// The reply to each request.
    pub responder: Responder,
    /// How replies are cut into reads.
    pub pieces: Pieces,
    /// Time between two pieces of one reply.
    pub piece_gap: Duration,
    /// Close each connection after N responses.
    pub close_after: Option<CloseAfter>,
    /// While virtual time since `t0` is in this window, nothing is delivered;
    /// what falls due inside is delivered at its end.
    pub stall: Option<Range<Duration>>,
}

impl Script {
    /// Answers every request with `response` after `latency`; connects are
    /// accepted at once; replies arrive whole.
    pub fn new(response: impl Into<Vec<u8>>, latency: Duration) -> Self {
        let response = response.into();
        Self {
            latency,
            connect_latency: Duration::ZERO,
            connector: Box::new(|_| Connect::Accept),
            responder: Box::new(move |_| Some(Reply::send(response.clone()))),
            pieces: Pieces::Whole,
            piece_gap: Duration::ZERO,
            close_after: None,
            stall: None,
        }
    }

    /// A `200 OK` with a two-byte body after `latency`.
    pub fn ok(latency: Duration) -> Self {
        Self::new(OK, latency)
    }

    /// Replies chosen per request.
    pub fn responder(mut self, f: impl FnMut(&Request) -> Option<Reply> + 'static) -> Self {
        self.responder = Box::new(f);
        self
    }

    /// Connect outcomes chosen per attempt.
    pub fn connector(mut self, f: impl FnMut(u64) -> Connect + 'static) -> Self {
        self.connector = Box::new(f);
        self
    }

    /// Every connect attempt goes this way.
    pub fn connect(self, how: Connect) -> Self {
        self.connector(move |_| how)
    }

    /// Connects take this long.
    pub fn connect_latency(mut self, d: Duration) -> Self {
        self.connect_latency = d;
        self
    }

    /// Replies are cut this way.
    pub fn pieces(mut self, pieces: Pieces) -> Self {
        self.pieces = pieces;
        self
    }

    /// Pieces of one reply are this far apart.
    pub fn piece_gap(mut self, d: Duration) -> Self {
        self.piece_gap = d;
        self
    }

    /// Each connection closes after `responses` responses.
    pub fn close_after(mut self, responses: u64, announce: bool) -> Self {
        self.close_after = Some(CloseAfter {
            responses,
            announce,
        });
        self
    }

    /// Nothing is delivered in this window of time since `t0`.
    pub fn stall(mut self, window: Range<Duration>) -> Self {
        self.stall = Some(window);
        self
    }
}

/// The canned response of [`Script::ok`].
pub const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// The server's view of one connection slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// No socket.
    Closed,
    /// A connect is on its way.
    Connecting,
    /// Connected. `awaiting` from a request until the first byte of its
    /// reply is delivered: before that the engine cannot hold a response,
    /// so another request on the slot would be pipelining. (After it, the
    /// engine may rightly see a whole response while the server still has
    /// bytes to send, e.g. a reply sent twice.)
    Open { on_conn: u64, awaiting: bool },
    /// The server decided to close; its EOF is queued. Requests that still
    /// arrive are dropped, as by a real server that has shut its socket.
    Closing,
}

#[derive(Clone, Debug)]
struct Slot {
    generation: u64,
    side: Side,
}

/// A queued delivery. `first` marks the first piece of a reply: once it
/// is delivered the engine may hold a whole response and send again.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Instant,
    seq: u64,
    conn: usize,
    generation: u64,
    first: bool,
    what: Kind,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Connected,
    Refused,
    Data(Vec<u8>),
    Eof,
    Reset,
}

/// Counters of what the server saw and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connect attempts that reached the server.
    pub connect_attempts: u64,
    /// Connects accepted and delivered to the engine.
    pub accepted: u64,
    /// Connects refused and delivered to the engine.
    pub refused: u64,
    /// Requests received.
    pub requests: u64,
    /// Request bytes received.
    pub bytes_received: u64,
    /// Response bytes delivered to the engine.
    pub bytes_delivered: u64,
    /// Closes the server initiated and delivered as EOF.
    pub eofs: u64,
    /// Resets the server initiated and delivered.
    pub resets: u64,
}

/// The scripted server. See the module doc.
pub struct FakeServer {
    script: Script,
    slots: Vec<Slot>,
    queue: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    /// `t0` of the run, once started: the origin of [`Script::stall`].
    origin: Option<Instant>,
    /// What the server saw.
    pub stats: ServerStats,
    /// The last request received, for checks on its bytes.
    pub last_request: Vec<u8>,
    /// Every request received, in order, when set to `Some` (tests that
    /// check what was sent).
    pub received: Option<Vec<Vec<u8>>>,
    /// When each request arrived, in order.
    pub arrivals: Vec<Instant>,
    /// Breaches of the engine's protocol (see the module doc).
    pub violations: Vec<String>,
}

impl FakeServer {
    /// A server that follows `script`.
    pub fn new(script: Script) -> Self {
        Self {
            script,
            slots: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            origin: None,
            stats: ServerStats::default(),
            last_request: Vec::new(),
            received: None,
            arrivals: Vec::new(),
            violations: Vec::new(),
        }
    }

    /// The run started at `t0`: the stall window counts from here.
    pub fn set_origin(&mut self, t0: Instant) {
        self.origin = Some(t0);
    }

    fn slot(&mut self, conn: ConnId) -> &mut Slot {
        if self.slots.len() <= conn.0 {
            self.slots.resize(
                conn.0 + 1,
                Slot {
                    generation: 0,
                    side: Side::Closed,
                },
            );
        }
        &mut self.slots[conn.0]
    }

    /// The engine asked to connect `conn` at `now`.
    pub fn connect(&mut self, conn: ConnId, now: Instant) {
        let attempt = self.stats.connect_attempts;
        self.stats.connect_attempts += 1;
        let slot = self.slot(conn);
        if slot.side != Side::Closed {
            let side = slot.side;
            self.violations.push(format!(
                "{conn:?}: Connect while the old socket is {side:?} (no Close first)"
            ));
        }
        let slot = self.slot(conn);
        slot.generation += 1;
        slot.side = Side::Connecting;
        let at = now + self.script.connect_latency;
        match (self.script.connector)(attempt) {
            Connect::Accept => self.push(at, conn, Kind::Connected, true),
            Connect::Refuse => self.push(at, conn, Kind::Refused, true),
            Connect::Hang => {}
        }
    }

    /// The engine closed `conn`: everything queued for it is dropped.
    pub fn close(&mut self, conn: ConnId) {
        let slot = self.slot(conn);
        slot.generation += 1;
        slot.side = Side::Closed;
    }

    /// The engine wrote a whole request on `conn` at `now`.
    pub fn receive(&mut self, conn: ConnId, now: Instant, bytes: &[u8]) {
        self.stats.bytes_received += bytes.len() as u64;
        self.last_request.clear();
        self.last_request.extend_from_slice(bytes);
        if let Some(all) = &mut self.received {
            all.push(bytes.to_vec());
        }
        let side = self.slot(conn).side;
        let on_conn = match side {
            Side::Open {
                on_conn,
                awaiting: false,
            } => on_conn,
            Side::Closing => return,
            _ => {
                self.violations
                    .push(format!("{conn:?}: Send while the socket is {side:?}"));
                return;
            }
        };
        let line = bytes.split(|&b| b == b'\r').next().unwrap_or_default();
        let request = Request {
            line: String::from_utf8_lossy(line).into_owned(),
            index: self.stats.requests,
            on_conn,
            conn,
        };
        self.arrivals.push(now);
        self.stats.requests += 1;
        self.slot(conn).side = Side::Open {
            on_conn: on_conn + 1,
            awaiting: true,
        };
        let Some(mut reply) = (self.script.responder)(&request) else {
            return; // never answered: the connection stays busy
        };
        if let Some(CloseAfter {
            responses,
            announce,
        }) = self.script.close_after
        {
            if on_conn + 1 >= responses {
                reply.close = true;
                if announce {
                    reply.bytes = with_connection_close(&reply.bytes);
                }
            }
        }
        if reply.close {
            self.slot(conn).side = Side::Closing;
        }
        let mut at = self.stalled(now + reply.latency.unwrap_or(self.script.latency));
        let pieces: Vec<Vec<u8>> = self
            .script
            .pieces
            .cut(&reply.bytes)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        let n = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0 {
                at = self.stalled(at + self.script.piece_gap);
            }
            self.push(at, conn, Kind::Data(piece), i == 0);
        }
        if reply.reset {
            self.push(at, conn, Kind::Reset, false);
        } else if reply.close {
            self.push(at, conn, Kind::Eof, false);
        } else if n == 0 {
            // An empty reply: the request counts as answered at once.
            self.slot(conn).side = Side::Open {
                on_conn: on_conn + 1,
                awaiting: false,
            };
        }
    }

    /// Moves `at` to the end of the stall window if it falls inside.
    fn stalled(&self, at: Instant) -> Instant {
        match (&self.script.stall, self.origin) {
            (Some(window), Some(t0)) if at >= t0 + window.start && at < t0 + window.end => {
                t0 + window.end
            }
            _ => at,
        }
    }

    fn push(&mut self, at: Instant, conn: ConnId, what: Kind, first: bool) {
        let generation = self.slot(conn).generation;
        self.seq += 1;
        self.queue.push(Reverse(Pending {
            at,
            seq: self.seq,
            conn: conn.0,
            generation,
            first,
            what,
        }));
    }

    /// Drops deliveries for connections that are gone.
    fn skip_stale(&mut self) {
        while let Some(Reverse(p)) = self.queue.peek() {
            if self.slots[p.conn].generation == p.generation {
                return;
            }
            self.queue.pop();
        }
    }

    /// When the next delivery falls due, if any.
    pub fn next_delivery(&mut self) -> Option<Instant> {
        self.skip_stale();
        self.queue.peek().map(|Reverse(p)| p.at)
    }

    /// The next delivery due at or before `now`, in order of time and then
    /// of queueing.
    pub fn pop_due(&mut self, now: Instant) -> Option<(ConnId, Delivery)> {
        self.skip_stale();
        if self.queue.peek()?.0.at > now {
            return None;
        }
        let Reverse(p) = self.queue.pop()?;
        let slot = &mut self.slots[p.conn];
        let delivery = match p.what {
            Kind::Connected => {
                slot.side = Side::Open {
                    on_conn: 0,
                    awaiting: false,
                };
                self.stats.accepted += 1;
                Delivery::Connected
            }
            Kind::Refused => {
                slot.side = Side::Closed;
                self.stats.refused += 1;
                Delivery::ConnectFailed(ErrorKind::ConnectRefused)
            }
            Kind::Data(bytes) => {
                if let (true, Side::Open { on_conn, .. }) = (p.first, slot.side) {
                    slot.side = Side::Open {
                        on_conn,
                        awaiting: false,
                    };
                }
                self.stats.bytes_delivered += bytes.len() as u64;
                Delivery::Data(bytes)
            }
            Kind::Eof => {
                // The engine still has to close its end: keep the slot as
                // Closing until it does.
                self.stats.eofs += 1;
                Delivery::Eof
            }
            Kind::Reset => {
                self.stats.resets += 1;
                Delivery::Reset
            }
        };
        Some((ConnId(p.conn), delivery))
    }
}

/// `response` with a `Connection: close` header after its status line.
pub fn with_connection_close(response: &[u8]) -> Vec<u8> {
    let Some(eol) = response.windows(2).position(|w| w == b"\r\n") else {
        return response.to_vec();
    };
    let mut out = Vec::with_capacity(response.len() + 19);
    out.extend_from_slice(&response[..eol + 2]);
    out.extend_from_slice(b"Connection: close\r\n");
    out.extend_from_slice(&response[eol + 2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_input() {
        let b = b"abcdef";
        for p in [
            Pieces::Whole,
            Pieces::Bytewise,
            Pieces::SplitAt(0),
            Pieces::SplitAt(3),
            Pieces::SplitAt(6),
            Pieces::Chunks(4),
        ] {
            let cut = p.cut(b);
            assert!(cut.iter().all(|c| !c.is_empty()), "{p:?}");
            assert_eq!(cut.concat(), b, "{p:?}");
        }
        assert_eq!(Pieces::Bytewise.cut(b).len(), 6);
        assert_eq!(Pieces::SplitAt(2).cut(b), vec![&b"ab"[..], b"cdef"]);
    }

    #[test]
    fn connection_close_goes_after_the_status_line() {
        assert_eq!(
            with_connection_close(OK),
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_vec()
        );
    }

    #[test]
    fn stale_deliveries_are_dropped_and_stall_delays() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = FakeServer::new(Script::ok(ms(5)).stall(ms(10)..ms(20)));
        s.set_origin(t0);
        s.connect(ConnId(0), t0);
        assert_eq!(s.pop_due(t0), Some((ConnId(0), Delivery::Connected)));
        s.receive(ConnId(0), t0, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(s.next_delivery(), Some(t0 + ms(5)));
        assert_eq!(s.pop_due(t0 + ms(4)), None);
        assert_eq!(
            s.pop_due(t0 + ms(5)),
            Some((ConnId(0), Delivery::Data(OK.to_vec())))
        );
        // Due at 12 ms, inside the stall: delivered at 20 ms.
        s.receive(ConnId(0), t0 + ms(7), b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(s.next_delivery(), Some(t0 + ms(20)));
        // Closed by the engine: the queued response vanishes.
        s.close(ConnId(0));
        assert_eq!(s.next_delivery(), None);
        // A request on a closed slot is a violation.
        s.receive(ConnId(0), t0 + ms(30), b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(s.violations.len(), 1);
    }
}
