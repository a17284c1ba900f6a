//! One accepted connection: its state, buffers, request loop and answers.
//!
//! Everything that changes a connection's [`ConnState`] is in this file, as
//! h11 keeps its state machine in one module: the server's loop only learns
//! what to do next from [`Next`].

use std::io;
use std::net::Shutdown;
use std::time::Instant;

use mio::net::TcpStream;

use crate::request::{MAX_HEAD_BYTES, Parsed, parse_head};
use crate::responses::{Reply, Variant};
use crate::shared::{Due, Shared};
use crate::wire::{ReadBuf, WriteBuf};

/// Initial read buffer; it grows up to [`MAX_HEAD_BYTES`] for large heads.
const READ_BUF: usize = 4096;
/// Stop parsing requests while this many delayed answers wait on one connection.
const MAX_QUEUED: usize = 4096;
/// Reads per connection per wakeup before other connections get their turn.
pub(crate) const READS_PER_DRIVE: u32 = 16;

/// Where a connection is in its life.
///
/// It answers requests until one of two things ends that: the peer shuts its
/// write side, or a request has to be the last (it asked to close, or it
/// could not be answered and the stream cannot be resynchronised after it).
/// A connection that ends the second way, with the peer still sending, is
/// shut down for writing and drained ([`Lingering`](Self::Lingering)) so that
/// the peer's unread bytes cannot turn the close into a reset. The peer's end
/// of stream is only read in [`Open`](Self::Open), and lingering follows only
/// [`Closing`](Self::Closing), so no other combination exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnState {
    /// Reading, parsing and answering requests.
    Open,
    /// The peer shut its write side: the complete requests already read are
    /// still answered, then the connection is dropped.
    PeerClosed,
    /// The last request has been read: whatever follows it is discarded, and
    /// once it is answered the server shuts its write side and lingers.
    Closing,
    /// As [`Closing`](Self::Closing), but the peer had already shut its
    /// write side, so once answered the connection is dropped: nothing more
    /// can arrive that would need draining.
    ClosingPeerClosed,
    /// Shut down for writing; reads are discarded until the peer closes or
    /// the linger deadline, which the server keeps, passes.
    Lingering,
}

/// What moves a connection from one [`ConnState`] to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// A read returned the peer's end of stream.
    PeerEof,
    /// A request that must be the last one was read.
    LastRequest,
    /// The last request is answered and written: linger.
    Answered,
}

impl ConnState {
    /// The state after `input`; the table of every transition.
    ///
    /// The connection only feeds the inputs its state allows (it reads only
    /// while `Open` and parses only while `Open` or `PeerClosed`), so any
    /// other pair is a bug here: it asserts in debug builds and leaves the
    /// state as it was otherwise.
    fn on(self, input: Input) -> Self {
        use ConnState::*;
        match (self, input) {
            (Open, Input::PeerEof) => PeerClosed,
            (Open, Input::LastRequest) => Closing,
            (PeerClosed, Input::LastRequest) => ClosingPeerClosed,
            (Closing, Input::Answered) => Lingering,
            (state, input) => {
                debug_assert!(false, "connection cannot take {input:?} in state {state:?}");
                state
            }
        }
    }

    /// Whether to read more from the socket (backpressure aside).
    fn reads(self) -> bool {
        self == Self::Open
    }

    /// Whether buffered bytes are still parsed as requests.
    fn parses(self) -> bool {
        matches!(self, Self::Open | Self::PeerClosed)
    }
}

/// What the server does with a connection after driving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Wait for its next event (or delayed answer).
    Keep,
    /// It used its read budget with data maybe left: drive it again soon.
    Again,
    /// It has just started to linger: drop it at the linger deadline if
    /// the peer has not closed by then.
    Linger,
    /// Drop it now.
    Close,
}

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct Conn {
    state: ConnState,
    pub(crate) stream: TcpStream,
    slot: usize,
    /// Tells this connection from later ones in the same slot.
    pub(crate) generation: u64,
    /// Received bytes not parsed yet, in a buffer from [`READ_BUF`] up to
    /// [`MAX_HEAD_BYTES`] long.
    input: ReadBuf,
    /// Request body bytes still to skip.
    skip: u64,
    /// Response bytes not written yet.
    out: WriteBuf,
    /// Answers of this connection waiting in the delay queue.
    queued: usize,
    /// Requests read so far, for `Shared::max_requests`.
    served: u64,
    /// Listed in `Shared::dirty`, the connections that got delayed answers
    /// in this round and are driven once they all are in. It is not part of
    /// [`ConnState`]: it is set and cleared within one round of the server's
    /// loop, in any state but `Lingering` (which has no answers queued).
    dirty: bool,
}

