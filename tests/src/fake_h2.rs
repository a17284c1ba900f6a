//! A scripted HTTP/2 server with no sockets and no clock, for
//! [`crate::h2_sim::H2Sim`]: the HTTP/2 counterpart of
//! [`crate::fake_server::FakeServer`].
//!
//! It reads what the engine writes with core's own codecs (the client
//! preface, frames with [`decode_frame`], header blocks with the HPACK
//! [`Decoder`]) and answers with core's frame writers and
//! [`encode_response`]. Like the HTTP/1.1 fake it is sans-io: the sim tells
//! it what the engine did (`connect`, `receive`, `close`) at a virtual time,
//! and it queues [`Delivery`]s that fall due later.
//!
//! On accepting a connection the server sends its SETTINGS (with
//! [`H2Script::max_streams`], if set) at once. Each request, once its
//! stream's END_STREAM has arrived, goes to the [`H2Script::responder`],
//! which returns what to do and when ([`Act`]s, each after a delay from the
//! request's arrival); nothing means never answer. A GOAWAY the script
//! sends makes the server forget the streams above its last stream (it
//! did not process them), and with [`H2Script::goaway_after`] the server
//! behaves like nginx's `keepalive_requests`: GOAWAY naming the Nth stream,
//! then EOF once its streams are answered.
//!
//! Frames for a stream that has ended (answered, reset by either side, or
//! forgotten after a GOAWAY) are dropped when they fall due, as a server
//! stops writing for a stream it is done with. Everything queued for a
//! connection is dropped once the engine closes it or the server's EOF is
//! delivered.
//!
//! The server records breaches of the client's side of the protocol in
//! [`FakeH2::violations`]: bytes on a slot that is not connected, a missing
//! preface, a frame that does not parse, a stream identifier that is not a
//! new odd one, a header block that does not decode, a stream opened
//! beyond the `SETTINGS_MAX_CONCURRENT_STREAMS` the client had received,
//! and a stream opened after the client had received GOAWAY.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::{Duration, Instant};

use volley_core::h2::frame::{
    DEFAULT_MAX_FRAME_SIZE, PREFACE, setting, write_data, write_goaway, write_headers,
    write_rst_stream, write_settings, write_settings_ack,
};
use volley_core::h2::hpack::{Decoder, encode_response};
use volley_core::h2::{ErrorCode, Frame, Parsed, decode_frame};
use volley_core::{ConnId, ErrorKind};

use crate::fake_server::{Connect, Delivery};

/// One thing the server does for a request, [`Act::after`] its arrival.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// A whole response: HEADERS with this status (and a content-length),
    /// and the body as one DATA frame with END_STREAM (or END_STREAM on
    /// the HEADERS if the body is empty).
    Respond(u16, Vec<u8>),
    /// A response head alone: HEADERS without END_STREAM.
    Head(u16),
    /// A DATA frame, with END_STREAM if the flag says so.
    Data(Vec<u8>, bool),
    /// RST_STREAM on the request's stream with this code.
    Reset(ErrorCode),
    /// GOAWAY with this last stream and code: streams above it are
    /// forgotten.
    GoAway(u32, ErrorCode),
    /// The server closes the connection (EOF).
    Eof,
    /// These bytes as they are (a frame that breaks the protocol, say).
    Raw(Vec<u8>),
}

impl Act {
    /// `200` with the body `ok`.
    pub fn ok() -> Self {
        Self::Respond(200, b"ok".to_vec())
    }

    /// This act, `delay` after the request arrived.
    pub fn after(self, delay: Duration) -> (Duration, Self) {
        (delay, self)
    }
}

