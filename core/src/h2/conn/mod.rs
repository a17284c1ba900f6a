//! One client HTTP/2 connection (RFC 9113) as a sans-io state machine:
//! the HTTP/2 counterpart of the HTTP/1.1 connection in `conn.rs`.
//!
//! [`H2Conn`] owns everything that affects the connection's protocol
//! state: the server's settings, both directions' flow-control windows,
//! the HPACK decoder, the open streams and the frame being reassembled.
//! It never touches a socket: bytes from the server go in through
//! [`H2Conn::feed`], bytes for the server are appended to the caller's
//! buffer, and what happened comes out as [`Event`]s.
//!
//! Call order:
//!
//! ```text
//!   H2Conn::new(&mut out)                  preface, SETTINGS, WINDOW_UPDATE
//!   while can_open(): open(block, body, &mut out) -> StreamId
//!   on each read:  feed(bytes, &mut out, |event| ...)
//!   on EOF:        eof(|event| ...)        every open stream is Lost
//!   send `out` whenever it is not empty
//! ```
//!
//! Flow control never throttles a download: volley advertises
//! [`RECV_WINDOW`] for every stream and for the connection, and returns
//! what it received in WINDOW_UPDATEs once half a window is used, so the
//! server always has between half a window and a whole one to send in.
//! Bodies are counted as they pass and never stored.
//!
//! Memory is bounded: one partial frame (at most 16 KiB and its header),
//! one header block ([`MAX_HEADER_BLOCK`]), and one record per open stream,
//! whose records are reused, so that a warm connection allocates nothing
//! per request (a request body that does not fit the server's windows is
//! copied into its stream's reused buffer).

mod event;
mod head;
mod stream;

use std::mem;

pub use event::{Event, OpenError, StreamId};

use head::{Head, HeadCheck};
use stream::{Phase, SendLimits, Streams, grow, send_body};

use super::error::{ConnError, ErrorCode, HpackError, StreamError};
use super::frame::{
    DEFAULT_MAX_FRAME_SIZE, Frame, HEADER_LEN, MAX_WINDOW, PREFACE, Parsed, SettingsParams,
    decode_frame, kind, parse_header, setting, write_goaway, write_headers, write_ping_ack,
    write_rst_stream, write_settings, write_settings_ack, write_window_update,
};
use super::hpack::{DEFAULT_TABLE_SIZE, Decoder};

/// The flow-control window volley grants the server, for each stream and
/// for the connection: 16 MiB, so that flow control does not limit a
/// download until the bandwidth-delay product passes 8 MiB.
pub const RECV_WINDOW: u32 = 1 << 24;

/// The `SETTINGS_MAX_HEADER_LIST_SIZE` volley advertises and enforces on
/// each response head and trailers: 64 KiB, the limit of an HTTP/1.1 head
/// (SPEC §8). A longer list ends its stream with
/// [`StreamError::HeaderListTooLarge`].
pub const MAX_HEADER_LIST_SIZE: u32 = 64 * 1024;

/// The longest header block (HEADERS and its CONTINUATIONs) volley
/// buffers; a longer one ends the connection with
/// [`ConnError::HeaderBlockTooLarge`]. Twice [`MAX_HEADER_LIST_SIZE`]: a
/// field's encoding is shorter than its name and value and the 32 bytes
/// the list adds for it, unless Huffman coding made it longer.
pub const MAX_HEADER_BLOCK: usize = 2 * MAX_HEADER_LIST_SIZE as usize;

/// How many streams volley opens before the server's SETTINGS say how
/// many it allows: the fewest RFC 9113 §6.5.2 recommends a server allow.
/// A first SETTINGS without `SETTINGS_MAX_CONCURRENT_STREAMS` lifts the
/// limit.
pub const INITIAL_MAX_STREAMS: u32 = 100;

/// The largest stream identifier (RFC 9113 §5.1.1).
const MAX_STREAM_ID: u32 = MAX_WINDOW;

/// The `SETTINGS_MAX_FRAME_SIZE` volley advertises, and the longest frame
/// it accepts: the default, so frames are checked against it before the
/// server has acknowledged anything.
const MAX_FRAME_SIZE: u32 = DEFAULT_MAX_FRAME_SIZE;