impl Conn {
    pub(crate) fn new(stream: TcpStream, slot: usize, generation: u64) -> Self {
        Self::with_input(stream, slot, generation, &[])
    }

    /// A connection whose first bytes, `input`, were already read (to tell
    /// HTTP/1.1 from HTTP/2's preface).
    pub(crate) fn with_input(
        stream: TcpStream,
        slot: usize,
        generation: u64,
        input: &[u8],
    ) -> Self {
        Self {
            state: ConnState::Open,
            stream,
            slot,
            generation,
            input: ReadBuf::with_bytes(READ_BUF, input),
            skip: 0,
            out: WriteBuf::default(),
            queued: 0,
            served: 0,
            dirty: false,
        }
    }

    /// Answers buffered requests, writes, and reads more, until the socket
    /// would block or the read budget is spent.
    ///
    /// `now` is when the server woke, which bytes already buffered arrived
    /// before; bytes read here may have arrived since (the thread may have
    /// been preempted after writing an answer, and the client sent its
    /// next request meanwhile), so the clock is read again after a read,
    /// or their answers' delay would start early.
    pub(crate) fn drive(&mut self, sh: &mut Shared, mut now: Instant) -> Next {
        if self.state == ConnState::Lingering {
            return self.input.drain(&mut self.stream);
        }
        for _ in 0..READS_PER_DRIVE {
            self.process(sh, now);
            if self.out.flush(&mut self.stream).is_err() {
                return Next::Close;
            }
            if !self.wants_read() {
                return self.settle();
            }
            // `process` answers 431 before the unparsed bytes fill
            // MAX_HEAD_BYTES, so the read buffer is never full here.
            match self.input.fill(&mut self.stream, MAX_HEAD_BYTES) {
                Ok(0) => self.state = self.state.on(Input::PeerEof),
                Ok(_) => now = Instant::now(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return self.settle(),
                Err(_) => return Next::Close,
            }
        }
        self.process(sh, now);
        if self.out.flush(&mut self.stream).is_err() {
            return Next::Close;
        }
        Next::Again
    }

    /// Whether this connection is done, once nothing more can happen now.
    fn settle(&mut self) -> Next {
        let answered = self.queued == 0 && self.out.is_empty();
        if !answered {
            return Next::Keep;
        }
        match self.state {
            // `drive` drains a lingering connection instead of settling it.
            ConnState::Open | ConnState::Lingering => Next::Keep,
            ConnState::PeerClosed | ConnState::ClosingPeerClosed => Next::Close,
            ConnState::Closing => {
                // The write side may already be shut by a reset; drain anyway.
                let _ = self.stream.shutdown(Shutdown::Write);
                self.state = self.state.on(Input::Answered);
                Next::Linger
            }
        }
    }

    /// Too much is waiting to be written to take more requests.
    fn paused(&self) -> bool {
        self.out.room() == 0 || self.queued >= MAX_QUEUED
    }

    fn wants_read(&self) -> bool {
        self.state.reads() && !self.paused()
    }

    /// Parses and answers every complete request in the buffer.
    fn process(&mut self, sh: &mut Shared, now: Instant) {
        loop {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(self.input.unread().len());
                self.input.consume(n);
                self.skip -= n as u64;
                if self.skip > 0 {
                    break;
                }
            }
            if self.input.unread().is_empty() || self.paused() {
                break;
            }
            if !self.state.parses() {
                // Nothing after the last request is answered.
                self.input.clear();
                break;
            }
            match parse_head(self.input.unread()) {
                Parsed::Partial => {
                    if self.input.unread().len() >= MAX_HEAD_BYTES {
                        self.fail(sh, now, sh.responses.too_large());
                    }
                    break;
                }
                Parsed::TooLarge => self.fail(sh, now, sh.responses.too_large()),
                Parsed::Bad => self.fail(sh, now, sh.responses.bad_request()),
                Parsed::Request(head) => {
                    self.input.consume(head.len);
                    sh.stats.requests += 1;
                    if head.chunked {
                        self.fail(sh, now, sh.responses.not_implemented());
                        continue;
                    }
                    self.skip = head.body;
                    self.served += 1;
                    // The connection's last allowed request is answered
                    // with `Connection: close`, as nginx's keepalive_requests.
                    let keep_alive =
                        head.keep_alive && sh.max_requests.is_none_or(|max| self.served < max);
                    let variant = match (keep_alive, head.http10) {
                        (false, _) => Variant::Close,
                        (true, true) => Variant::KeepAlive,
                        (true, false) => Variant::Plain,
                    };
                    if !keep_alive {
                        self.state = self.state.on(Input::LastRequest);
                    }
                    // Only to HTTP/1.1 (RFC 9110 §10.1.1), and only when
                    // nothing earlier waits in the delay queue, or this
                    // interim response would overtake that answer.
                    if head.expect_continue && head.body > 0 && !head.http10 && self.queued == 0 {
                        self.out.extend(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                    let reply = sh.responses.status(sh.picker.next(), variant, head.head);
                    self.answer(sh, now, reply);
                }
            }
        }
    }

    /// Answers a bad request with `reply` and stops reading requests.
    fn fail(&mut self, sh: &mut Shared, now: Instant, reply: Reply) {
        self.state = self.state.on(Input::LastRequest);
        self.skip = 0;
        self.input.clear();
        self.answer(sh, now, reply);
    }

    /// Writes the answer now, or queues it until the delay has passed (and,
    /// with a capacity, until the one server has served it).
    fn answer(&mut self, sh: &mut Shared, now: Instant, reply: Reply) {
        match sh.answer_due(now) {
            None => {
                self.out.extend(sh.responses.bytes(reply));
                sh.stats.responses += 1;
            }
            Some(due) => {
                sh.delayed.push_back(Due {
                    due,
                    slot: self.slot,
                    generation: self.generation,
                    reply: Some(reply),
                    stream: 0,
                });
                self.queued += 1;
            }
        }
    }

    /// Takes a delayed answer that is due. Returns whether the connection
    /// must now be listed to be driven, which is once per round: the caller
    /// calls [`unlist`](Self::unlist) when it drives it.
    pub(crate) fn deliver(&mut self, bytes: &[u8]) -> bool {
        debug_assert!(self.queued > 0 && self.state != ConnState::Lingering);
        self.out.extend(bytes);
        self.queued = self.queued.saturating_sub(1);
        !std::mem::replace(&mut self.dirty, true)
    }

    /// Clears the mark that [`deliver`](Self::deliver) set.
    pub(crate) fn unlist(&mut self) {
        self.dirty = false;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::Shutdown;
    use std::time::Duration;

    use super::{ConnState, Input};
    use crate::testing::{GET, assert_closed, connect, read_response, serve};
    use crate::{MAX_HEAD_BYTES, MAX_HEADERS, ServeConfig, ServeStats};

    const STATES: [ConnState; 5] = [
        ConnState::Open,
        ConnState::PeerClosed,
        ConnState::Closing,
        ConnState::ClosingPeerClosed,
        ConnState::Lingering,
    ];

    #[test]
    fn states_and_their_transitions() {
        use ConnState::*;
        assert_eq!(Open.on(Input::PeerEof), PeerClosed);
        assert_eq!(Open.on(Input::LastRequest), Closing);
        assert_eq!(PeerClosed.on(Input::LastRequest), ClosingPeerClosed);
        assert_eq!(Closing.on(Input::Answered), Lingering);
        let reads: Vec<bool> = STATES.iter().map(|s| s.reads()).collect();
        assert_eq!(reads, [true, false, false, false, false]);
        let parses: Vec<bool> = STATES.iter().map(|s| s.parses()).collect();
        assert_eq!(parses, [true, true, false, false, false]);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "cannot take PeerEof in state Lingering")]
    fn an_impossible_transition_asserts() {
        let _ = ConnState::Lingering.on(Input::PeerEof);
    }

    #[test]
    fn closing_request_read_after_the_peer_closed_is_answered() {
        // The first answer fills the output buffer past its high-water mark,
        // so the second request waits unparsed while the end of stream may
        // be read: the closing request is then parsed after the peer closed.
        let server = serve(ServeConfig {
            body_size: 300 * 1024,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        let close = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
        s.write_all(&[GET, close, GET].concat()).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_response(&mut r, false).header("connection"), None);
        let last = read_response(&mut r, false);
        assert_eq!(
            (last.status, last.header("connection"), last.body.len()),
            (200, Some("close"), 300 * 1024)
        );
        assert_closed(&mut r);
        drop((s, r));
        let stats = server.stop().unwrap();
        assert_eq!((stats.requests, stats.responses), (2, 2));
    }

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
}
