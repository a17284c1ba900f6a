//! The HTTP/2 server over real loopback sockets, against volley's own
//! client connection (core's `H2Conn`) and against a frame-level client
//! that checks what the server sends byte for byte. Compiled for tests
//! only (`#[cfg(test)] mod tests;` in mod.rs). Every read is bounded by a
//! timeout, so a server that stops answering fails a test instead of
//! hanging it.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use volley_core::h2::frame::{
    HEADER_LEN, MAX_MAX_FRAME_SIZE, PREFACE, kind, setting, write_data, write_ping,
    write_rst_stream, write_settings, write_settings_ack, write_window_update,
};
use volley_core::h2::hpack::{DEFAULT_TABLE_SIZE, Decoder, encode_request};
use volley_core::h2::{ErrorCode, Event, H2Conn, Parsed, StreamId, decode_frame, parse_header};

use super::session::{MAX_CONCURRENT_STREAMS, RECV_WINDOW};
use crate::testing::{GET, read_response, serve};
use crate::{RunningServer, ServeConfig};

const IO_TIMEOUT: Duration = Duration::from_secs(5);

fn h2_config(config: ServeConfig) -> ServeConfig {
    ServeConfig {
        http2: true,
        ..config
    }
}

fn tcp(server: &RunningServer) -> TcpStream {
    let s = TcpStream::connect(server.addr()).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    s.set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    s
}

/// A GET's header block, as volley's client encodes it.
fn get_block(method: &str) -> Vec<u8> {
    let mut block = Vec::new();
    encode_request(method, "http", "127.0.0.1", "/", &[], &mut block);
    block
}

// ---- volley's client connection over a socket -------------------------

/// What happened to the streams of one connection, owned.
#[derive(Debug, Default)]
struct Seen {
    statuses: Vec<(StreamId, u16)>,
    body: Vec<(StreamId, usize)>,
    done: Vec<StreamId>,
    resets: Vec<(StreamId, ErrorCode, bool)>,
    goaway: Option<(StreamId, ErrorCode)>,
    failed: bool,
    lost: usize,
    /// The server closed the connection.
    eof: bool,
}

impl Seen {
    fn ended(&self) -> usize {
        self.done.len() + self.resets.len() + self.lost
    }

    fn body_of(&self, stream: StreamId) -> usize {
        self.body
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, n)| n)
            .sum()
    }

    fn record(&mut self, event: Event<'_>) {
        match event {
            Event::Response { stream, status } => self.statuses.push((stream, status)),
            Event::Body { stream, data } => self.body.push((stream, data.len())),
            Event::Done { stream } => self.done.push(stream),
            Event::Reset {
                stream,
                code,
                unprocessed,
            } => self.resets.push((stream, code, unprocessed)),
            Event::GoAway { last_stream, code } => self.goaway = Some((last_stream, code)),
            Event::Failed(_) => self.failed = true,
            Event::Lost { .. } => self.lost += 1,
            _ => {}
        }
    }
}

/// Opens `n` streams carrying `method` requests with `body` on one
/// connection, and runs it until all of them ended (or, with `until_eof`,
/// until the server closed the connection).
fn run_streams(
    server: &RunningServer,
    n: usize,
    method: &str,
    body: &[u8],
    until_eof: bool,
) -> Seen {
    let mut s = tcp(server);
    let mut out = Vec::new();
    let mut conn = H2Conn::new(&mut out);
    let block = get_block(method);
    for _ in 0..n {
        conn.open(&block, body, &mut out).expect("open a stream");
    }
    let mut seen = Seen::default();
    let mut buf = vec![0; 64 * 1024];
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        if !out.is_empty() {
            s.write_all(&out).expect("write");
            out.clear();
        }
        if (seen.ended() == n && !until_eof) || seen.eof {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: {} of {n} streams ended",
            seen.ended()
        );
        let got = s.read(&mut buf).expect("read");
        if got == 0 {
            conn.eof(|e| seen.record(e));
            seen.eof = true;
        } else {
            conn.feed(&buf[..got], &mut out, |e| seen.record(e));
        }
    }
}