/// Where the connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Streams may be opened.
    Open,
    /// The server sent GOAWAY: streams up to `last_stream` go on.
    Draining {
        /// The lowest last stream of the GOAWAYs received.
        last_stream: u32,
    },
    /// Failed or closed by the server: input is ignored.
    Closed,
}

/// One client HTTP/2 connection's protocol state. See the [module
/// documentation](self).
#[derive(Debug)]
pub struct H2Conn {
    state: State,
    /// The server's first SETTINGS (its connection preface, RFC 9113 §3.4)
    /// has arrived.
    preface_seen: bool,
    /// A frame that arrived in pieces: at most one frame, which is at most
    /// [`MAX_FRAME_SIZE`] and its header. Empty when reads end on frame
    /// boundaries, as frames are parsed from the caller's bytes in place.
    partial: Vec<u8>,
    decoder: Decoder,
    /// A header block whose HEADERS lacked END_HEADERS, joined with its
    /// CONTINUATIONs.
    block: Vec<u8>,
    /// The stream of the unfinished header block, and its HEADERS'
    /// END_STREAM: only its CONTINUATION may come next (RFC 9113 §6.10).
    continuing: Option<(u32, bool)>,
    streams: Streams,
    /// The identifier the next stream gets.
    next_stream: u32,
    /// The server's `SETTINGS_MAX_CONCURRENT_STREAMS`.
    max_streams: u32,
    /// The server's `SETTINGS_INITIAL_WINDOW_SIZE`: each new stream's send
    /// window.
    initial_window: u32,
    /// The connection's send window and the server's frame size.
    send: SendLimits,
    /// What the server may still send on the connection.
    recv_window: u32,
    /// Bytes received on the connection, not yet returned.
    recv_unacked: u32,
}

impl H2Conn {
    /// A connection whose transport has just been established (TCP, or
    /// TLS having selected `h2`): appends the client preface, volley's
    /// SETTINGS and a WINDOW_UPDATE that raises the connection's window to
    /// [`RECV_WINDOW`] to `out`. Streams may be opened at once, before the
    /// server's SETTINGS arrive (RFC 9113 §3.4).
    pub fn new(out: &mut Vec<u8>) -> Self {
        out.extend_from_slice(PREFACE);
        write_settings(
            &[
                (setting::ENABLE_PUSH, 0),
                (setting::INITIAL_WINDOW_SIZE, RECV_WINDOW),
                (setting::MAX_FRAME_SIZE, MAX_FRAME_SIZE),
                (setting::MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_SIZE),
            ],
            out,
        );
        // The connection's window starts at 65,535 whatever the settings
        // say (RFC 9113 §6.9.2).
        write_window_update(0, RECV_WINDOW - DEFAULT_WINDOW, out);
        Self {
            state: State::Open,
            preface_seen: false,
            partial: Vec::new(),
            decoder: Decoder::new(DEFAULT_TABLE_SIZE, MAX_HEADER_LIST_SIZE as usize),
            block: Vec::new(),
            continuing: None,
            streams: Streams::default(),
            next_stream: 1,
            max_streams: INITIAL_MAX_STREAMS,
            initial_window: DEFAULT_WINDOW,
            send: SendLimits {
                window: i64::from(DEFAULT_WINDOW),
                max_frame: DEFAULT_MAX_FRAME_SIZE,
            },
            recv_window: RECV_WINDOW,
            recv_unacked: 0,
        }
    }

    /// Whether [`H2Conn::open`] would open a stream now.
    pub fn can_open(&self) -> bool {
        self.check_open().is_ok()
    }

    /// Why [`H2Conn::open`] would fail now, if it would.
    pub fn check_open(&self) -> Result<(), OpenError> {
        match self.state {
            State::Closed => Err(OpenError::Closed),
            State::Draining { .. } => Err(OpenError::GoingAway),
            State::Open if self.next_stream > MAX_STREAM_ID => Err(OpenError::IdsExhausted),
            State::Open if self.streams.open.len() >= self.max_streams as usize => {
                Err(OpenError::AtLimit)
            }
            State::Open => Ok(()),
        }
    }

