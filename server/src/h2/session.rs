//! One HTTP/2 connection's protocol state, without its socket: what each
//! frame from the client does (RFC 9113), the flow-control windows both
//! ways, the HPACK decoder, and the open streams. Bytes for the client are
//! appended to the caller's buffer.
//!
//! Everything that changes the connection's [`State`] is in this file.

use std::time::Instant;

use volley_core::h2::frame::{
    DEFAULT_MAX_FRAME_SIZE, Frame, MAX_WINDOW, SettingsParams, kind, setting, write_data,
    write_goaway, write_headers, write_ping_ack, write_rst_stream, write_settings,
    write_settings_ack, write_window_update,
};
use volley_core::h2::hpack::{DEFAULT_TABLE_SIZE, Decoder};
use volley_core::h2::{ErrorCode, HpackError};

use super::fault::Fault;
use super::request::decode_request;
use super::stream::{Phase, Stream, Streams};
use crate::ServeStats;
use crate::request::MAX_HEAD_BYTES;
use crate::responses::{Reply, Responses, Variant};
use crate::shared::{Due, Shared};

/// The `SETTINGS_MAX_CONCURRENT_STREAMS` the server advertises; a stream
/// beyond it is refused (`REFUSED_STREAM`), so the client may retry it.
pub(crate) const MAX_CONCURRENT_STREAMS: u32 = 128;

/// The flow-control window the server grants the client for each stream
/// and for the connection, as volley's client does (16 MiB): request
/// bodies are never throttled, and what arrives is returned with
/// WINDOW_UPDATE once half a window is used.
pub(crate) const RECV_WINDOW: u32 = 1 << 24;

/// The `SETTINGS_MAX_HEADER_LIST_SIZE` the server advertises and enforces,
/// the HTTP/1.1 limit on a request head: a longer list is answered `431`.
const MAX_HEADER_LIST_SIZE: u32 = MAX_HEAD_BYTES as u32;

/// The longest header block (HEADERS and its CONTINUATIONs) buffered; a
/// longer one ends the connection (`COMPRESSION_ERROR`, as it cannot be
/// decoded, so the decoder's table would be out of step).
const MAX_HEADER_BLOCK: usize = 2 * MAX_HEAD_BYTES;

/// Every window starts at 65,535 (RFC 9113 §6.9.2).
const DEFAULT_WINDOW: u32 = 65_535;

/// Where the connection is in its life. The client's preface has been
/// read before a session exists.
///
/// Streams are served until one of three things ends that: the client
/// breaks the protocol (the server sends GOAWAY with the error and stops
/// reading), the connection reaches its last request (GOAWAY with
/// `NO_ERROR`: the streams up to that one are still served, later ones
/// ignored), or the client shuts its write side (what can still be sent
/// is, then the connection closes). A connection the server ends is shut
/// for writing and drained ([`Lingering`](Self::Lingering)), as HTTP/1.1's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// The server's SETTINGS are sent; the client's must come first
    /// (RFC 9113 §3.4).
    AwaitingSettings,
    /// Serving streams.
    Open,
    /// GOAWAY (`NO_ERROR`) sent after `last_stream`, the last request the
    /// connection serves: frames on later streams are ignored.
    GoingAway { last_stream: u32 },
    /// The client shut its write side: frames already read are handled
    /// and what can be sent is, then the connection closes. With
    /// `last_stream`, a GOAWAY was sent, as in [`GoingAway`](Self::GoingAway).
    PeerClosed { last_stream: Option<u32> },
    /// The client broke the protocol: GOAWAY with the error is written,
    /// input is ignored.
    Failed,
    /// Shut for writing; reads are discarded until the client closes or
    /// the linger deadline, which the server keeps, passes.
    Lingering,
}

/// What moves a connection from one [`State`] to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// The client's first SETTINGS.
    Settings,
    /// The stream that is the connection's last request was accepted.
    LastRequest { last_stream: u32 },
    /// A read returned the client's end of stream.
    PeerEof,
    /// The client broke the protocol.
    Fault,
    /// Everything is answered and written: linger.
    Answered,
}

