//! The connection against a scripted server: frames built with the
//! codec's writers and a tiny HPACK encoder for responses. The file is
//! compiled for tests only (`#[cfg(test)] mod tests;` in mod.rs).

use super::*;
use crate::h2::error::FrameError;
use crate::h2::frame::{self, MAX_MAX_FRAME_SIZE, write_data, write_ping};
use crate::h2::hpack::encode_request;

// ---- the server's side ------------------------------------------------

/// An integer with an N-bit prefix (RFC 7541 §5.1).
fn int(value: usize, flags: u8, bits: u8, out: &mut Vec<u8>) {
    let max = (1 << bits) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// A response's header block: `:status` (indexed when the static table
/// has it), then the fields as literals without indexing, or with
/// incremental indexing for names starting with `+` (the `+` dropped).
fn head(status: u16, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = vec![];
    match status {
        200 => b.push(0x88),
        204 => b.push(0x89),
        404 => b.push(0x8d),
        _ => {
            int(8, 0x00, 4, &mut b); // literal, name :status (index 8)
            literal(&status.to_string(), &mut b);
        }
    }
    for (name, value) in fields {
        trailer_field(name, value, &mut b);
    }
    b
}

/// A block of regular fields (trailers).
fn fields(list: &[(&str, &str)]) -> Vec<u8> {
    let mut b = vec![];
    for (name, value) in list {
        trailer_field(name, value, &mut b);
    }
    b
}

fn trailer_field(name: &str, value: &str, b: &mut Vec<u8>) {
    match name.strip_prefix('+') {
        Some(name) => {
            b.push(0x40);
            literal(name, b);
        }
        None => {
            b.push(0x00);
            literal(name, b);
        }
    }
    literal(value, b);
}

fn literal(s: &str, b: &mut Vec<u8>) {
    int(s.len(), 0x00, 7, b);
    b.extend_from_slice(s.as_bytes());
}

/// The server's bytes, frame by frame.
#[derive(Default, Clone)]
struct Server(Vec<u8>);

impl Server {
    fn settings(mut self, params: &[(u16, u32)]) -> Self {
        frame::write_settings(params, &mut self.0);
        self
    }
    fn settings_ack(mut self) -> Self {
        frame::write_settings_ack(&mut self.0);
        self
    }
    fn headers(mut self, stream: u32, block: &[u8], end_stream: bool) -> Self {
        write_headers(stream, block, end_stream, MAX_FRAME_SIZE, &mut self.0);
        self
    }
    fn data(mut self, stream: u32, data: &[u8], end_stream: bool) -> Self {
        write_data(stream, data, end_stream, &mut self.0);
        self
    }
    fn rst(mut self, stream: u32, code: ErrorCode) -> Self {
        write_rst_stream(stream, code, &mut self.0);
        self
    }
    fn goaway(mut self, last_stream: u32, code: ErrorCode) -> Self {
        write_goaway(last_stream, code, b"bye", &mut self.0);
        self
    }
    fn ping(mut self, data: [u8; 8]) -> Self {
        write_ping(data, &mut self.0);
        self
    }
    fn window(mut self, stream: u32, increment: u32) -> Self {
        write_window_update(stream, increment, &mut self.0);
        self
    }
    /// A frame from its parts.
    fn raw(mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Self {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        self.0
            .extend_from_slice(&[len[1], len[2], len[3], kind, flags]);
        self.0.extend_from_slice(&stream.to_be_bytes());
        self.0.extend_from_slice(payload);
        self
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
}

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const ACK: u8 = 0x1;

// ---- what the client did ---------------------------------------------

/// An event, owned, to compare lists of them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Response(u32, u16),
    Body(u32, Vec<u8>),
    Done(u32),
    Reset(u32, ErrorCode, bool),
    Malformed(u32, StreamError),
    GoAway(u32, ErrorCode),
    Failed(ConnError),
    Lost(u32, bool),
}

fn own(e: Event<'_>) -> Ev {
    match e {
        Event::Response { stream, status } => Ev::Response(stream.0, status),
        Event::Body { stream, data } => Ev::Body(stream.0, data.to_vec()),
        Event::Done { stream } => Ev::Done(stream.0),
        Event::Reset {
            stream,
            code,
            unprocessed,
        } => Ev::Reset(stream.0, code, unprocessed),
        Event::Malformed { stream, error } => Ev::Malformed(stream.0, error),
        Event::GoAway { last_stream, code } => Ev::GoAway(last_stream.0, code),
        Event::Failed(e) => Ev::Failed(e),
        Event::Lost { stream, answered } => Ev::Lost(stream.0, answered),
    }
}

/// A frame the client wrote, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Sent {
    Settings(Vec<(u16, u32)>),
    SettingsAck,
    Window(u32, u32),
    Ping([u8; 8]),
    PingAck([u8; 8]),
    /// Stream, END_STREAM, END_HEADERS, block length.
    Headers(u32, bool, bool, usize),
    Continuation(u32, bool, usize),
    /// Stream, length, END_STREAM.
    Data(u32, usize, bool),
    Rst(u32, ErrorCode),
    GoAway(u32, ErrorCode),
}

/// The frames of `out` (after the preface, if it starts with it).
fn sent(out: &[u8]) -> Vec<Sent> {
    let mut rest = out.strip_prefix(&PREFACE[..]).unwrap_or(out);
    let mut frames = vec![];
    while !rest.is_empty() {
        let Ok(Parsed::Complete(f, len)) = decode_frame(rest, MAX_MAX_FRAME_SIZE) else {
            panic!("client wrote a bad frame: {rest:?}");
        };
        frames.push(match f {
            Frame::Settings { ack: false, params } => Sent::Settings(params.iter().collect()),
            Frame::Settings { ack: true, .. } => Sent::SettingsAck,
            Frame::WindowUpdate { stream, increment } => Sent::Window(stream, increment),
            Frame::Ping { ack: false, data } => Sent::Ping(data),
            Frame::Ping { ack: true, data } => Sent::PingAck(data),
            Frame::Headers {
                stream,
                end_stream,
                end_headers,
                block,
            } => Sent::Headers(stream, end_stream, end_headers, block.len()),
            Frame::Continuation {
                stream,
                end_headers,
                block,
            } => Sent::Continuation(stream, end_headers, block.len()),
            Frame::Data {
                stream,
                end_stream,
                data,
                ..
            } => Sent::Data(stream, data.len(), end_stream),
            Frame::RstStream { stream, code } => Sent::Rst(stream, code),
            Frame::GoAway {
                last_stream, code, ..
            } => Sent::GoAway(last_stream, code),
            f => panic!("client wrote {f:?}"),
        });
        rest = &rest[len..];
    }
    frames
}

/// A GET's header block.
fn get() -> Vec<u8> {
    let mut b = vec![];
    encode_request("GET", "https", "example.com", "/", &[], &mut b);
    b
}

/// A connection that has exchanged SETTINGS (the server's empty) and
/// opened `streams` GETs (1, 3, 5, …), with `out` cleared.
fn ready(streams: usize) -> H2Conn {
    let mut out = vec![];
    let mut c = H2Conn::new(&mut out);
    c.feed(&Server::default().settings(&[]).0, &mut out, |e| {
        panic!("{e:?}")
    });
    for _ in 0..streams {
        c.open(&get(), b"", &mut out).unwrap();
    }
    c
}

/// How a case's connection starts.
#[derive(Clone, Copy)]
enum Setup {
    /// Just created: the server's preface is part of the case.
    Fresh,
    /// [`ready`] with this many streams open.
    Open(usize),
}

fn setup(s: Setup) -> H2Conn {
    match s {
        Setup::Fresh => H2Conn::new(&mut vec![]),
        Setup::Open(n) => ready(n),
    }
}

/// Feeds the pieces in turn: the events and the frames written.
fn run(s: Setup, pieces: &[&[u8]]) -> (Vec<Ev>, Vec<Sent>) {
    let mut c = setup(s);
    let (mut events, mut out) = (vec![], vec![]);
    for piece in pieces {
        c.feed(piece, &mut out, |e| events.push(own(e)));
    }
    (events, sent(&out))
}

/// Feeds `bytes` three ways (STYLE 17), which must agree: at once; one
/// byte at a time, and split in two at every offset (for inputs up to
/// 4 KiB); and followed by the start of another frame, which must change
/// nothing.
fn three_ways(s: Setup, bytes: &[u8]) -> (Vec<Ev>, Vec<Sent>) {
    let whole = run(s, &[bytes]);
    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(run(s, &bytewise), whole, "one byte at a time");
    if bytes.len() <= 4096 {
        for k in 0..=bytes.len() {
            let (a, b) = bytes.split_at(k);
            assert_eq!(run(s, &[a, b]), whole, "split at {k}");
        }
    }
    let mut trailing = bytes.to_vec();
    trailing.extend_from_slice(&Server::default().ping(*b"trailing").0[..7]);
    assert_eq!(run(s, &[&trailing]), whole, "with trailing bytes");
    whole
}

/// One test per case: the setup, the server's bytes, the events expected,
/// and the frames the client must write.
macro_rules! cases {
    ($($name:ident: $setup:expr, $server:expr => [$($ev:expr),* $(,)?], [$($sent:expr),* $(,)?];)*) => {$(
        #[test]
        fn $name() {
            let server: Server = $server;
            let (events, sent) = three_ways($setup, &server.0);
            assert_eq!(events, vec![$($ev),*], "events");
            assert_eq!(sent, vec![$($sent),*], "written");
        }
    )*};
}

use ErrorCode::{
    Cancel, CompressionError, FlowControlError, FrameSizeError, NoError, ProtocolError,
    RefusedStream,
};
use Setup::{Fresh, Open};

fn s() -> Server {
    Server::default()
}

fn body(b: &[u8]) -> Vec<u8> {
    b.to_vec()
}

fn failed(e: ConnError) -> (Ev, Sent) {
    (Ev::Failed(e), Sent::GoAway(0, e.code()))
}

cases! {
    // The server's preface and SETTINGS.
    settings_are_acknowledged: Fresh, s().settings(&[(setting::MAX_CONCURRENT_STREAMS, 10)])
        => [], [Sent::SettingsAck];
    settings_ack_needs_nothing: Open(0), s().settings_ack() => [], [];
    empty_settings_then_ping: Fresh, s().settings(&[]).ping(*b"12345678")
        => [], [Sent::SettingsAck, Sent::PingAck(*b"12345678")];
    ping_is_answered: Open(0), s().ping(*b"abcdefgh") => [], [Sent::PingAck(*b"abcdefgh")];
    ping_ack_is_ignored: Open(0), s().raw(kind::PING, ACK, 0, b"abcdefgh") => [], [];
    priority_is_ignored: Open(1), s().raw(kind::PRIORITY, 0, 1, b"\0\0\0\0\x10") => [], [];
    unknown_frames_are_ignored: Open(1), s().raw(0xbe, 0xff, 1, b"what").raw(0x0a, 0, 0, b"")
        => [], [];
    window_updates_are_taken: Open(1), s().window(0, 100).window(1, 100) => [], [];
    window_update_on_a_closed_stream: Open(1),
        s().headers(1, &head(204, &[]), true).window(1, 5) => [Ev::Response(1, 204), Ev::Done(1)], [];

    // Responses.
    response_with_body: Open(1), s().headers(1, &head(200, &[("server", "t")]), false)
        .data(1, b"hello", false).data(1, b" world", true)
        => [Ev::Response(1, 200), Ev::Body(1, body(b"hello")), Ev::Body(1, body(b" world")),
            Ev::Done(1)], [];
    response_ending_on_headers: Open(1), s().headers(1, &head(204, &[]), true)
        => [Ev::Response(1, 204), Ev::Done(1)], [];
    empty_data_ends_the_stream: Open(1), s().headers(1, &head(404, &[]), false).data(1, b"", true)
        => [Ev::Response(1, 404), Ev::Done(1)], [];
    padded_data: Open(1), s().headers(1, &head(200, &[]), false)
        .raw(kind::DATA, PADDED | END_STREAM, 1, b"\x03abc\0\0\0")
        => [Ev::Response(1, 200), Ev::Body(1, body(b"abc")), Ev::Done(1)], [];
    interim_heads_are_skipped: Open(1), s().headers(1, &head(100, &[]), false)
        .headers(1, &head(103, &[("link", "</a>")]), false).headers(1, &head(201, &[]), true)
        => [Ev::Response(1, 201), Ev::Done(1)], [];
    trailers_end_the_stream: Open(1), s().headers(1, &head(200, &[]), false)
        .data(1, b"x", false).headers(1, &fields(&[("grpc-status", "0")]), true)
        => [Ev::Response(1, 200), Ev::Body(1, body(b"x")), Ev::Done(1)], [];
    head_in_continuations: Open(1), s()
        .raw(kind::HEADERS, END_STREAM, 1, &head(200, &[("a", "b")])[..3])
        .raw(kind::CONTINUATION, 0, 1, &head(200, &[("a", "b")])[3..5])
        .raw(kind::CONTINUATION, END_HEADERS, 1, &head(200, &[("a", "b")])[5..])
        => [Ev::Response(1, 200), Ev::Done(1)], [];
    streams_interleave: Open(3), s().headers(3, &head(200, &[]), false)
        .headers(1, &head(404, &[]), false).data(1, b"a", false).data(3, b"b", true)
        .data(1, b"", true).headers(5, &head(204, &[]), true)
        => [Ev::Response(3, 200), Ev::Response(1, 404), Ev::Body(1, body(b"a")),
            Ev::Body(3, body(b"b")), Ev::Done(3), Ev::Done(1), Ev::Response(5, 204),
            Ev::Done(5)], [];
    dynamic_table_spans_streams: Open(2), s()
        .headers(1, &head(200, &[("+server", "volley-test")]), true)
        .headers(3, &[0x88, 0xbe], true) // :status 200, then index 62
        => [Ev::Response(1, 200), Ev::Done(1), Ev::Response(3, 200), Ev::Done(3)], [];
    frames_on_a_finished_stream_are_ignored: Open(2), s().headers(1, &head(200, &[]), true)
        .data(1, b"late", true).headers(1, &head(200, &[]), true).rst(1, Cancel)
        .headers(3, &head(204, &[]), true)
        => [Ev::Response(1, 200), Ev::Done(1), Ev::Response(3, 204), Ev::Done(3)], [];

    // Resets and GOAWAY.
    refused_stream_is_unprocessed: Open(1), s().rst(1, RefusedStream)
        => [Ev::Reset(1, RefusedStream, true)], [];
    refused_after_a_head_was_processed: Open(1), s().headers(1, &head(100, &[]), false)
        .rst(1, RefusedStream) => [Ev::Reset(1, RefusedStream, false)], [];
    reset_mid_body: Open(1), s().headers(1, &head(200, &[]), false).data(1, b"ab", false)
        .rst(1, ErrorCode::InternalError)
        => [Ev::Response(1, 200), Ev::Body(1, body(b"ab")),
            Ev::Reset(1, ErrorCode::InternalError, false)], [];
    goaway_unprocesses_streams_above_last: Open(4), s().headers(3, &head(200, &[]), false)
        .goaway(3, NoError).data(3, b"ok", true).headers(1, &head(200, &[]), true)
        => [Ev::Response(3, 200), Ev::GoAway(3, NoError), Ev::Reset(5, NoError, true),
            Ev::Reset(7, NoError, true), Ev::Body(3, body(b"ok")), Ev::Done(3),
            Ev::Response(1, 200), Ev::Done(1)], [];
    second_goaway_lowers_last: Open(3), s().goaway(3, NoError).goaway(1, NoError)
        => [Ev::GoAway(3, NoError), Ev::Reset(5, NoError, true), Ev::GoAway(1, NoError),
            Ev::Reset(3, NoError, true)], [];
    goaway_last_stream_0: Open(2), s().goaway(0, ErrorCode::EnhanceYourCalm)
        => [Ev::GoAway(0, ErrorCode::EnhanceYourCalm),
            Ev::Reset(1, ErrorCode::EnhanceYourCalm, true),
            Ev::Reset(3, ErrorCode::EnhanceYourCalm, true)], [];

    // Malformed responses: the stream is reset, the connection goes on.
    data_before_head: Open(2), s().data(1, b"x", false).data(1, b"y", true)
        .headers(3, &head(204, &[]), true)
        => [Ev::Malformed(1, StreamError::DataBeforeHead), Ev::Response(3, 204), Ev::Done(3)],
           [Sent::Rst(1, ProtocolError)];
    head_without_status: Open(1), s().headers(1, &fields(&[("a", "b")]), true)
        => [Ev::Malformed(1, StreamError::MissingStatus)], [Sent::Rst(1, ProtocolError)];
    interim_head_ending_the_stream: Open(1), s().headers(1, &head(103, &[]), true)
        => [Ev::Malformed(1, StreamError::InterimEndsStream)], [Sent::Rst(1, ProtocolError)];
    trailers_not_ending_the_stream: Open(1), s().headers(1, &head(200, &[]), false)
        .headers(1, &fields(&[("t", "1")]), false)
        => [Ev::Response(1, 200), Ev::Malformed(1, StreamError::TrailersWithoutEndStream)],
           [Sent::Rst(1, ProtocolError)];

    // Connection errors: GOAWAY, Failed, every open stream lost.
    http1_server: Fresh, s().bytes(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        => [failed(ConnError::NoPreface).0], [failed(ConnError::NoPreface).1];
    settings_ack_first: Fresh, s().settings_ack()
        => [failed(ConnError::NoPreface).0], [failed(ConnError::NoPreface).1];
    bad_ping_length: Open(2), s().raw(kind::PING, 0, 0, b"1234567")
        => [Ev::Failed(ConnError::Frame(FrameError::BadLength { kind: kind::PING })),
            Ev::Lost(1, false), Ev::Lost(3, false)], [Sent::GoAway(0, FrameSizeError)];
    frame_too_large: Open(1), s().raw(kind::DATA, 0, 1, &[0; 16_385])
        => [Ev::Failed(ConnError::Frame(FrameError::TooLarge)), Ev::Lost(1, false)],
           [Sent::GoAway(0, FrameSizeError)];
    hpack_error: Open(1), s().headers(1, &[0x80], true)
        => [Ev::Failed(ConnError::Hpack(HpackError::ZeroIndex)), Ev::Lost(1, false)],
           [Sent::GoAway(0, CompressionError)];
    push_promise: Open(1), s().raw(kind::PUSH_PROMISE, END_HEADERS, 1, b"\0\0\0\x02\x88")
        => [failed(ConnError::PushPromise).0, Ev::Lost(1, false)],
           [failed(ConnError::PushPromise).1];
    push_enabled: Fresh, s().settings(&[(setting::ENABLE_PUSH, 1)])
        => [failed(ConnError::PushEnabled).0], [failed(ConnError::PushEnabled).1];
    data_on_an_idle_stream: Open(1), s().data(3, b"x", true)
        => [Ev::Failed(ConnError::IdleStream { kind: kind::DATA }), Ev::Lost(1, false)],
           [Sent::GoAway(0, ProtocolError)];
    headers_on_a_server_stream: Open(1), s().headers(2, &head(200, &[]), true)
        => [Ev::Failed(ConnError::IdleStream { kind: kind::HEADERS }), Ev::Lost(1, false)],
           [Sent::GoAway(0, ProtocolError)];
    rst_on_an_idle_stream: Open(0), s().rst(1, Cancel)
        => [Ev::Failed(ConnError::IdleStream { kind: kind::RST_STREAM })],
           [Sent::GoAway(0, ProtocolError)];
    window_update_on_an_idle_stream: Open(0), s().window(1, 1)
        => [Ev::Failed(ConnError::IdleStream { kind: kind::WINDOW_UPDATE })],
           [Sent::GoAway(0, ProtocolError)];
    header_block_interrupted: Open(2), s().raw(kind::HEADERS, 0, 1, &[0x88])
        .headers(3, &head(200, &[]), true)
        => [failed(ConnError::ContinuationExpected).0, Ev::Lost(1, false), Ev::Lost(3, false)],
           [failed(ConnError::ContinuationExpected).1];
    continuation_on_another_stream: Open(2), s().raw(kind::HEADERS, 0, 1, &[0x88])
        .raw(kind::CONTINUATION, END_HEADERS, 3, b"")
        => [failed(ConnError::ContinuationExpected).0, Ev::Lost(1, false), Ev::Lost(3, false)],
           [failed(ConnError::ContinuationExpected).1];
    continuation_without_headers: Open(1), s().raw(kind::CONTINUATION, END_HEADERS, 1, &[0x88])
        => [failed(ConnError::UnexpectedContinuation).0, Ev::Lost(1, false)],
           [failed(ConnError::UnexpectedContinuation).1];
    connection_window_overflow: Open(0), s().window(0, MAX_WINDOW)
        => [failed(ConnError::WindowOverflow).0], [Sent::GoAway(0, FlowControlError)];
    stream_window_overflow: Open(1), s().window(1, MAX_WINDOW - 65_535).window(1, 1)
        => [failed(ConnError::WindowOverflow).0, Ev::Lost(1, false)],
           [Sent::GoAway(0, FlowControlError)];
    settings_window_overflow: Open(1), s().window(1, MAX_WINDOW - 65_535)
        .settings(&[(setting::INITIAL_WINDOW_SIZE, 65_536)])
        => [failed(ConnError::WindowOverflow).0, Ev::Lost(1, false)],
           [Sent::GoAway(0, FlowControlError)];
    input_after_failure_is_ignored: Open(1), s().raw(kind::CONTINUATION, 0, 1, b"")
        .headers(1, &head(200, &[]), true).ping(*b"ignored!")
        => [failed(ConnError::UnexpectedContinuation).0, Ev::Lost(1, false)],
           [failed(ConnError::UnexpectedContinuation).1];
    answered_streams_are_lost_as_answered: Open(2), s().headers(3, &head(200, &[]), false)
        .raw(kind::PING, 0, 0, b"")
        => [Ev::Response(3, 200),
            Ev::Failed(ConnError::Frame(FrameError::BadLength { kind: kind::PING })),
            Ev::Lost(1, false), Ev::Lost(3, true)], [Sent::GoAway(0, FrameSizeError)];
}

#[test]
fn first_frame_not_settings_fails() {
    // (The case above with no bytes only checks that nothing happens.)
    let (events, sent) = three_ways(Fresh, &s().ping(*b"12345678").0);
    assert_eq!(events, [Ev::Failed(ConnError::NoPreface)]);
    assert_eq!(sent, [Sent::GoAway(0, ProtocolError)]);
}

#[test]
fn new_writes_preface_settings_and_window() {
    let mut out = vec![];
    let c = H2Conn::new(&mut out);
    assert!(out.starts_with(PREFACE));
    assert_eq!(
        sent(&out),
        [
            Sent::Settings(vec![
                (setting::ENABLE_PUSH, 0),
                (setting::INITIAL_WINDOW_SIZE, RECV_WINDOW),
                (setting::MAX_FRAME_SIZE, 16_384),
                (setting::MAX_HEADER_LIST_SIZE, 65_536),
            ]),
            Sent::Window(0, RECV_WINDOW - 65_535),
        ]
    );
    assert!(c.can_open() && c.is_idle() && !c.is_closed());
    assert_eq!(c.max_streams(), INITIAL_MAX_STREAMS);
}

#[test]
fn one_request_and_response() {
    let mut out = vec![];
    let mut c = H2Conn::new(&mut out);
    out.clear();
    // A stream may open before the server's SETTINGS arrive.
    let id = c.open(&get(), b"", &mut out).unwrap();
    assert_eq!(id, StreamId(1));
    assert_eq!(sent(&out), [Sent::Headers(1, true, true, get().len())]);
    assert_eq!((c.streams_open(), c.is_idle()), (1, false));
    out.clear();
    let mut events = vec![];
    let server = s()
        .settings(&[(setting::MAX_CONCURRENT_STREAMS, 128)])
        .headers(1, &head(200, &[("content-length", "2")]), false)
        .data(1, b"ok", true);
    c.feed(&server.0, &mut out, |e| events.push(own(e)));
    assert_eq!(
        events,
        [Ev::Response(1, 200), Ev::Body(1, body(b"ok")), Ev::Done(1)]
    );
    assert_eq!(sent(&out), [Sent::SettingsAck]);
    assert_eq!((c.is_idle(), c.max_streams()), (true, 128));
    assert_eq!(c.open(&get(), b"", &mut out), Ok(StreamId(3)));
}

#[test]
fn a_hundred_concurrent_streams() {
    let mut c = ready(0);
    let mut out = vec![];
    c.feed(
        &s().settings(&[(setting::MAX_CONCURRENT_STREAMS, 100)]).0,
        &mut out,
        |e| panic!("{e:?}"),
    );
    let ids: Vec<u32> = (0..100)
        .map(|_| c.open(&get(), b"", &mut out).unwrap().0)
        .collect();
    assert_eq!(ids, (0..100).map(|i| 2 * i + 1).collect::<Vec<_>>());
    assert_eq!(c.check_open(), Err(OpenError::AtLimit));
    assert_eq!(c.open(&get(), b"", &mut out), Err(OpenError::AtLimit));
    // Every head first, then the bodies in reverse order, split at every
    // byte three ways.
    let mut server = s();
    for &id in &ids {
        server = server.headers(id, &head(200, &[("+x-id", &id.to_string())]), false);
    }
    for &id in ids.iter().rev() {
        server = server.data(id, id.to_string().as_bytes(), true);
    }
    let mut expected: Vec<Ev> = ids.iter().map(|&id| Ev::Response(id, 200)).collect();
    for &id in ids.iter().rev() {
        expected.push(Ev::Body(id, id.to_string().into_bytes()));
        expected.push(Ev::Done(id));
    }
    let mut events = vec![];
    for chunk in server.0.chunks(7) {
        c.feed(chunk, &mut out, |e| events.push(own(e)));
        if let Some(Ev::Done(_)) = events.last() {
            assert!(c.can_open());
        }
    }
    assert_eq!(events, expected);
    assert!(c.is_idle() && c.can_open());
}

#[test]
fn max_concurrent_streams_is_respected() {
    let mut out = vec![];
    let mut c = H2Conn::new(&mut out);
    for _ in 0..INITIAL_MAX_STREAMS {
        c.open(&get(), b"", &mut out).unwrap();
    }
    assert_eq!(c.check_open(), Err(OpenError::AtLimit));
    // The server's first SETTINGS lowers the limit below what is open.
    c.feed(
        &s().settings(&[(setting::MAX_CONCURRENT_STREAMS, 2)]).0,
        &mut out,
        |_| {},
    );
    let mut done = 0;
    let mut id = 1;
    while c.streams_open() > 1 {
        assert!(!c.can_open());
        c.feed(&s().headers(id, &head(204, &[]), true).0, &mut out, |e| {
            done += usize::from(matches!(e, Event::Done { .. }));
        });
        id += 2;
    }
    assert_eq!(done, 99);
    assert!(c.can_open());
    c.open(&get(), b"", &mut out).unwrap();
    assert_eq!(c.check_open(), Err(OpenError::AtLimit));
    // 0 allows none; a later SETTINGS without the parameter keeps it.
    c.feed(
        &s().settings(&[(setting::MAX_CONCURRENT_STREAMS, 0)])
            .settings(&[])
            .headers(id, &head(204, &[]), true)
            .headers(id + 2, &head(204, &[]), true)
            .0,
        &mut out,
        |_| {},
    );
    assert!(c.is_idle());
    assert_eq!(
        (c.max_streams(), c.check_open()),
        (0, Err(OpenError::AtLimit))
    );
    // A first SETTINGS without it: no limit.
    let mut c = H2Conn::new(&mut out);
    c.feed(&s().settings(&[]).0, &mut out, |_| {});
    assert_eq!(c.max_streams(), u32::MAX);
    for _ in 0..1000 {
        c.open(&get(), b"", &mut out).unwrap();
    }
}

#[test]
fn goaway_stops_new_streams_and_eof_loses_the_rest() {
    let mut c = ready(3);
    let (mut events, mut out) = (vec![], vec![]);
    c.feed(
        &s().headers(1, &head(200, &[]), false).goaway(3, NoError).0,
        &mut out,
        |e| events.push(own(e)),
    );
    assert_eq!(
        events,
        [
            Ev::Response(1, 200),
            Ev::GoAway(3, NoError),
            Ev::Reset(5, NoError, true)
        ]
    );
    assert_eq!(c.check_open(), Err(OpenError::GoingAway));
    assert_eq!(c.open(&get(), b"", &mut out), Err(OpenError::GoingAway));
    events.clear();
    c.eof(|e| events.push(own(e)));
    assert_eq!(events, [Ev::Lost(1, true), Ev::Lost(3, false)]);
    assert!(c.is_closed() && c.is_idle());
    assert_eq!(c.check_open(), Err(OpenError::Closed));
    c.eof(|e| panic!("{e:?}"));
    c.feed(&s().ping(*b"12345678").0, &mut out, |e| panic!("{e:?}"));
    assert!(out.is_empty());
}

#[test]
fn cancel_resets_and_keeps_hpack_in_step() {
    let mut c = ready(2);
    let mut out = vec![];
    assert!(c.cancel(StreamId(1), &mut out));
    assert!(!c.cancel(StreamId(1), &mut out));
    assert_eq!(sent(&out), [Sent::Rst(1, Cancel)]);
    out.clear();
    let mut events = vec![];
    // The cancelled stream's head adds to the dynamic table; the next
    // stream's head refers to the entry.
    c.feed(
        &s().headers(1, &head(200, &[("+server", "volley")]), false)
            .data(1, &[0; 1000], true)
            .headers(3, &[0x88, 0xbe], true)
            .0,
        &mut out,
        |e| events.push(own(e)),
    );
    assert_eq!(events, [Ev::Response(3, 200), Ev::Done(3)]);
    assert!(out.is_empty());
}

#[test]
fn header_list_too_large_resets_only_the_stream() {
    let mut c = ready(2);
    let big = "v".repeat(70_000);
    let (mut events, mut out) = (vec![], vec![]);
    let server = s()
        .headers(1, &head(200, &[("+big", &big)]), false)
        .headers(3, &head(200, &[("small", "1")]), true);
    // 70 KB is larger than the dynamic table: the insertion empties it.
    for chunk in server.0.chunks(1000) {
        c.feed(chunk, &mut out, |e| events.push(own(e)));
    }
    assert_eq!(
        events,
        [
            Ev::Malformed(1, StreamError::HeaderListTooLarge),
            Ev::Response(3, 200),
            Ev::Done(3)
        ]
    );
    assert_eq!(sent(&out), [Sent::Rst(1, Cancel)]);
}

#[test]
fn header_block_too_large_fails_the_connection() {
    let mut c = ready(1);
    let mut server = s().raw(kind::HEADERS, 0, 1, &[0; 16_384]);
    for _ in 0..8 {
        server = server.raw(kind::CONTINUATION, 0, 1, &[0; 16_384]);
    }
    let (mut events, mut out) = (vec![], vec![]);
    c.feed(&server.0, &mut out, |e| events.push(own(e)));
    let failed = Ev::Failed(ConnError::HeaderBlockTooLarge);
    assert_eq!(events, [failed, Ev::Lost(1, false)]);
    assert_eq!(sent(&out), [Sent::GoAway(0, CompressionError)]);
}

#[test]
fn request_body_waits_for_the_windows() {
    let mut out = vec![];
    let mut c = H2Conn::new(&mut out);
    c.feed(
        &s().settings(&[(setting::INITIAL_WINDOW_SIZE, 20_000)]).0,
        &mut out,
        |_| {},
    );
    out.clear();
    let body: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let id = c.open(&get(), &body, &mut out).unwrap().0;
    // The stream's window (20,000) in frames of at most 16,384.
    assert_eq!(
        sent(&out),
        [
            Sent::Headers(id, false, true, get().len()),
            Sent::Data(id, 16_384, false),
            Sent::Data(id, 3_616, false)
        ]
    );
    out.clear();
    // The stream's window grows; the connection's (65,535) limits now.
    c.feed(&s().window(id, 100_000).0, &mut out, |_| {});
    assert_eq!(
        sent(&out),
        [
            Sent::Data(id, 16_384, false),
            Sent::Data(id, 16_384, false),
            Sent::Data(id, 12_767, false)
        ]
    );
    out.clear();
    // Larger frames allowed; the rest goes out when the connection's
    // window grows.
    c.feed(
        &s().settings(&[(setting::MAX_FRAME_SIZE, 1 << 20)])
            .window(0, 1_000)
            .0,
        &mut out,
        |_| {},
    );
    assert_eq!(
        sent(&out),
        [Sent::SettingsAck, Sent::Data(id, 1_000, false)]
    );
    out.clear();
    c.feed(&s().window(0, 1 << 20).0, &mut out, |_| {});
    assert_eq!(sent(&out), [Sent::Data(id, 33_465, true)]);
    // The bytes are the body's, in order.
    let mut all = vec![];
    let mut rest = &out[..];
    while let Ok(Parsed::Complete(Frame::Data { data, .. }, len)) =
        decode_frame(rest, MAX_MAX_FRAME_SIZE)
    {
        all.extend_from_slice(data);
        rest = &rest[len..];
    }
    assert_eq!(all, body[100_000 - 33_465..]);
}

#[test]
fn settings_shrink_the_stream_window_below_zero() {
    let mut out = vec![];
    let mut c = ready(0);
    let id = c.open(&get(), &[7; 70_000], &mut out).unwrap().0;
    out.clear();
    // 65,535 sent of the stream's 65,535; shrinking to 35,535 puts it at
    // -30,000, so a 40,000 update lets 10,000 through.
    c.feed(
        &s().settings(&[(setting::INITIAL_WINDOW_SIZE, 35_535)])
            .window(0, 1 << 20)
            .window(id, 40_000)
            .0,
        &mut out,
        |_| {},
    );
    assert_eq!(sent(&out), [Sent::SettingsAck, Sent::Data(id, 4_465, true)]);
}

#[test]
fn a_response_before_the_whole_request_cancels_the_rest() {
    let mut out = vec![];
    let mut c = ready(0);
    c.open(&get(), &[1; 100_000], &mut out).unwrap();
    out.clear();
    let mut events = vec![];
    c.feed(&s().headers(1, &head(413, &[]), true).0, &mut out, |e| {
        events.push(own(e));
    });
    assert_eq!(events, [Ev::Response(1, 413), Ev::Done(1)]);
    assert_eq!(sent(&out), [Sent::Rst(1, Cancel)]);
    out.clear();
    c.feed(&s().window(0, 100_000).0, &mut out, |_| {});
    assert!(out.is_empty());
}

#[test]
fn large_request_heads_continue() {
    let mut out = vec![];
    let mut c = ready(0);
    let mut block = vec![];
    let value = "x".repeat(20_000);
    encode_request("GET", "https", "h", "/", &[("x-big", &value)], &mut block);
    c.open(&block, b"", &mut out).unwrap();
    assert_eq!(
        sent(&out),
        [
            Sent::Headers(1, true, false, 16_384),
            Sent::Continuation(1, true, block.len() - 16_384)
        ]
    );
}

/// The server's view of flow control: what it may still send, on the
/// connection and on each stream, from the defaults (65,535) and what
/// the client has written (SETTINGS, WINDOW_UPDATE).
struct ServerWindows {
    connection: i64,
    initial: i64,
    streams: Vec<(u32, i64)>,
    updates: (usize, usize),
}

impl ServerWindows {
    fn read_client(&mut self, out: &[u8]) {
        for f in sent(out) {
            match f {
                Sent::Settings(params) => {
                    for (id, v) in params {
                        if id == setting::INITIAL_WINDOW_SIZE {
                            let delta = i64::from(v) - self.initial;
                            self.initial = i64::from(v);
                            self.streams.iter_mut().for_each(|s| s.1 += delta);
                        }
                    }
                }
                Sent::Window(0, n) => {
                    self.connection += i64::from(n);
                    self.updates.0 += 1;
                }
                Sent::Window(id, n) => {
                    let s = self.streams.iter_mut().find(|s| s.0 == id).unwrap();
                    s.1 += i64::from(n);
                    self.updates.1 += 1;
                }
                Sent::Headers(id, ..) => self.streams.push((id, self.initial)),
                _ => {}
            }
        }
    }
}

#[test]
fn large_bodies_never_stall_on_flow_control() {
    // Five 10 MB bodies, two at a time then three in turn: 50 MB through
    // a 16 MiB connection window and 10 MB through each 16 MiB stream
    // window, sent as a server does, never past what it was granted.
    const SIZE: usize = 10_000_000;
    let mut out = vec![];
    let mut c = H2Conn::new(&mut out);
    let mut server = ServerWindows {
        connection: 65_535,
        initial: 65_535,
        streams: vec![],
        updates: (0, 0),
    };
    let mut wire = s().settings(&[]).0;
    let chunk = vec![0u8; 16_384];
    let mut received = 0;
    let mut done = 0;
    for round in [2, 1, 1, 1] {
        for _ in 0..round {
            c.open(&get(), b"", &mut out).unwrap();
        }
        server.read_client(&out);
        out.clear();
        let mut left: Vec<(u32, usize)> = server.streams.iter().map(|s| (s.0, SIZE)).collect();
        for &(id, _) in &left {
            wire.extend_from_slice(&s().headers(id, &head(200, &[]), false).0);
        }
        while !left.is_empty() {
            // The server sends all it may, a frame per stream in turn;
            // the client reads it in 64 KiB pieces, and its replies reach
            // the server.
            let mut sent_data = false;
            loop {
                let mut any = false;
                for (id, n) in &mut left {
                    let window = &mut server.streams.iter_mut().find(|s| s.0 == *id).unwrap().1;
                    let len = (*n as i64)
                        .min(16_384)
                        .min(*window)
                        .min(server.connection)
                        .max(0) as usize;
                    if len > 0 {
                        *n -= len;
                        *window -= len as i64;
                        server.connection -= len as i64;
                        write_data(*id, &chunk[..len], *n == 0, &mut wire);
                        any = true;
                    }
                }
                left.retain(|l| l.1 > 0);
                sent_data |= any;
                if !any {
                    break;
                }
            }
            for piece in wire.chunks(65_536) {
                c.feed(piece, &mut out, |e| match e {
                    Event::Body { data, .. } => received += data.len(),
                    Event::Done { .. } => done += 1,
                    Event::Response { .. } => {}
                    e => panic!("{e:?}"),
                });
            }
            wire.clear();
            server.read_client(&out);
            out.clear();
            assert!(sent_data, "stalled: {left:?}");
        }
        server.streams.clear();
    }
    assert_eq!((received, done), (5 * SIZE, 5));
    assert!(c.is_idle());
    // Connection updates every 8 MiB: 50 MB needs five; each stream one.
    assert_eq!(server.updates, (1 + 5, 5));
}

#[test]
fn partial_frames_are_bounded() {
    let mut c = ready(1);
    let mut out = vec![];
    let server = s()
        .headers(1, &head(200, &[]), false)
        .data(1, &[0; 16_384], true);
    for piece in server.0.chunks(5_000) {
        c.feed(piece, &mut out, |_| {});
        assert!(c.partial.len() <= HEADER_LEN + MAX_FRAME_SIZE as usize);
        assert!(c.partial.capacity() <= 2 * (HEADER_LEN + MAX_FRAME_SIZE as usize));
    }
    assert!(c.partial.is_empty() && c.is_idle());
}

#[test]
fn stream_ids_run_out() {
    let mut c = ready(0);
    let mut out = vec![];
    c.next_stream = MAX_STREAM_ID;
    assert_eq!(c.open(&get(), b"", &mut out), Ok(StreamId(MAX_STREAM_ID)));
    assert_eq!(c.check_open(), Err(OpenError::IdsExhausted));
    let mut events = vec![];
    c.feed(
        &s().headers(MAX_STREAM_ID, &head(204, &[]), true).0,
        &mut out,
        |e| events.push(own(e)),
    );
    assert_eq!(
        events,
        [Ev::Response(MAX_STREAM_ID, 204), Ev::Done(MAX_STREAM_ID)]
    );
}

#[test]
fn errors_read_as_short_lowercase_lines() {
    let errors: [&dyn std::fmt::Display; 6] = [
        &ConnError::NoPreface,
        &ConnError::IdleStream { kind: kind::DATA },
        &ConnError::Frame(FrameError::TooLarge),
        &StreamError::DataBeforeHead,
        &OpenError::AtLimit,
        &StreamId(7),
    ];
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "server did not start with a settings frame",
            "a DATA frame on a stream never opened",
            "frame larger than the advertised maximum frame size",
            "data before the response head",
            "at the server's concurrent stream limit",
            "7"
        ]
    );
}