    /// Opens a stream carrying one request: appends its HEADERS (and
    /// CONTINUATIONs, as the server's `SETTINGS_MAX_FRAME_SIZE` requires),
    /// with END_STREAM if `body` is empty, then as much of `body` as
    /// DATA as the server's flow-control windows allow. The rest is
    /// copied and sent as WINDOW_UPDATEs arrive.
    ///
    /// `header_block` is the request's HPACK block, encoded without the
    /// dynamic table (see [`super::hpack::encode_request`]).
    pub fn open(
        &mut self,
        header_block: &[u8],
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<StreamId, OpenError> {
        self.check_open()?;
        let id = self.next_stream;
        self.next_stream += 2;
        write_headers(id, header_block, body.is_empty(), self.send.max_frame, out);
        let s = self
            .streams
            .insert(id, i64::from(self.initial_window), RECV_WINDOW);
        let sent = send_body(id, body, &mut self.send, &mut s.send_window, out);
        s.body.extend_from_slice(&body[sent..]);
        Ok(StreamId(id))
    }

    /// Gives up on an open stream (a response timeout, say): appends an
    /// RST_STREAM with `CANCEL`. No event follows for it; frames the
    /// server had already sent on it are ignored. False if the stream was
    /// not open.
    pub fn cancel(&mut self, stream: StreamId, out: &mut Vec<u8>) -> bool {
        let open = self.streams.remove(stream.0).is_some();
        if open {
            write_rst_stream(stream.0, ErrorCode::Cancel, out);
        }
        open
    }

    /// No stream is open.
    pub fn is_idle(&self) -> bool {
        self.streams.open.is_empty()
    }

    /// Number of open streams.
    pub fn streams_open(&self) -> usize {
        self.streams.open.len()
    }

    /// The server's `SETTINGS_MAX_CONCURRENT_STREAMS` (before its SETTINGS
    /// arrive, [`INITIAL_MAX_STREAMS`]; without a limit, `u32::MAX`).
    pub fn max_streams(&self) -> u32 {
        self.max_streams
    }

    /// The server's first SETTINGS has arrived, so [`H2Conn::max_streams`]
    /// is the server's word rather than the assumption before it.
    pub fn settings_seen(&self) -> bool {
        self.preface_seen
    }

    /// Opens at most `limit` streams until the server's SETTINGS say how
    /// many it allows (instead of [`INITIAL_MAX_STREAMS`]): what an earlier
    /// connection to the same server said, so that a reconnect does not
    /// open streams the server will refuse. Ignored once they arrived.
    pub fn assume_max_streams(&mut self, limit: u32) {
        if !self.preface_seen {
            self.max_streams = limit;
        }
    }

    /// The connection failed or the server closed it: nothing more can
    /// happen on it.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The server closed the connection (EOF, or the transport failed):
    /// reports every open stream as [`Event::Lost`]. Nothing more happens
    /// on the connection.
    pub fn eof(&mut self, mut on_event: impl FnMut(Event<'_>)) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.streams.remove_above(0, |id, answered| {
            on_event(Event::Lost {
                stream: StreamId(id),
                answered,
            });
        });
    }