#[test]
fn a_hundred_concurrent_streams_get_their_answers() {
    let server = serve(h2_config(ServeConfig {
        body_size: 100,
        ..Default::default()
    }));
    let seen = run_streams(&server, 100, "GET", b"", false);
    assert!(!seen.failed && seen.resets.is_empty() && seen.lost == 0);
    assert_eq!(seen.done.len(), 100);
    assert!(seen.statuses.iter().all(|&(_, status)| status == 200));
    assert!(seen.done.iter().all(|&id| seen.body_of(id) == 100));
    drop(seen);
    let stats = server.stop().unwrap();
    assert_eq!(
        (stats.connections, stats.requests, stats.responses),
        (1, 100, 100)
    );
}

#[test]
fn bodies_past_every_default_window_and_request_bodies_arrive_whole() {
    // Each body is past the 65,535-byte default window, and the ten of
    // them past the 16 MiB the client grants the connection, so the
    // client's WINDOW_UPDATEs must keep the server going; the request
    // bodies are past the server's 65,535 before its SETTINGS arrive.
    let body_size = 2 * 1024 * 1024 + 1;
    let server = serve(h2_config(ServeConfig {
        body_size,
        ..Default::default()
    }));
    let request_body = vec![b'r'; 300_000];
    let seen = run_streams(&server, 10, "POST", &request_body, false);
    assert!(!seen.failed && seen.resets.is_empty(), "{:?}", seen.resets);
    assert_eq!(seen.done.len(), 10);
    assert!(seen.done.iter().all(|&id| seen.body_of(id) == body_size));
}

#[test]
fn head_and_the_status_mix_and_no_body_statuses() {
    let server = serve(h2_config(ServeConfig {
        statuses: vec![(200, 1), (204, 1), (503, 1)],
        body_size: 10,
        ..Default::default()
    }));
    let seen = run_streams(&server, 6, "GET", b"", false);
    let mut statuses: Vec<u16> = seen.statuses.iter().map(|&(_, s)| s).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 204, 204, 503, 503]);
    for &(id, status) in &seen.statuses {
        let expected = if status == 204 { 0 } else { 10 };
        assert_eq!(seen.body_of(id), expected, "status {status}");
    }
    let seen = run_streams(&server, 3, "HEAD", b"", false);
    assert_eq!(seen.done.len(), 3);
    assert!(seen.done.iter().all(|&id| seen.body_of(id) == 0));
}

#[test]
fn the_delay_holds_every_stream() {
    let delay = Duration::from_millis(50);
    let server = serve(h2_config(ServeConfig {
        delay,
        ..Default::default()
    }));
    let sent = Instant::now();
    let seen = run_streams(&server, 20, "GET", b"", false);
    assert_eq!(seen.done.len(), 20);
    assert!(
        sent.elapsed() >= delay,
        "answered after {:?}",
        sent.elapsed()
    );
}

#[test]
fn goaway_after_max_requests_names_the_last_stream() {
    let server = serve(h2_config(ServeConfig {
        max_requests: Some(3),
        ..Default::default()
    }));
    let seen = run_streams(&server, 5, "GET", b"", true);
    // Streams 1, 3 and 5 are served; 7 and 9 were not processed, so the
    // client may send them again on another connection.
    assert_eq!(seen.goaway, Some((StreamId(5), ErrorCode::NoError)));
    let mut done = seen.done.clone();
    done.sort_unstable();
    assert_eq!(done, [StreamId(1), StreamId(3), StreamId(5)]);
    let mut resets = seen.resets.clone();
    resets.sort_unstable_by_key(|r| r.0);
    assert_eq!(
        resets,
        [
            (StreamId(7), ErrorCode::NoError, true),
            (StreamId(9), ErrorCode::NoError, true)
        ]
    );
    // ... and then the server closed the connection.
    assert!(seen.eof && !seen.failed && seen.lost == 0);
    let stats = server.stop().unwrap();
    assert_eq!((stats.requests, stats.responses), (3, 3));
}

#[test]
fn http1_is_still_served_with_http2_on() {
    let server = serve(h2_config(ServeConfig {
        body_size: 5,
        max_requests: Some(2),
        ..Default::default()
    }));
    // One byte at a time: the first one already tells it from the preface.
    let s = tcp(&server);
    let mut r = BufReader::new(s.try_clone().unwrap());
    for &b in GET {
        (&s).write_all(&[b]).unwrap();
    }
    let resp = read_response(&mut r, false);
    assert_eq!((resp.status, resp.body.len()), (200, 5));
    assert_eq!(resp.header("connection"), None);
    // The second is the last max_requests allows.
    (&s).write_all(GET).unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.header("connection"), Some("close"));
    crate::testing::assert_closed(&mut r);
    // A head that starts as the preface does but goes on as HTTP/1.1 is
    // an HTTP/1.1 request (with the method PRI), answered as any other.
    let s = tcp(&server);
    let mut r = BufReader::new(s.try_clone().unwrap());
    (&s).write_all(b"PRI * HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut r, false).status, 200);
}