/// One request as the server saw it, passed to the responder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H2Request {
    /// Index over the whole run, from 0, in order of arrival (a request
    /// sent again arrives again, with a new index).
    pub index: u64,
    /// Index on this connection, from 0.
    pub on_conn: u64,
    /// The slot it arrived on.
    pub conn: ConnId,
    /// Its stream.
    pub stream: u32,
    /// `:method`.
    pub method: String,
    /// `:path`.
    pub path: String,
    /// `:scheme`.
    pub scheme: String,
    /// `:authority`.
    pub authority: String,
    /// Bytes of its body (DATA).
    pub body_len: usize,
}

/// Chooses what to do for each request, and when; empty: never answer.
pub type H2Responder = Box<dyn FnMut(&H2Request) -> Vec<(Duration, Act)>>;

/// Everything the server does, fixed before the run.
pub struct H2Script {
    /// Time from a `Connect` to its outcome.
    pub connect_latency: Duration,
    /// How each connect attempt (numbered from 0) goes.
    pub connector: Box<dyn FnMut(u64) -> Connect>,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` in the server's SETTINGS; none:
    /// no limit.
    pub max_streams: Option<u32>,
    /// What the server does for each request.
    pub responder: H2Responder,
    /// Like nginx's `keepalive_requests`: after the Nth request of a
    /// connection arrives, GOAWAY naming its stream, then EOF once every
    /// stream up to it is answered.
    pub goaway_after: Option<u64>,
    /// How long after that request the GOAWAY goes.
    pub goaway_delay: Duration,
}

impl H2Script {
    /// Answers every request `200 ok` after `latency`; connects are
    /// accepted at once; no stream limit.
    pub fn ok(latency: Duration) -> Self {
        Self {
            connect_latency: Duration::ZERO,
            connector: Box::new(|_| Connect::Accept),
            max_streams: None,
            responder: Box::new(move |_| vec![Act::ok().after(latency)]),
            goaway_after: None,
            goaway_delay: Duration::ZERO,
        }
    }

    /// What to do for each request.
    pub fn responder(
        mut self,
        f: impl FnMut(&H2Request) -> Vec<(Duration, Act)> + 'static,
    ) -> Self {
        self.responder = Box::new(f);
        self
    }

    /// Connect outcomes chosen per attempt.
    pub fn connector(mut self, f: impl FnMut(u64) -> Connect + 'static) -> Self {
        self.connector = Box::new(f);
        self
    }

    /// Connects take this long.
    pub fn connect_latency(mut self, d: Duration) -> Self {
        self.connect_latency = d;
        self
    }

    /// The server allows this many concurrent streams.
    pub fn max_streams(mut self, n: u32) -> Self {
        self.max_streams = Some(n);
        self
    }

    /// GOAWAY `delay` after the `n`th request of each connection, then
    /// EOF once its streams are answered.
    pub fn goaway_after(mut self, n: u64, delay: Duration) -> Self {
        self.goaway_after = Some(n);
        self.goaway_delay = delay;
        self
    }
}

/// Counters of what the server saw and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct H2ServerStats {
    /// Connect attempts that reached the server.
    pub connect_attempts: u64,
    /// Connects accepted and delivered to the engine.
    pub accepted: u64,
    /// Connects refused and delivered to the engine.
    pub refused: u64,
    /// Requests received whole (END_STREAM).
    pub requests: u64,
    /// Streams the client opened.
    pub streams: u64,
    /// Most streams open at once on one connection.
    pub max_open: usize,
    /// Streams refused because they were over the server's limit before
    /// the client had its SETTINGS.
    pub over_limit: u64,
    /// GOAWAYs delivered to the engine.
    pub goaways: u64,
    /// EOFs delivered to the engine.
    pub eofs: u64,
    /// RST_STREAMs the client sent: slot, stream, code.
    pub client_resets: Vec<(ConnId, u32, ErrorCode)>,
    /// GOAWAYs the client sent.
    pub client_goaways: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Closed,
    Connecting,
    Open,
    /// The server's EOF is delivered; the engine has not closed its end.
    Closing,
}

/// A stream the client opened and the server has not ended.
#[derive(Debug)]
struct Stream {
    method: String,
    path: String,
    scheme: String,
    authority: String,
    body_len: usize,
    /// END_STREAM came from the client: the request is whole.
    whole: bool,
}

/// The server's side of one connection slot.
struct Conn {
    generation: u64,
    side: Side,
    /// Bytes of a frame (or the preface) not all there yet.
    input: Vec<u8>,
    preface: bool,
    decoder: Decoder,
    /// A header block waiting for CONTINUATION: its stream, END_STREAM and
    /// the bytes so far.
    continuing: Option<(u32, bool, Vec<u8>)>,
    streams: BTreeMap<u32, Stream>,
    highest: u32,
    on_conn: u64,
    /// The client has the server's SETTINGS.
    settings_delivered: bool,
    /// The client has a GOAWAY with this last stream.
    goaway: Option<u32>,
    /// EOF once no stream is left (after the periodic GOAWAY).
    close_when_drained: bool,
}

impl Conn {
    fn new(generation: u64) -> Self {
        Self {
            generation,
            side: Side::Closed,
            input: Vec::new(),
            preface: false,
            decoder: Decoder::new(4096, 1 << 20),
            continuing: None,
            streams: BTreeMap::new(),
            highest: 0,
            on_conn: 0,
            settings_delivered: false,
            goaway: None,
            close_when_drained: false,
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Out {
    Connected,
    Refused,
    /// Frame bytes on `stream` (0: the connection's).
    Frame {
        stream: u32,
        bytes: Vec<u8>,
        /// Ends the stream.
        ends: bool,
        /// The stream need not be open (an RST_STREAM for a stream the
        /// server never took).
        always: bool,
        /// A GOAWAY with this last stream.
        goaway: Option<u32>,
        /// The server's SETTINGS.
        settings: bool,
    },
    Eof,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Instant,
    seq: u64,
    conn: usize,
    generation: u64,
    out: Out,
}

/// The scripted HTTP/2 server. See the module doc.
pub struct FakeH2 {
    script: H2Script,
    conns: Vec<Conn>,
    queue: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    /// What the server saw and did.
    pub stats: H2ServerStats,
    /// Every request received whole, in order.
    pub requests: Vec<H2Request>,
    /// When each request arrived, in order.
    pub arrivals: Vec<Instant>,
    /// Breaches of the client's protocol (see the module doc).
    pub violations: Vec<String>,
}

impl FakeH2 {
    /// A server that follows `script`.
    pub fn new(script: H2Script) -> Self {
        Self {
            script,
            conns: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            stats: H2ServerStats::default(),
            requests: Vec::new(),
            arrivals: Vec::new(),
            violations: Vec::new(),
        }
    }

    fn conn(&mut self, c: ConnId) -> &mut Conn {
        if self.conns.len() <= c.0 {
            self.conns.resize_with(c.0 + 1, || Conn::new(0));
        }
        &mut self.conns[c.0]
    }

    /// Streams open on `c` now, as the server counts them.
    pub fn open_streams(&self, c: ConnId) -> usize {
        self.conns.get(c.0).map_or(0, |c| c.streams.len())
    }

    /// The engine asked to connect `c` at `now`.
    pub fn connect(&mut self, c: ConnId, now: Instant) {
        let attempt = self.stats.connect_attempts;
        self.stats.connect_attempts += 1;
        let side = self.conn(c).side;
        if side != Side::Closed {
            self.violations
                .push(format!("{c:?}: Connect while the old socket is {side:?}"));
        }
        let generation = self.conn(c).generation + 1;
        *self.conn(c) = Conn::new(generation);
        self.conn(c).side = Side::Connecting;
        let at = now + self.script.connect_latency;
        match (self.script.connector)(attempt) {
            Connect::Accept => {
                self.push(at, c, Out::Connected);
                let mut settings = Vec::new();
                let limit: Vec<(u16, u32)> = self
                    .script
                    .max_streams
                    .map(|n| (setting::MAX_CONCURRENT_STREAMS, n))
                    .into_iter()
                    .collect();
                write_settings(&limit, &mut settings);
                self.push(
                    at,
                    c,
                    Out::Frame {
                        stream: 0,
                        bytes: settings,
                        ends: false,
                        always: true,
                        goaway: None,
                        settings: true,
                    },
                );
            }
            Connect::Refuse => self.push(at, c, Out::Refused),
            Connect::Hang => {}
        }
    }

    /// The engine closed `c`: everything queued for it is dropped.
    pub fn close(&mut self, c: ConnId) {
        let conn = self.conn(c);
        conn.generation += 1;
        conn.side = Side::Closed;
        conn.streams.clear();
    }

    /// The engine wrote `bytes` on `c` at `now`.
    pub fn receive(&mut self, c: ConnId, now: Instant, bytes: &[u8]) {
        let conn = self.conn(c);
        match conn.side {
            Side::Open => {}
            Side::Closing => return,
            side => {
                self.violations
                    .push(format!("{c:?}: bytes while the socket is {side:?}"));
                return;
            }
        }
        conn.input.extend_from_slice(bytes);
        if !conn.preface {
            if conn.input.len() < PREFACE.len() {
                return;
            }
            if !conn.input.starts_with(PREFACE) {
                self.violations.push(format!("{c:?}: no client preface"));
                self.conn(c).input.clear();
                return;
            }
            conn.input.drain(..PREFACE.len());
            conn.preface = true;
        }
        let input = std::mem::take(&mut self.conn(c).input);
        let mut at = 0;
        loop {
            match decode_frame(&input[at..], DEFAULT_MAX_FRAME_SIZE) {
                Ok(Parsed::Complete(frame, len)) => {
                    self.frame(c, now, frame);
                    at += len;
                }
                Ok(Parsed::Partial) => break,
                Err(e) => {
                    self.violations
                        .push(format!("{c:?}: a frame that does not parse: {e}"));
                    return;
                }
            }
        }
        // `frame` may have reset the slot's state, never its input.
        self.conn(c).input = input[at..].to_vec();
    }

    /// One frame from the client.
    fn frame(&mut self, c: ConnId, now: Instant, frame: Frame<'_>) {
        match frame {
            Frame::Settings { ack: false, .. } => {
                let mut ack = Vec::new();
                write_settings_ack(&mut ack);
                self.push_frame(now, c, 0, ack, false);
            }
            Frame::Headers {
                stream,
                end_stream,
                end_headers,
                block,
            } => {
                if end_headers {
                    self.head(c, now, stream, end_stream, block);
                } else {
                    self.conn(c).continuing = Some((stream, end_stream, block.to_vec()));
                }
            }
            Frame::Continuation {
                stream,
                end_headers,
                block,
            } => {
                let Some((s, end_stream, mut joined)) = self.conn(c).continuing.take() else {
                    self.violations
                        .push(format!("{c:?}: CONTINUATION without HEADERS"));
                    return;
                };
                joined.extend_from_slice(block);
                if s != stream {
                    self.violations
                        .push(format!("{c:?}: CONTINUATION on another stream"));
                } else if end_headers {
                    self.head(c, now, stream, end_stream, &joined);
                } else {
                    self.conn(c).continuing = Some((s, end_stream, joined));
                }
            }
            Frame::Data {
                stream,
                end_stream,
                data,
                ..
            } => {
                let Some(s) = self.conn(c).streams.get_mut(&stream) else {
                    return;
                };
                s.body_len += data.len();
                if end_stream {
                    self.whole(c, now, stream);
                }
            }
            Frame::RstStream { stream, code } => {
                self.stats.client_resets.push((c, stream, code));
                self.conn(c).streams.remove(&stream);
                self.drained(c, now);
            }
            Frame::GoAway { .. } => self.stats.client_goaways += 1,
            _ => {}
        }
    }

    /// A whole header block opening `stream`.
    fn head(&mut self, c: ConnId, now: Instant, stream: u32, end_stream: bool, block: &[u8]) {
        let [mut method, mut path, mut scheme, mut authority] = [const { String::new() }; 4];
        let decoded = self.conn(c).decoder.decode(block, |name, value| {
            let value = String::from_utf8_lossy(value).into_owned();
            match name {
                b":method" => method = value,
                b":path" => path = value,
                b":scheme" => scheme = value,
                b":authority" => authority = value,
                _ => {}
            }
        });
        if let Err(e) = decoded {
            self.violations
                .push(format!("{c:?}: stream {stream}: header block: {e}"));
            return;
        }
        let conn = self.conn(c);
        if stream.is_multiple_of(2) || stream <= conn.highest {
            let highest = conn.highest;
            self.violations.push(format!(
                "{c:?}: HEADERS on stream {stream}, not a new odd stream (highest {highest})"
            ));
            return;
        }
        conn.highest = stream;
        if let Some(last) = conn.goaway {
            self.violations.push(format!(
                "{c:?}: stream {stream} opened after GOAWAY (last stream {last})"
            ));
            return;
        }
        self.stats.streams += 1;
        let limit = self.script.max_streams.map_or(usize::MAX, |n| n as usize);
        let conn = &mut self.conns[c.0];
        if conn.streams.len() >= limit {
            if conn.settings_delivered {
                self.violations.push(format!(
                    "{c:?}: stream {stream} opened with {limit} open, the limit the client had"
                ));
            }
            self.stats.over_limit += 1;
            let mut rst = Vec::new();
            write_rst_stream(stream, ErrorCode::RefusedStream, &mut rst);
            self.push_frame(now, c, stream, rst, true);
            return;
        }
        conn.streams.insert(
            stream,
            Stream {
                method,
                path,
                scheme,
                authority,
                body_len: 0,
                whole: false,
            },
        );
        self.stats.max_open = self.stats.max_open.max(conn.streams.len());
        if end_stream {
            self.whole(c, now, stream);
        }
    }

    /// The request on `stream` is whole: the script answers it.
    fn whole(&mut self, c: ConnId, now: Instant, stream: u32) {
        let conn = &mut self.conns[c.0];
        let Some(s) = conn.streams.get_mut(&stream).filter(|s| !s.whole) else {
            return;
        };
        s.whole = true;
        let request = H2Request {
            index: self.stats.requests,
            on_conn: conn.on_conn,
            conn: c,
            stream,
            method: s.method.clone(),
            path: s.path.clone(),
            scheme: s.scheme.clone(),
            authority: s.authority.clone(),
            body_len: s.body_len,
        };
        conn.on_conn += 1;
        self.stats.requests += 1;
        self.arrivals.push(now);
        if self.script.goaway_after == Some(conn.on_conn) {
            conn.close_when_drained = true;
            let mut goaway = Vec::new();
            write_goaway(stream, ErrorCode::NoError, b"", &mut goaway);
            let at = now + self.script.goaway_delay;
            self.push(
                at,
                c,
                Out::Frame {
                    stream: 0,
                    bytes: goaway,
                    ends: false,
                    always: true,
                    goaway: Some(stream),
                    settings: false,
                },
            );
        }
        let acts = (self.script.responder)(&request);
        self.requests.push(request);
        for (delay, act) in acts {
            self.act(c, now + delay, stream, act);
        }
    }

    /// Queues `act` for `stream` of `c` at `at`.
    fn act(&mut self, c: ConnId, at: Instant, stream: u32, act: Act) {
        let mut bytes = Vec::new();
        let max = DEFAULT_MAX_FRAME_SIZE;
        let (ends, goaway) = match act {
            Act::Respond(status, body) => {
                let mut block = Vec::new();
                encode_response(
                    status,
                    &[("content-length", &body.len().to_string())],
                    &mut block,
                );
                write_headers(stream, &block, body.is_empty(), max, &mut bytes);
                if !body.is_empty() {
                    write_data(stream, &body, true, &mut bytes);
                }
                (true, None)
            }
            Act::Head(status) => {
                let mut block = Vec::new();
                encode_response(status, &[], &mut block);
                write_headers(stream, &block, false, max, &mut bytes);
                (false, None)
            }
            Act::Data(data, end) => {
                write_data(stream, &data, end, &mut bytes);
                (end, None)
            }
            Act::Reset(code) => {
                write_rst_stream(stream, code, &mut bytes);
                (true, None)
            }
            Act::GoAway(last, code) => {
                write_goaway(last, code, b"", &mut bytes);
                (false, Some(last))
            }
            Act::Eof => return self.push(at, c, Out::Eof),
            Act::Raw(raw) => return self.push_frame(at, c, 0, raw, false),
        };
        let stream = if goaway.is_some() { 0 } else { stream };
        self.push(
            at,
            c,
            Out::Frame {
                stream,
                bytes,
                ends,
                always: goaway.is_some(),
                goaway,
                settings: false,
            },
        );
    }

    fn push_frame(&mut self, at: Instant, c: ConnId, stream: u32, bytes: Vec<u8>, ends: bool) {
        self.push(
            at,
            c,
            Out::Frame {
                stream,
                bytes,
                ends,
                always: true,
                goaway: None,
                settings: false,
            },
        );
    }

    fn push(&mut self, at: Instant, c: ConnId, out: Out) {
        let generation = self.conn(c).generation;
        self.seq += 1;
        self.queue.push(Reverse(Pending {
            at,
            seq: self.seq,
            conn: c.0,
            generation,
            out,
        }));
    }

    /// After a periodic GOAWAY, EOF once no stream is left.
    fn drained(&mut self, c: ConnId, now: Instant) {
        let conn = self.conn(c);
        if conn.close_when_drained && conn.goaway.is_some() && conn.streams.is_empty() {
            conn.close_when_drained = false;
            self.push(now, c, Out::Eof);
        }
    }

    /// When the next delivery falls due, if any (some may turn out to be
    /// dropped when they do).
    pub fn next_delivery(&mut self) -> Option<Instant> {
        while let Some(Reverse(p)) = self.queue.peek() {
            if self.conns[p.conn].generation == p.generation {
                return Some(p.at);
            }
            self.queue.pop();
        }
        None
    }

    /// The next delivery due at or before `now`, in order of time and then
    /// of queueing.
    pub fn pop_due(&mut self, now: Instant) -> Option<(ConnId, Delivery)> {
        loop {
            self.next_delivery();
            if self.queue.peek()?.0.at > now {
                return None;
            }
            let Reverse(p) = self.queue.pop()?;
            let c = ConnId(p.conn);
            if let Some(delivery) = self.deliver(c, p.at, p.out) {
                return Some((c, delivery));
            }
        }
    }

    /// What a due item means to the engine, if anything: frames for a
    /// stream that has ended are dropped.
    fn deliver(&mut self, c: ConnId, at: Instant, out: Out) -> Option<Delivery> {
        let conn = &mut self.conns[c.0];
        match out {
            Out::Connected => {
                conn.side = Side::Open;
                self.stats.accepted += 1;
                Some(Delivery::Connected)
            }
            Out::Refused => {
                conn.side = Side::Closed;
                self.stats.refused += 1;
                Some(Delivery::ConnectFailed(ErrorKind::ConnectRefused))
            }
            Out::Eof => {
                conn.side = Side::Closing;
                conn.generation += 1;
                conn.streams.clear();
                self.stats.eofs += 1;
                Some(Delivery::Eof)
            }
            Out::Frame {
                stream,
                bytes,
                ends,
                always,
                goaway,
                settings,
            } => {
                if stream != 0 && !conn.streams.contains_key(&stream) && !always {
                    return None;
                }
                if ends {
                    conn.streams.remove(&stream);
                }
                conn.settings_delivered |= settings;
                if let Some(last) = goaway {
                    conn.goaway = Some(conn.goaway.map_or(last, |l| l.min(last)));
                    // Streams above it were not processed: forgotten.
                    conn.streams.retain(|&s, _| s <= last);
                    self.stats.goaways += 1;
                }
                self.drained(c, at);
                Some(Delivery::Data(bytes))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley_core::h2::H2Conn;
    use volley_core::h2::hpack::encode_request;

    /// What the client connection reports of `bytes`, as text.
    fn feed(conn: &mut H2Conn, bytes: &[u8], out: &mut Vec<u8>) -> Vec<String> {
        let mut events = Vec::new();
        conn.feed(bytes, out, |e| events.push(format!("{e:?}")));
        events
    }

    #[test]
    fn answers_core_client_connection() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut server = FakeH2::new(H2Script::ok(ms(5)).max_streams(1));
        let c = ConnId(0);
        server.connect(c, t0);
        assert_eq!(server.pop_due(t0), Some((c, Delivery::Connected)));
        let mut out = Vec::new();
        let mut client = H2Conn::new(&mut out);
        let Some((_, Delivery::Data(settings))) = server.pop_due(t0) else {
            panic!("no SETTINGS");
        };
        assert!(feed(&mut client, &settings, &mut out).is_empty());
        assert_eq!(client.max_streams(), 1);
        let mut block = Vec::new();
        encode_request("GET", "http", "sim.test", "/7", &[], &mut block);
        client.open(&block, b"", &mut out).expect("a stream");
        server.receive(c, t0, &out);
        out.clear();
        assert_eq!(server.requests.len(), 1);
        assert_eq!(
            (
                server.requests[0].method.as_str(),
                server.requests[0].path.as_str()
            ),
            ("GET", "/7")
        );
        assert_eq!(server.open_streams(c), 1);
        // The acknowledgement of the client's SETTINGS, then the answer.
        let Some((_, Delivery::Data(ack))) = server.pop_due(t0) else {
            panic!("no SETTINGS ACK");
        };
        assert!(feed(&mut client, &ack, &mut out).is_empty());
        assert_eq!(server.pop_due(t0 + ms(4)), None);
        let Some((_, Delivery::Data(answer))) = server.pop_due(t0 + ms(5)) else {
            panic!("no answer");
        };
        assert_eq!(
            feed(&mut client, &answer, &mut out),
            [
                "Response { stream: StreamId(1), status: 200 }",
                "Body { stream: StreamId(1), data: [111, 107] }",
                "Done { stream: StreamId(1) }",
            ]
        );
        assert_eq!(server.open_streams(c), 0);
        assert!(server.violations.is_empty(), "{:?}", server.violations);
        // Stream 3 is within the limit; stream 5 beside it, from a client
        // that ignores the limit it has, is refused and a violation.
        client.open(&block, b"", &mut out).expect("a stream");
        server.receive(c, t0 + ms(6), &out);
        out.clear();
        assert!(server.violations.is_empty(), "{:?}", server.violations);
        write_headers(5, &block, true, DEFAULT_MAX_FRAME_SIZE, &mut out);
        server.receive(c, t0 + ms(6), &out);
        assert_eq!(server.violations.len(), 1, "{:?}", server.violations);
        assert_eq!(server.stats.over_limit, 1);
        let Some((_, Delivery::Data(refused))) = server.pop_due(t0 + ms(6)) else {
            panic!("no RST_STREAM");
        };
        assert_eq!(
            decode_frame(&refused, DEFAULT_MAX_FRAME_SIZE),
            Ok(Parsed::Complete(
                Frame::RstStream {
                    stream: 5,
                    code: ErrorCode::RefusedStream
                },
                13
            ))
        );
    }
}