impl State {
    /// The state after `input`; the table of every transition. Any other
    /// pair is a bug here: it asserts in debug builds and leaves the state
    /// as it was otherwise.
    fn on(self, input: Input) -> Self {
        use State::*;
        match (self, input) {
            (AwaitingSettings, Input::Settings) => Open,
            (Open, Input::LastRequest { last_stream }) => GoingAway { last_stream },
            (PeerClosed { last_stream: None }, Input::LastRequest { last_stream }) => PeerClosed {
                last_stream: Some(last_stream),
            },
            (AwaitingSettings | Open, Input::PeerEof) => PeerClosed { last_stream: None },
            (GoingAway { last_stream }, Input::PeerEof) => PeerClosed {
                last_stream: Some(last_stream),
            },
            (AwaitingSettings | Open | GoingAway { .. } | PeerClosed { .. }, Input::Fault) => {
                Failed
            }
            (GoingAway { .. } | Failed, Input::Answered) => Lingering,
            (state, input) => {
                debug_assert!(
                    false,
                    "h2 connection cannot take {input:?} in state {state:?}"
                );
                state
            }
        }
    }

    /// Whether to read more from the socket (backpressure aside).
    pub(super) fn reads(self) -> bool {
        matches!(
            self,
            Self::AwaitingSettings | Self::Open | Self::GoingAway { .. }
        )
    }

    /// Whether frames already read are still handled.
    pub(super) fn parses(self) -> bool {
        self.reads() || matches!(self, Self::PeerClosed { .. })
    }

    /// Whether a request on `stream` is served, rather than ignored after
    /// a GOAWAY.
    fn serves(self, stream: u32) -> bool {
        match self {
            Self::GoingAway { last_stream }
            | Self::PeerClosed {
                last_stream: Some(last_stream),
            } => stream <= last_stream,
            _ => true,
        }
    }
}

/// How a connection ends once nothing more can happen on it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Finish {
    /// Not yet.
    Keep,
    /// Shut the write side and drain: the session is now lingering.
    Linger,
    /// Drop it.
    Close,
}

/// One connection's HTTP/2 state. See the [module documentation](self).
#[derive(Debug)]
pub(super) struct Session {
    state: State,
    slot: usize,
    generation: u64,
    decoder: Decoder,
    /// A header block whose HEADERS lacked END_HEADERS, joined with its
    /// CONTINUATIONs; reused.
    block: Vec<u8>,
    /// The stream of the unfinished header block, and its HEADERS'
    /// END_STREAM: only its CONTINUATION may come next (RFC 9113 §6.10).
    continuing: Option<(u32, bool)>,
    streams: Streams,
    /// The highest stream the client has opened (served, refused or
    /// ignored): the GOAWAY's last stream, and the line between closed
    /// and idle streams.
    last_stream: u32,
    /// Streams accepted, for `Shared::max_requests`.
    accepted: u64,
    /// The client's `SETTINGS_MAX_FRAME_SIZE`.
    peer_max_frame: u32,
    /// The client's `SETTINGS_INITIAL_WINDOW_SIZE`: each new stream's send
    /// window.
    peer_initial_window: u32,
    /// What the server may still send on the connection.
    send_window: i64,
    /// What the client may still send on the connection.
    recv_window: u32,
    /// Bytes received on the connection, not yet returned.
    recv_unacked: u32,
}

impl Session {
    /// A session for a connection whose client preface has just been read:
    /// appends the server's SETTINGS and the WINDOW_UPDATE that raises the
    /// connection's window to [`RECV_WINDOW`] to `out`.
    pub(super) fn new(slot: usize, generation: u64, out: &mut Vec<u8>) -> Self {
        write_settings(
            &[
                (setting::MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS),
                (setting::INITIAL_WINDOW_SIZE, RECV_WINDOW),
                (setting::MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_SIZE),
            ],
            out,
        );
        write_window_update(0, RECV_WINDOW - DEFAULT_WINDOW, out);
        Self {
            state: State::AwaitingSettings,
            slot,
            generation,
            decoder: Decoder::new(DEFAULT_TABLE_SIZE, MAX_HEADER_LIST_SIZE as usize),
            block: Vec::new(),
            continuing: None,
            streams: Streams::default(),
            last_stream: 0,
            accepted: 0,
            peer_max_frame: DEFAULT_MAX_FRAME_SIZE,
            peer_initial_window: DEFAULT_WINDOW,
            send_window: i64::from(DEFAULT_WINDOW),
            recv_window: RECV_WINDOW,
            recv_unacked: 0,
        }
    }