// ---- a frame-level client ---------------------------------------------

/// One frame as received, owned.
#[derive(Debug)]
struct Got {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

impl Got {
    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

/// A client that writes frames built with core's writers and reads the
/// server's frame by frame.
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
    decoder: Decoder,
}

impl Client {
    /// Connects and sends the preface and SETTINGS with `settings`.
    fn connect(server: &RunningServer, settings: &[(u16, u32)]) -> Self {
        let mut c = Self {
            s: tcp(server),
            buf: Vec::new(),
            decoder: Decoder::new(DEFAULT_TABLE_SIZE, usize::MAX),
        };
        let mut out = PREFACE.to_vec();
        write_settings(settings, &mut out);
        c.send(&out);
        c
    }

    /// Connects, and reads the server's SETTINGS, its WINDOW_UPDATE and
    /// its ACK of the client's SETTINGS (which the client acknowledges).
    fn ready(server: &RunningServer, settings: &[(u16, u32)]) -> Self {
        let mut c = Self::connect(server, settings);
        let f = c.next();
        assert_eq!((f.kind, f.flags), (kind::SETTINGS, 0));
        let mut params: Vec<(u16, u32)> = f
            .payload
            .chunks(6)
            .map(|p| {
                (
                    u16::from_be_bytes([p[0], p[1]]),
                    u32::from_be_bytes(p[2..6].try_into().unwrap()),
                )
            })
            .collect();
        params.sort_unstable();
        assert_eq!(
            params,
            [
                (setting::MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS),
                (setting::INITIAL_WINDOW_SIZE, RECV_WINDOW),
                (setting::MAX_HEADER_LIST_SIZE, 64 * 1024)
            ]
        );
        let f = c.next();
        assert_eq!(
            (f.kind, f.stream, f.u32_at(0)),
            (kind::WINDOW_UPDATE, 0, RECV_WINDOW - 65_535)
        );
        let f = c.next();
        assert_eq!((f.kind, f.flags), (kind::SETTINGS, 1), "settings ack");
        let mut ack = Vec::new();
        write_settings_ack(&mut ack);
        c.send(&ack);
        c
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// The next frame; panics on a timeout or the end of stream.
    fn next(&mut self) -> Got {
        self.try_next().expect("a frame, not the end of stream")
    }

    /// The next frame, or `None` at the end of stream.
    fn try_next(&mut self) -> Option<Got> {
        loop {
            if let Some(h) = parse_header(&self.buf) {
                let len = HEADER_LEN + h.len as usize;
                if self.buf.len() >= len {
                    // Whole frames must parse.
                    assert!(matches!(
                        decode_frame(&self.buf, MAX_MAX_FRAME_SIZE),
                        Ok(Parsed::Complete(..))
                    ));
                    let payload = self.buf[HEADER_LEN..len].to_vec();
                    self.buf.drain(..len);
                    return Some(Got {
                        kind: h.kind,
                        flags: h.flags,
                        stream: h.stream,
                        payload,
                    });
                }
            }
            let mut chunk = [0; 16 * 1024];
            let n = self.s.read(&mut chunk).expect("read within the timeout");
            if n == 0 {
                assert!(self.buf.is_empty(), "end of stream inside a frame");
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The `:status` of a HEADERS frame's block.
    fn status(&mut self, f: &Got) -> u16 {
        assert_eq!(f.kind, kind::HEADERS);
        let mut status = 0;
        self.decoder
            .decode(&f.payload, |n, v| {
                if n == b":status" {
                    status = std::str::from_utf8(v).unwrap().parse().unwrap();
                }
            })
            .unwrap();
        status
    }

    /// Sends a request's HEADERS (END_HEADERS; END_STREAM if `end`).
    fn request(&mut self, stream: u32, block: &[u8], end: bool) {
        let mut out = Vec::new();
        volley_core::h2::frame::write_headers(stream, block, end, 16_384, &mut out);
        self.send(&out);
    }

    /// Asserts the server sends nothing for a while.
    fn quiet(&mut self, wait: Duration) {
        self.s.set_read_timeout(Some(wait)).unwrap();
        let mut byte = [0; 1];
        let r = self.s.read(&mut byte);
        assert!(
            matches!(&r, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            "expected silence, got {r:?}"
        );
        self.s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    }
}

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

#[test]
fn data_stops_at_the_client_windows_and_resumes_with_window_updates() {
    let body_size = 100_000;
    let server = serve(h2_config(ServeConfig {
        body_size,
        ..Default::default()
    }));
    // The defaults: 65,535 for the stream and the connection, frames of
    // 16,384 at most.
    let mut c = Client::ready(&server, &[]);
    c.request(1, &get_block("GET"), true);
    let f = c.next();
    assert_eq!((c.status(&f), f.flags), (200, END_HEADERS));
    let mut got = 0;
    while got < 65_535 {
        let f = c.next();
        assert_eq!((f.kind, f.stream, f.flags), (kind::DATA, 1, 0));
        assert!(f.payload.len() <= 16_384);
        got += f.payload.len();
    }
    assert_eq!(got, 65_535, "exactly the window");
    c.quiet(Duration::from_millis(100));
    // The stream's window alone is not enough: the connection's is spent.
    let mut out = Vec::new();
    write_window_update(1, 50_000, &mut out);
    c.send(&out);
    c.quiet(Duration::from_millis(100));
    // The connection's opens 10,000 more.
    out.clear();
    write_window_update(0, 10_000, &mut out);
    c.send(&out);
    let f = c.next();
    assert_eq!((f.kind, f.payload.len(), f.flags), (kind::DATA, 10_000, 0));
    c.quiet(Duration::from_millis(50));
    // A raised initial window (SETTINGS) counts for the open stream too.
    out.clear();
    write_window_update(0, 1 << 20, &mut out);
    write_settings(&[(setting::INITIAL_WINDOW_SIZE, 1 << 20)], &mut out);
    c.send(&out);
    let mut rest = 0;
    loop {
        let f = c.next();
        if f.kind == kind::SETTINGS {
            assert_eq!(f.flags, 1, "the ack");
            continue;
        }
        assert_eq!((f.kind, f.stream), (kind::DATA, 1));
        rest += f.payload.len();
        if f.flags & END_STREAM != 0 {
            break;
        }
    }
    assert_eq!(got + 10_000 + rest, body_size);
}

#[test]
fn a_larger_max_frame_size_makes_larger_data_frames() {
    let server = serve(h2_config(ServeConfig {
        body_size: 40_000,
        ..Default::default()
    }));
    let mut c = Client::ready(
        &server,
        &[
            (setting::MAX_FRAME_SIZE, 1 << 20),
            (setting::INITIAL_WINDOW_SIZE, 1 << 20),
        ],
    );
    let mut out = Vec::new();
    write_window_update(0, 1 << 20, &mut out);
    c.send(&out);
    c.request(1, &get_block("GET"), true);
    assert_eq!(c.next().kind, kind::HEADERS);
    let f = c.next();
    assert_eq!(
        (f.kind, f.payload.len(), f.flags),
        (kind::DATA, 40_000, END_STREAM)
    );
}

#[test]
fn ping_is_answered_and_priority_and_unknown_frames_are_ignored() {
    let server = serve(h2_config(ServeConfig::default()));
    let mut c = Client::ready(&server, &[]);
    let mut out = Vec::new();
    // PRIORITY on a stream not yet opened, and a frame of type 0xfa.
    out.extend_from_slice(&[0, 0, 5, kind::PRIORITY, 0, 0, 0, 0, 3, 0, 0, 0, 0, 16]);
    out.extend_from_slice(&[0, 0, 2, 0xfa, 0xff, 0, 0, 0, 1, b'h', b'i']);
    write_ping(*b"volley!!", &mut out);
    c.send(&out);
    let f = c.next();
    assert_eq!(
        (f.kind, f.flags, &f.payload[..]),
        (kind::PING, 1, &b"volley!!"[..])
    );
    // Stream 3 can still be opened: PRIORITY did not open it.
    c.request(3, &get_block("GET"), true);
    let f = c.next();
    assert_eq!((f.stream, c.status(&f)), (3, 200));
}

#[test]
fn a_stream_past_the_concurrency_limit_is_refused() {
    let server = serve(h2_config(ServeConfig::default()));
    let mut c = Client::ready(&server, &[]);
    let block = get_block("POST");
    let limit = MAX_CONCURRENT_STREAMS;
    // Requests whose bodies never come: every stream stays open.
    for i in 0..=limit {
        c.request(2 * i + 1, &block, false);
    }
    let f = c.next();
    assert_eq!(
        (f.kind, f.stream, ErrorCode::from(f.u32_at(0))),
        (kind::RST_STREAM, 2 * limit + 1, ErrorCode::RefusedStream)
    );
    // Ending one stream answers it; the client's RST ends another, which
    // makes room for a new one.
    let mut out = Vec::new();
    write_data(1, b"body", true, &mut out);
    write_rst_stream(3, ErrorCode::Cancel, &mut out);
    c.send(&out);
    let f = c.next();
    assert_eq!((f.stream, c.status(&f)), (1, 200));
    assert_eq!(c.next().kind, kind::DATA);
    c.request(2 * limit + 3, &get_block("GET"), true);
    let f = c.next();
    assert_eq!((f.stream, c.status(&f)), (2 * limit + 3, 200));
}

#[test]
fn a_malformed_request_is_reset_and_the_connection_goes_on() {
    let server = serve(h2_config(ServeConfig::default()));
    let mut c = Client::ready(&server, &[]);
    // No :path.
    let mut block = Vec::new();
    encode_request("GET", "http", "h", "/", &[], &mut block);
    block.pop(); // `:path /` is the last byte, index 4.
    c.request(1, &block, true);
    let f = c.next();
    assert_eq!(
        (f.kind, f.stream, ErrorCode::from(f.u32_at(0))),
        (kind::RST_STREAM, 1, ErrorCode::ProtocolError)
    );
    // An uppercase field name.
    let mut block = get_block("GET");
    block.extend_from_slice(b"\x00\x01X\x01y");
    c.request(3, &block, true);
    assert_eq!(c.next().kind, kind::RST_STREAM);
    c.request(5, &get_block("GET"), true);
    let f = c.next();
    assert_eq!((f.stream, c.status(&f)), (5, 200));
}

#[test]
fn expect_continue_gets_an_interim_head() {
    let server = serve(h2_config(ServeConfig::default()));
    let mut c = Client::ready(&server, &[]);
    let mut block = Vec::new();
    encode_request(
        "POST",
        "http",
        "h",
        "/",
        &[("expect", "100-continue")],
        &mut block,
    );
    c.request(1, &block, false);
    let f = c.next();
    assert_eq!((c.status(&f), f.flags), (100, END_HEADERS));
    let mut out = Vec::new();
    write_data(1, b"now the body", true, &mut out);
    c.send(&out);
    let f = c.next();
    assert_eq!(c.status(&f), 200);
}

/// Sends `bytes` after the handshake and expects GOAWAY with `code`, then
/// the end of stream.
fn expect_goaway(bytes: &[u8], code: ErrorCode, last_stream: u32, opened: &[u32]) {
    let server = serve(h2_config(ServeConfig::default()));
    let mut c = Client::ready(&server, &[]);
    for &id in opened {
        c.request(id, &get_block("GET"), true);
        let f = c.next();
        assert_eq!(c.status(&f), 200);
        assert_eq!(c.next().kind, kind::DATA);
    }
    c.send(bytes);
    let f = c.next();
    assert_eq!(f.kind, kind::GOAWAY, "{f:?}");
    assert_eq!(
        (f.u32_at(0), ErrorCode::from(f.u32_at(4))),
        (last_stream, code)
    );
    c.s.shutdown(Shutdown::Write).unwrap();
    assert!(c.try_next().is_none(), "the end of stream");
}

#[test]
fn protocol_errors_get_goaway_with_their_code() {
    // DATA on stream 0.
    expect_goaway(
        &[0, 0, 1, kind::DATA, 0, 0, 0, 0, 0, b'x'],
        ErrorCode::ProtocolError,
        0,
        &[],
    );
    // DATA on a stream never opened.
    let mut out = Vec::new();
    write_data(7, b"x", false, &mut out);
    expect_goaway(&out, ErrorCode::ProtocolError, 1, &[1]);
    // HEADERS on a stream already closed.
    let mut out = Vec::new();
    volley_core::h2::frame::write_headers(1, &get_block("GET"), true, 16_384, &mut out);
    expect_goaway(&out, ErrorCode::StreamClosed, 3, &[1, 3]);
    // An even stream.
    let mut out = Vec::new();
    volley_core::h2::frame::write_headers(2, &get_block("GET"), true, 16_384, &mut out);
    expect_goaway(&out, ErrorCode::ProtocolError, 0, &[]);
    // A frame larger than the default maximum.
    let mut out = vec![0, 0x40, 0x01, kind::DATA, 0, 0, 0, 0, 1];
    out.resize(HEADER_LEN + 16_385, 0);
    expect_goaway(&out, ErrorCode::FrameSizeError, 0, &[]);
    // An HPACK index past both tables.
    let mut out = Vec::new();
    volley_core::h2::frame::write_headers(1, &[0xff, 0x7f], true, 16_384, &mut out);
    expect_goaway(&out, ErrorCode::CompressionError, 1, &[]);
    // A window overflow.
    let mut out = Vec::new();
    write_window_update(0, (1 << 31) - 1, &mut out);
    expect_goaway(&out, ErrorCode::FlowControlError, 0, &[]);
}

#[test]
fn a_client_that_does_not_start_with_settings_gets_goaway() {
    let server = serve(h2_config(ServeConfig::default()));
    let mut s = tcp(&server);
    let mut out = PREFACE.to_vec();
    write_ping(*b"12345678", &mut out);
    s.write_all(&out).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    // SETTINGS, WINDOW_UPDATE, then the GOAWAY.
    let goaway = &all[HEADER_LEN + 18 + HEADER_LEN + 4..];
    assert_eq!(goaway[3], kind::GOAWAY);
    let code = u32::from_be_bytes(goaway[HEADER_LEN + 4..HEADER_LEN + 8].try_into().unwrap());
    assert_eq!(ErrorCode::from(code), ErrorCode::ProtocolError);
}

#[test]
fn a_client_that_closes_after_its_requests_still_gets_the_answers() {
    let server = serve(h2_config(ServeConfig {
        delay: Duration::from_millis(20),
        ..Default::default()
    }));
    let mut c = Client::ready(&server, &[]);
    c.request(1, &get_block("GET"), true);
    c.request(3, &get_block("GET"), true);
    c.s.shutdown(Shutdown::Write).unwrap();
    let mut ended = 0;
    while let Some(f) = c.try_next() {
        if f.kind == kind::DATA && f.flags & END_STREAM != 0 {
            ended += 1;
        }
    }
    assert_eq!(ended, 2);
}

#[test]
fn a_head_in_continuations_over_the_list_limit_gets_431() {
    let server = serve(h2_config(ServeConfig::default()));
    let mut c = Client::ready(&server, &[]);
    let mut block = Vec::new();
    let big = "v".repeat(70_000);
    encode_request("GET", "http", "h", "/", &[("x-big", &big)], &mut block);
    // HEADERS and four CONTINUATIONs.
    c.request(1, &block, true);
    let f = c.next();
    assert_eq!((f.stream, c.status(&f)), (1, 431));
    // The decoder is still in step: the next request is answered.
    c.request(3, &get_block("GET"), true);
    let f = c.next();
    assert_eq!((f.stream, c.status(&f)), (3, 200));
}

#[test]
fn an_answer_for_a_stream_the_client_reset_is_dropped() {
    let server = serve(h2_config(ServeConfig {
        delay: Duration::from_millis(30),
        ..Default::default()
    }));
    let mut c = Client::ready(&server, &[]);
    c.request(1, &get_block("GET"), true);
    c.request(3, &get_block("GET"), true);
    let mut out = Vec::new();
    write_rst_stream(1, ErrorCode::Cancel, &mut out);
    c.send(&out);
    let f = c.next();
    assert_eq!((f.stream, c.status(&f)), (3, 200));
    assert_eq!(c.next().stream, 3);
    c.quiet(Duration::from_millis(60));
    drop(c);
    let stats = server.stop().unwrap();
    assert_eq!((stats.requests, stats.responses), (2, 1));
}