    /// Bytes from the server, in any pieces: each complete frame is
    /// handled as it is found, and a frame cut short waits for the next
    /// call. Replies (SETTINGS and PING acknowledgements, WINDOW_UPDATEs,
    /// request body DATA, RST_STREAM, GOAWAY) are appended to `out`.
    /// After [`Event::Failed`] or [`H2Conn::eof`], input is ignored.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>, mut on_event: impl FnMut(Event<'_>)) {
        let on_event = &mut on_event;
        let mut input = data;
        if self.state == State::Closed {
            return;
        }
        if !self.partial.is_empty() {
            // Complete the frame begun in an earlier read, copying only
            // its own bytes: the header, then the length it announces.
            let mut buf = mem::take(&mut self.partial);
            loop {
                match self.parse(&buf) {
                    Err(e) => return self.fail(e, out, on_event),
                    Ok(Parsed::Complete(frame, _)) => {
                        if let Err(e) = self.handle(frame, out, on_event) {
                            return self.fail(e, out, on_event);
                        }
                        break;
                    }
                    Ok(Parsed::Partial) if input.is_empty() => {
                        self.partial = buf;
                        return;
                    }
                    Ok(Parsed::Partial) => {
                        // Partial with a whole header means its length is
                        // within MAX_FRAME_SIZE: `parse` checked it.
                        let want =
                            parse_header(&buf).map_or(HEADER_LEN, |h| HEADER_LEN + h.len as usize);
                        let (more, rest) = input.split_at((want - buf.len()).min(input.len()));
                        buf.extend_from_slice(more);
                        input = rest;
                    }
                }
            }
            buf.clear();
            self.partial = buf;
        }
        while self.state != State::Closed {
            match self.parse(input) {
                Err(e) => return self.fail(e, out, on_event),
                Ok(Parsed::Complete(frame, len)) => {
                    if let Err(e) = self.handle(frame, out, on_event) {
                        return self.fail(e, out, on_event);
                    }
                    input = &input[len..];
                }
                Ok(Parsed::Partial) => {
                    self.partial.extend_from_slice(input);
                    return;
                }
            }
        }
    }

    /// The frame at the start of `buf`. Until the server's preface has
    /// arrived, a header that is not SETTINGS fails at once: an HTTP/1.1
    /// server's reply would otherwise be read as an oversized frame.
    fn parse<'b>(&self, buf: &'b [u8]) -> Result<Parsed<'b>, ConnError> {
        if !self.preface_seen && parse_header(buf).is_some_and(|h| h.kind != kind::SETTINGS) {
            return Err(ConnError::NoPreface);
        }
        Ok(decode_frame(buf, MAX_FRAME_SIZE)?)
    }

    /// The connection failed: GOAWAY, [`Event::Failed`], and every open
    /// stream lost.
    fn fail(&mut self, e: ConnError, out: &mut Vec<u8>, on_event: &mut impl FnMut(Event<'_>)) {
        // The last stream is the server's: volley accepts none.
        write_goaway(0, e.code(), b"", out);
        on_event(Event::Failed(e));
        self.eof(on_event);
    }

    /// One whole frame, with everything RFC 9113 asks of it given the
    /// connection's state.
    fn handle(
        &mut self,
        frame: Frame<'_>,
        out: &mut Vec<u8>,
        on_event: &mut impl FnMut(Event<'_>),
    ) -> Result<(), ConnError> {
        if !self.preface_seen && !matches!(frame, Frame::Settings { ack: false, .. }) {
            return Err(ConnError::NoPreface);
        }
        if let Some((stream, _)) = self.continuing {
            if !matches!(frame, Frame::Continuation { stream: s, .. } if s == stream) {
                return Err(ConnError::ContinuationExpected);
            }
        }
        match frame {
            Frame::Data {
                stream,
                end_stream,
                data,
                flow_len,
            } => self.on_data(stream, end_stream, data, flow_len, out, on_event)?,
            Frame::Headers {
                stream,
                end_stream,
                end_headers,
                block,
            } => {
                self.check_opened(stream, kind::HEADERS)?;
                if end_headers {
                    self.on_head(stream, block, end_stream, out, on_event)?;
                } else {
                    self.block.clear();
                    self.append_block(block)?;
                    self.continuing = Some((stream, end_stream));
                }
            }
            Frame::Continuation {
                stream,
                end_headers,
                block,
            } => {
                let Some((_, end_stream)) = self.continuing else {
                    return Err(ConnError::UnexpectedContinuation);
                };
                self.append_block(block)?;
                if end_headers {
                    self.continuing = None;
                    let block = mem::take(&mut self.block);
                    let r = self.on_head(stream, &block, end_stream, out, on_event);
                    self.block = block;
                    r?;
                }
            }
            Frame::RstStream { stream, code } => {
                self.check_opened(stream, kind::RST_STREAM)?;
                if let Some(ended) = self.streams.remove(stream) {
                    on_event(Event::Reset {
                        stream: StreamId(stream),
                        code,
                        unprocessed: code == ErrorCode::RefusedStream && !ended.answered,
                    });
                }
            }
            Frame::Settings { ack: false, params } => self.on_settings(params, out)?,
            // volley changes nothing that waits for the acknowledgement:
            // frames are checked against the default size throughout.
            Frame::Settings { ack: true, .. } => {}
            Frame::PushPromise { .. } => return Err(ConnError::PushPromise),
            Frame::Ping { ack: false, data } => write_ping_ack(data, out),
            Frame::Ping { ack: true, .. } => {}
            Frame::GoAway {
                last_stream, code, ..
            } => self.on_goaway(last_stream, code, on_event),
            Frame::WindowUpdate { stream, increment } => {
                let window = if stream == 0 {
                    Some(&mut self.send.window)
                } else {
                    self.check_opened(stream, kind::WINDOW_UPDATE)?;
                    // A stream that ended may still be updated: ignored.
                    self.streams.get_mut(stream).map(|s| &mut s.send_window)
                };
                if let Some(window) = window {
                    if !grow(window, i64::from(increment)) {
                        return Err(ConnError::WindowOverflow);
                    }
                    self.send_pending(out);
                }
            }
            Frame::Priority { .. } | Frame::Unknown { .. } => {}
        }
        Ok(())
    }

    /// A frame that belongs to a stream must be on one volley opened: an
    /// odd identifier below the next it would use (RFC 9113 §5.1: any
    /// other is idle, or the server's, and push is off).
    ///
    /// A frame on a stream that has ended is ignored (DATA still counts
    /// against the connection's window). volley keeps no record of ended
    /// streams, so it cannot tell a frame that crossed its own RST_STREAM,
    /// which RFC 9113 §5.1 says to accept, from one sent after END_STREAM,
    /// which it allows to be a connection error; like Go's and the `h2`
    /// crate's clients, it errs on the side of keeping the connection.
    fn check_opened(&self, stream: u32, kind: u8) -> Result<(), ConnError> {
        if stream.is_multiple_of(2) || stream >= self.next_stream {
            return Err(ConnError::IdleStream { kind });
        }
        Ok(())
    }

    /// Adds a fragment to the header block being joined.
    fn append_block(&mut self, fragment: &[u8]) -> Result<(), ConnError> {
        if self.block.len() + fragment.len() > MAX_HEADER_BLOCK {
            return Err(ConnError::HeaderBlockTooLarge);
        }
        self.block.extend_from_slice(fragment);
        Ok(())
    }

    /// A whole header block on `stream`. It is decoded even when the
    /// stream has ended (volley reset it), to keep the HPACK table in step
    /// with the server's (RFC 9113 §4.3).
    fn on_head(
        &mut self,
        stream: u32,
        block: &[u8],
        end_stream: bool,
        out: &mut Vec<u8>,
        on_event: &mut impl FnMut(Event<'_>),
    ) -> Result<(), ConnError> {
        let mut check = HeadCheck::default();
        match self
            .decoder
            .decode(block, |name, value| check.field(name, value))
        {
            Ok(()) => {}
            Err(HpackError::HeaderListTooLarge) => check.too_large(),
            Err(e) => return Err(ConnError::Hpack(e)),
        }
        let Some(s) = self.streams.get_mut(stream) else {
            return Ok(());
        };
        s.answered = true;
        match check.finish(s.phase, end_stream) {
            Ok(Head::Interim) => {}
            Ok(Head::Final(status)) => {
                s.phase = Phase::Body;
                on_event(Event::Response {
                    stream: StreamId(stream),
                    status,
                });
                if end_stream {
                    self.finish(stream, out, on_event);
                }
            }
            Ok(Head::Trailers) => self.finish(stream, out, on_event),
            Err(e) => self.malformed(stream, e, out, on_event),
        }
        Ok(())
    }

    /// A DATA frame: counted against both receive windows whether or not
    /// its stream is still open, and returned to the server once half a
    /// window is used (RFC 9113 §6.9).
    fn on_data(
        &mut self,
        stream: u32,
        end_stream: bool,
        data: &[u8],
        flow_len: u32,
        out: &mut Vec<u8>,
        on_event: &mut impl FnMut(Event<'_>),
    ) -> Result<(), ConnError> {
        self.check_opened(stream, kind::DATA)?;
        // Windows are refunded as soon as the WINDOW_UPDATE is written, so
        // this catches only a server that sends more than it could ever
        // have been granted.
        self.recv_window = self
            .recv_window
            .checked_sub(flow_len)
            .ok_or(ConnError::FlowControl)?;
        self.recv_unacked += flow_len;
        if let Some(s) = self.streams.get_mut(stream) {
            s.recv_window = s
                .recv_window
                .checked_sub(flow_len)
                .ok_or(ConnError::FlowControl)?;
            s.answered = true;
            if s.phase == Phase::AwaitingHead {
                self.malformed(stream, StreamError::DataBeforeHead, out, on_event);
            } else {
                if !data.is_empty() {
                    on_event(Event::Body {
                        stream: StreamId(stream),
                        data,
                    });
                }
                if end_stream {
                    self.finish(stream, out, on_event);
                } else {
                    // An ended stream needs no more window.
                    s.recv_unacked += flow_len;
                    refund(stream, &mut s.recv_window, &mut s.recv_unacked, out);
                }
            }
        }
        refund(0, &mut self.recv_window, &mut self.recv_unacked, out);
        Ok(())
    }

    /// The server's SETTINGS (RFC 9113 §6.5.2), applied and acknowledged.
    fn on_settings(
        &mut self,
        params: SettingsParams<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ConnError> {
        if !self.preface_seen {
            self.preface_seen = true;
            // No limit unless this first SETTINGS sets one.
            self.max_streams = u32::MAX;
        }
        for (id, value) in params.iter() {
            match id {
                setting::ENABLE_PUSH if value != 0 => return Err(ConnError::PushEnabled),
                setting::MAX_CONCURRENT_STREAMS => self.max_streams = value,
                setting::INITIAL_WINDOW_SIZE => {
                    // Every open stream's window moves by the change
                    // (RFC 9113 §6.9.2).
                    let delta = i64::from(value) - i64::from(self.initial_window);
                    for s in &mut self.streams.open {
                        if !grow(&mut s.send_window, delta) {
                            return Err(ConnError::WindowOverflow);
                        }
                    }
                    self.initial_window = value;
                }
                setting::MAX_FRAME_SIZE => self.send.max_frame = value,
                // HEADER_TABLE_SIZE bounds an encoder's dynamic table, and
                // volley's request blocks use none; MAX_HEADER_LIST_SIZE
                // is advisory.
                _ => {}
            }
        }
        write_settings_ack(out);
        self.send_pending(out);
        Ok(())
    }

    /// A GOAWAY: no new streams; those above its last stream were not
    /// processed and end now. A later GOAWAY can only lower the last
    /// stream (RFC 9113 §6.8).
    fn on_goaway(
        &mut self,
        last_stream: u32,
        code: ErrorCode,
        on_event: &mut impl FnMut(Event<'_>),
    ) {
        let last = match self.state {
            State::Draining {
                last_stream: before,
            } => before.min(last_stream),
            _ => last_stream,
        };
        self.state = State::Draining { last_stream: last };
        on_event(Event::GoAway {
            last_stream: StreamId(last_stream),
            code,
        });
        self.streams.remove_above(last, |id, _| {
            on_event(Event::Reset {
                stream: StreamId(id),
                code,
                unprocessed: true,
            });
        });
    }

    /// The response on `stream` is complete. A request body not yet all
    /// sent is no longer wanted: the stream is reset with `CANCEL`.
    fn finish(&mut self, stream: u32, out: &mut Vec<u8>, on_event: &mut impl FnMut(Event<'_>)) {
        if let Some(ended) = self.streams.remove(stream) {
            if ended.unsent_body {
                write_rst_stream(stream, ErrorCode::Cancel, out);
            }
            on_event(Event::Done {
                stream: StreamId(stream),
            });
        }
    }

    /// The response on `stream` is malformed: reset it.
    fn malformed(
        &mut self,
        stream: u32,
        error: StreamError,
        out: &mut Vec<u8>,
        on_event: &mut impl FnMut(Event<'_>),
    ) {
        if self.streams.remove(stream).is_some() {
            write_rst_stream(stream, error.code(), out);
            on_event(Event::Malformed {
                stream: StreamId(stream),
                error,
            });
        }
    }

    /// Sends what request bodies the windows now allow, oldest stream
    /// first.
    fn send_pending(&mut self, out: &mut Vec<u8>) {
        for s in &mut self.streams.open {
            if self.send.window <= 0 {
                return;
            }
            if s.sending() {
                let rest = &s.body[s.body_sent..];
                s.body_sent += send_body(s.id, rest, &mut self.send, &mut s.send_window, out);
            }
        }
    }
}

/// The default `SETTINGS_INITIAL_WINDOW_SIZE` and connection window (RFC
/// 9113 §6.9.2).
const DEFAULT_WINDOW: u32 = 65_535;

/// Returns the bytes received on a window (stream 0: the connection's) in
/// a WINDOW_UPDATE once they reach half of [`RECV_WINDOW`].
fn refund(stream: u32, window: &mut u32, unacked: &mut u32, out: &mut Vec<u8>) {
    if *unacked >= RECV_WINDOW / 2 {
        write_window_update(stream, *unacked, out);
        *window += *unacked;
        *unacked = 0;
    }
}

#[cfg(test)]
mod tests;