    pub(super) fn state(&self) -> State {
        self.state
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// A read returned the client's end of stream.
    pub(super) fn peer_eof(&mut self) {
        self.state = self.state.on(Input::PeerEof);
    }

    /// Handles one frame from the client; a fault ends the connection
    /// with GOAWAY.
    pub(super) fn handle(
        &mut self,
        frame: Frame<'_>,
        sh: &mut Shared,
        now: Instant,
        out: &mut Vec<u8>,
    ) {
        if let Err(fault) = self.frame(frame, sh, now, out) {
            self.fail(fault, out);
        }
    }

    /// The client broke the protocol: GOAWAY with the highest stream it
    /// opened (the server may have processed any of them), and nothing
    /// more is read or answered.
    pub(super) fn fail(&mut self, fault: Fault, out: &mut Vec<u8>) {
        // Only when a client misbehaves: allocating here costs no steady
        // state anything.
        let debug = fault.to_string();
        write_goaway(self.last_stream, fault.code(), debug.as_bytes(), out);
        self.state = self.state.on(Input::Fault);
        self.streams.open.clear();
        self.continuing = None;
    }

    /// Decides whether the connection is done, once nothing more can
    /// happen now; `written` says whether its output is all written.
    pub(super) fn finish(&mut self, written: bool) -> Finish {
        let done = match self.state {
            State::AwaitingSettings | State::Open | State::Lingering => return Finish::Keep,
            State::GoingAway { .. } => written && self.streams.len() == 0,
            State::Failed => written,
            // Nothing more will arrive: streams blocked on flow control,
            // or still receiving, can never finish.
            State::PeerClosed { .. } => {
                let waiting = self.streams.open.iter().any(|s| s.phase == Phase::Waiting);
                if written && !waiting && !self.can_send() {
                    return Finish::Close;
                }
                false
            }
        };
        if done {
            self.state = self.state.on(Input::Answered);
            Finish::Linger
        } else {
            Finish::Keep
        }
    }

    /// Whether some stream has body bytes to send and the windows allow it.
    pub(super) fn can_send(&self) -> bool {
        self.send_window > 0 && self.streams.open.iter().any(Stream::can_send)
    }

    /// Writes response bodies as DATA while the windows allow, until
    /// `out` has grown by `room` bytes; a stream whose body is all written
    /// is closed.
    pub(super) fn pump(&mut self, responses: &Responses, out: &mut Vec<u8>, room: usize) {
        let limit = out.len() + room;
        let max_frame = self.peer_max_frame as usize;
        let mut i = 0;
        while let Some(s) = self.streams.open.get_mut(i) {
            if self.send_window <= 0 || out.len() >= limit {
                return;
            }
            let Phase::Sending { reply, mut sent } = s.phase else {
                i += 1;
                continue;
            };
            let body = responses.body(reply);
            while sent < body.len()
                && s.send_window > 0
                && self.send_window > 0
                && out.len() < limit
            {
                // Both windows are positive and at most 2^31 - 1 here.
                let window = s.send_window.min(self.send_window) as usize;
                let n = (body.len() - sent).min(max_frame).min(window);
                write_data(s.id, &body[sent..sent + n], sent + n == body.len(), out);
                sent += n;
                s.send_window -= n as i64;
                self.send_window -= n as i64;
            }
            if sent == body.len() {
                self.streams.open.swap_remove(i);
            } else {
                s.phase = Phase::Sending { reply, sent };
                i += 1;
            }
        }
    }

    /// A delayed answer is due on `stream`: writes its head (the body
    /// follows with [`pump`](Self::pump)). False if the stream is gone (the
    /// client reset it, or the connection failed).
    pub(super) fn deliver(
        &mut self,
        stream: u32,
        reply: Reply,
        responses: &Responses,
        stats: &mut ServeStats,
        out: &mut Vec<u8>,
    ) -> bool {
        match self.streams.get_mut(stream) {
            Some(s) if s.phase == Phase::Waiting => {
                self.start(stream, reply, responses, stats, out);
                true
            }
            _ => false,
        }
    }

    /// One whole frame, with what RFC 9113 asks of it in this state.
    fn frame(
        &mut self,
        frame: Frame<'_>,
        sh: &mut Shared,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        if self.state == State::AwaitingSettings
            && !matches!(frame, Frame::Settings { ack: false, .. })
        {
            return Err(Fault::NoSettings);
        }
        if let Some((stream, _)) = self.continuing {
            if !matches!(frame, Frame::Continuation { stream: s, .. } if s == stream) {
                return Err(Fault::ContinuationExpected);
            }
        }
        match frame {
            Frame::Data {
                stream,
                end_stream,
                flow_len,
                ..
            } => self.on_data(stream, end_stream, flow_len, sh, now, out)?,
            Frame::Headers {
                stream,
                end_stream,
                end_headers,
                block,
            } => {
                if end_headers {
                    self.on_head(stream, block, end_stream, sh, now, out)?;
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
                    return Err(Fault::UnexpectedContinuation);
                };
                self.append_block(block)?;
                if end_headers {
                    self.continuing = None;
                    let block = std::mem::take(&mut self.block);
                    let r = self.on_head(stream, &block, end_stream, sh, now, out);
                    self.block = block;
                    r?;
                }
            }
            Frame::RstStream { stream, .. } => {
                self.check_opened(stream, kind::RST_STREAM)?;
                // A delayed answer for it finds it gone.
                self.streams.remove(stream);
            }
            Frame::Settings { ack: false, params } => self.on_settings(params, out)?,
            Frame::PushPromise { .. } => return Err(Fault::PushPromise),
            Frame::Ping { ack: false, data } => write_ping_ack(data, out),
            Frame::WindowUpdate {
                stream: 0,
                increment,
            } => {
                self.send_window += i64::from(increment);
                if self.send_window > i64::from(MAX_WINDOW) {
                    return Err(Fault::WindowOverflow);
                }
            }
            Frame::WindowUpdate { stream, increment } => {
                self.check_opened(stream, kind::WINDOW_UPDATE)?;
                if let Some(s) = self.streams.get_mut(stream) {
                    s.send_window += i64::from(increment);
                    if s.send_window > i64::from(MAX_WINDOW) {
                        self.reset(stream, ErrorCode::FlowControlError, out);
                    }
                }
            }
            // Acknowledgements of the server's SETTINGS and PINGs (it
            // sends none), the client's GOAWAY (it closes the connection
            // when done), PRIORITY (deprecated) and unknown types.
            Frame::Settings { ack: true, .. }
            | Frame::Ping { ack: true, .. }
            | Frame::GoAway { .. }
            | Frame::Priority { .. }
            | Frame::Unknown { .. } => {}
            // `Frame` is non-exhaustive: a type core learns to parse later
            // is ignored, as unknown types are (RFC 9113 §4.1).
            _ => {}
        }
        Ok(())
    }

    /// A frame other than HEADERS on `stream`: an error if the client has
    /// not opened it yet.
    fn check_opened(&self, stream: u32, kind: u8) -> Result<(), Fault> {
        if stream > self.last_stream {
            return Err(Fault::IdleStream { kind });
        }
        Ok(())
    }

    fn append_block(&mut self, fragment: &[u8]) -> Result<(), Fault> {
        if self.block.len() + fragment.len() > MAX_HEADER_BLOCK {
            return Err(Fault::HeaderBlockTooLarge);
        }
        self.block.extend_from_slice(fragment);
        Ok(())
    }

    /// A whole header block: a request opening a stream, or trailers.
    fn on_head(
        &mut self,
        stream: u32,
        block: &[u8],
        end_stream: bool,
        sh: &mut Shared,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        if stream <= self.last_stream {
            return self.on_trailers(stream, block, end_stream, sh, now, out);
        }
        if stream.is_multiple_of(2) {
            return Err(Fault::EvenStream);
        }
        self.last_stream = stream;
        // Decoded even when ignored, to keep the table in step (§4.3).
        let head = decode_request(&mut self.decoder, block)?;
        if !self.state.serves(stream) {
            return Ok(());
        }
        if self.streams.len() >= MAX_CONCURRENT_STREAMS as usize {
            write_rst_stream(stream, ErrorCode::RefusedStream, out);
            return Ok(());
        }
        if head.malformed {
            write_rst_stream(stream, ErrorCode::ProtocolError, out);
            return Ok(());
        }
        sh.stats.requests += 1;
        self.accepted += 1;
        self.streams.open.push(Stream {
            id: stream,
            phase: Phase::Receiving {
                head_only: head.head_only,
                too_large: head.too_large,
            },
            send_window: i64::from(self.peer_initial_window),
            recv_window: RECV_WINDOW,
            recv_unacked: 0,
        });
        if sh.max_requests == Some(self.accepted) {
            // As nginx's keepalive_requests: this stream is served, and
            // the client opens later ones on another connection.
            write_goaway(stream, ErrorCode::NoError, b"", out);
            self.state = self.state.on(Input::LastRequest {
                last_stream: stream,
            });
        }
        if end_stream {
            self.complete(stream, sh, now, out);
        } else if head.expect_continue {
            write_headers(
                stream,
                sh.responses.h2_continue(),
                false,
                self.peer_max_frame,
                out,
            );
        }
        Ok(())
    }

    /// A header block on a stream already opened: trailers, which must end
    /// the request (§8.1).
    fn on_trailers(
        &mut self,
        stream: u32,
        block: &[u8],
        end_stream: bool,
        sh: &mut Shared,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        match self.decoder.decode(block, |_, _| {}) {
            Ok(()) | Err(HpackError::HeaderListTooLarge) => {}
            Err(e) => return Err(Fault::Hpack(e)),
        }
        let receiving = match self.streams.get_mut(stream) {
            Some(s) => matches!(s.phase, Phase::Receiving { .. }),
            // Ignored after a GOAWAY: nothing is known of it.
            None if !self.state.serves(stream) => return Ok(()),
            None => return Err(Fault::ClosedStream),
        };
        if !receiving {
            // Half-closed (remote): the request had ended (§5.1).
            self.reset(stream, ErrorCode::StreamClosed, out);
        } else if !end_stream {
            self.reset(stream, ErrorCode::ProtocolError, out);
        } else {
            self.complete(stream, sh, now, out);
        }
        Ok(())
    }

    fn on_data(
        &mut self,
        stream: u32,
        end_stream: bool,
        flow_len: u32,
        sh: &mut Shared,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        self.check_opened(stream, kind::DATA)?;
        // The connection's window counts DATA on any stream (§6.9).
        self.recv_window = self
            .recv_window
            .checked_sub(flow_len)
            .ok_or(Fault::FlowControl)?;
        self.recv_unacked += flow_len;
        if self.recv_unacked >= RECV_WINDOW / 2 {
            write_window_update(0, self.recv_unacked, out);
            self.recv_window += self.recv_unacked;
            self.recv_unacked = 0;
        }
        // DATA on a closed stream is ignored: it may have been sent before
        // the client saw the server's RST_STREAM.
        let Some(s) = self.streams.get_mut(stream) else {
            return Ok(());
        };
        if !matches!(s.phase, Phase::Receiving { .. }) {
            self.reset(stream, ErrorCode::StreamClosed, out);
            return Ok(());
        }
        let Some(left) = s.recv_window.checked_sub(flow_len) else {
            self.reset(stream, ErrorCode::FlowControlError, out);
            return Ok(());
        };
        s.recv_window = left;
        if end_stream {
            self.complete(stream, sh, now, out);
        } else {
            s.recv_unacked += flow_len;
            if s.recv_unacked >= RECV_WINDOW / 2 {
                write_window_update(stream, s.recv_unacked, out);
                s.recv_window += s.recv_unacked;
                s.recv_unacked = 0;
            }
        }
        Ok(())
    }

    /// The client's SETTINGS: a new initial window moves every stream's
    /// window by the difference (§6.9.2); the frame size bounds DATA and
    /// HEADERS. The server uses no dynamic table and pushes nothing, so
    /// the other parameters change nothing.
    fn on_settings(&mut self, params: SettingsParams<'_>, out: &mut Vec<u8>) -> Result<(), Fault> {
        for (id, value) in params.iter() {
            match id {
                setting::INITIAL_WINDOW_SIZE => {
                    let delta = i64::from(value) - i64::from(self.peer_initial_window);
                    self.peer_initial_window = value;
                    for s in &mut self.streams.open {
                        s.send_window += delta;
                        if s.send_window > i64::from(MAX_WINDOW) {
                            return Err(Fault::WindowOverflow);
                        }
                    }
                }
                setting::MAX_FRAME_SIZE => self.peer_max_frame = value,
                _ => {}
            }
        }
        write_settings_ack(out);
        if self.state == State::AwaitingSettings {
            self.state = self.state.on(Input::Settings);
        }
        Ok(())
    }

    /// The request on `stream` is complete: answer it now, or when its
    /// delay has passed.
    fn complete(&mut self, stream: u32, sh: &mut Shared, now: Instant, out: &mut Vec<u8>) {
        let Some(s) = self.streams.get_mut(stream) else {
            return;
        };
        let Phase::Receiving {
            head_only,
            too_large,
        } = s.phase
        else {
            return;
        };
        let reply = if too_large {
            sh.responses.too_large()
        } else {
            sh.responses
                .status(sh.picker.next(), Variant::Plain, head_only)
        };
        match sh.answer_due(now) {
            None => self.start(stream, reply, &sh.responses, &mut sh.stats, out),
            Some(due) => {
                s.phase = Phase::Waiting;
                sh.delayed.push_back(Due {
                    due,
                    slot: self.slot,
                    generation: self.generation,
                    reply: Some(reply),
                    stream,
                });
            }
        }
    }

    /// Writes the head of `reply` on `stream`, which closes it if there is
    /// no body; a body follows with [`pump`](Self::pump).
    fn start(
        &mut self,
        stream: u32,
        reply: Reply,
        responses: &Responses,
        stats: &mut ServeStats,
        out: &mut Vec<u8>,
    ) {
        let no_body = responses.body(reply).is_empty();
        write_headers(
            stream,
            responses.h2_head(reply),
            no_body,
            self.peer_max_frame,
            out,
        );
        stats.responses += 1;
        if no_body {
            self.streams.remove(stream);
        } else if let Some(s) = self.streams.get_mut(stream) {
            s.phase = Phase::Sending { reply, sent: 0 };
        }
    }

    /// Ends `stream` with RST_STREAM: a stream error (§5.4.2).
    fn reset(&mut self, stream: u32, code: ErrorCode, out: &mut Vec<u8>) {
        write_rst_stream(stream, code, out);
        self.streams.remove(stream);
    }
}

#[cfg(test)]
mod tests {
    use super::{Input, State};

    #[test]
    fn states_and_their_transitions() {
        use State::*;
        let goaway = Input::LastRequest { last_stream: 7 };
        assert_eq!(AwaitingSettings.on(Input::Settings), Open);
        assert_eq!(Open.on(goaway), GoingAway { last_stream: 7 });
        let closed = PeerClosed { last_stream: None };
        assert_eq!(Open.on(Input::PeerEof), closed);
        assert_eq!(
            closed.on(goaway),
            PeerClosed {
                last_stream: Some(7)
            }
        );
        assert_eq!(
            GoingAway { last_stream: 7 }.on(Input::PeerEof),
            PeerClosed {
                last_stream: Some(7)
            }
        );
        assert_eq!(closed.on(Input::Fault), Failed);
        assert_eq!(Failed.on(Input::Answered), Lingering);
        assert_eq!(GoingAway { last_stream: 7 }.on(Input::Answered), Lingering);
        let states = [
            AwaitingSettings,
            Open,
            GoingAway { last_stream: 7 },
            closed,
            Failed,
            Lingering,
        ];
        let reads: Vec<bool> = states.iter().map(|s| s.reads()).collect();
        assert_eq!(reads, [true, true, true, false, false, false]);
        let parses: Vec<bool> = states.iter().map(|s| s.parses()).collect();
        assert_eq!(parses, [true, true, true, true, false, false]);
        assert!(GoingAway { last_stream: 7 }.serves(7));
        assert!(!GoingAway { last_stream: 7 }.serves(9));
        assert!(closed.serves(9) && Open.serves(9));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "cannot take Settings in state Open")]
    fn an_impossible_transition_asserts() {
        let _ = State::Open.on(Input::Settings);
    }
}
