//! One user's connection: its state and every transition between states.
//!
//! All protocol state of a connection lives here (h11's rule 1). The engine
//! decides *when* things happen; this file decides what bytes mean.

use crate::body::{BodyDecoder, Framing};
use crate::error::ParseError;
use crate::response::{MAX_HEAD_BYTES, parse_head};

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// No socket. A request handed to this user connects first.
    Disconnected,
    /// Waiting after failed connects before trying again.
    Backoff,
    /// TCP connect in progress.
    Connecting,
    /// Connected, nothing in flight.
    Idle,
    /// Request written; waiting for the (final) response head.
    AwaitingHead,
    /// Head received; counting the body.
    ReadingBody(BodyDecoder),
}

/// What feeding bytes achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feed {
    /// The response is not complete; all bytes were used.
    More,
    /// The final response is complete.
    Done {
        /// Its status code.
        status: u16,
        /// The connection may be reused.
        keep_alive: bool,
        /// Bytes of the input after the response (a protocol violation for
        /// a client that never pipelines).
        trailing: usize,
    },
}

/// A connection's protocol state.
#[derive(Debug)]
pub(crate) struct Conn {
    state: ConnState,
    /// Bytes of a response head that arrived in pieces; empty on the fast
    /// path where a head arrives in one read.
    head_buf: Vec<u8>,
    /// Length of `head_buf` when it was last parsed.
    parsed_len: usize,
    status: u16,
    keep_alive: bool,
    /// A complete response came back on this connection before: the
    /// server has had it idle, and may have closed it so as a request
    /// crossed.
    reused: bool,
    /// A byte has come back since the request in flight was written.
    answered: bool,
}

impl Conn {
    pub(crate) fn new() -> Self {
        Self {
            state: ConnState::Disconnected,
            head_buf: Vec::new(),
            parsed_len: 0,
            status: 0,
            keep_alive: false,
            reused: false,
            answered: false,
        }
    }

    pub(crate) fn state(&self) -> ConnState {
        self.state
    }

    /// Disconnected → Connecting.
    pub(crate) fn start_connect(&mut self) {
        debug_assert_eq!(
            self.state,
            ConnState::Disconnected,
            "connect from {:?}",
            self.state
        );
        self.state = ConnState::Connecting;
        self.reused = false;
    }

    /// Connecting → Idle. Returns false (and changes nothing) in any other
    /// state: a late confirmation for a socket already given up on.
    pub(crate) fn connected(&mut self) -> bool {
        let ok = self.state == ConnState::Connecting;
        if ok {
            self.state = ConnState::Idle;
        }
        ok
    }

    /// Idle → AwaitingHead: the request is being written.
    pub(crate) fn send(&mut self) {
        debug_assert_eq!(self.state, ConnState::Idle, "send from {:?}", self.state);
        self.state = ConnState::AwaitingHead;
        self.answered = false;
    }

    /// The request in flight was written on a connection that had carried
    /// a complete response, and nothing has come back for it: the state in
    /// which a close or reset is SPEC §2's keep-alive race. The server
    /// closed the connection while it was idle, as the request crossed, so
    /// it never processed the request. On a first use there was no idle
    /// time to race with; once any byte came back (even an interim 1xx),
    /// the server has seen the request.
    pub(crate) fn unanswered_on_reuse(&self) -> bool {
        self.state == ConnState::AwaitingHead && self.reused && !self.answered
    }

    /// Any state → Disconnected (the socket is gone or must go).
    pub(crate) fn close(&mut self) {
        self.state = ConnState::Disconnected;
        self.reused = false;
        self.answered = false;
        self.head_buf.clear();
        self.parsed_len = 0;
        if self.head_buf.capacity() > 4096 {
            self.head_buf = Vec::new();
        }
    }

    /// Disconnected → Backoff.
    pub(crate) fn back_off(&mut self) {
        self.close();
        self.state = ConnState::Backoff;
    }

    /// Backoff → Disconnected.
    pub(crate) fn backoff_over(&mut self) {
        debug_assert_eq!(self.state, ConnState::Backoff);
        self.state = ConnState::Disconnected;
    }

    /// [`Conn::feed_with`], not looking at the body.
    #[cfg(any(test, fuzzing))] // fuzzing.rs drives it too
    pub(crate) fn feed(&mut self, data: &[u8], head_request: bool) -> Result<Feed, ParseError> {
        self.feed_with(data, head_request, &mut |_| {})
    }

    /// Bytes from the server. On `Done` the connection is Idle again if it
    /// may be reused, Disconnected (caller closes the socket) if not. On
    /// error the connection must be closed. The body's content is handed to
    /// `content` as it passes (see [`BodyDecoder::feed_with`]); it is not
    /// kept.
    pub(crate) fn feed_with(
        &mut self,
        data: &[u8],
        head_request: bool,
        content: &mut impl FnMut(&[u8]),
    ) -> Result<Feed, ParseError> {
        if self.state == ConnState::AwaitingHead && !data.is_empty() {
            self.answered = true;
        }
        let mut rest = data;
        loop {
            match self.state {
                ConnState::AwaitingHead => {
                    let Some((head, used)) = self.take_head(rest, head_request)? else {
                        return Ok(Feed::More);
                    };
                    rest = &rest[used..];
                    if (100..200).contains(&head.status) {
                        // Interim response (100 Continue, 103 Early Hints): skip it.
                        continue;
                    }
                    self.status = head.status;
                    self.keep_alive = head.keep_alive;
                    self.state = ConnState::ReadingBody(BodyDecoder::new(head.framing));
                    if head.framing == Framing::Empty || head.framing == Framing::Length(0) {
                        return Ok(self.done(rest.len()));
                    }
                }
                ConnState::ReadingBody(mut body) => {
                    let r = body.feed_with(rest, content)?;
                    self.state = ConnState::ReadingBody(body);
                    if !r.done {
                        return Ok(Feed::More);
                    }
                    return Ok(self.done(rest.len() - r.consumed));
                }
                ConnState::Idle => {
                    return if rest.is_empty() {
                        Ok(Feed::More)
                    } else {
                        Err(ParseError::Unsolicited)
                    };
                }
                // Bytes for a socket we no longer track: ignore.
                ConnState::Disconnected | ConnState::Backoff | ConnState::Connecting => {
                    return Ok(Feed::More);
                }
            }
        }
    }

    /// The server closed its side. Returns the finished response if the
    /// close ended a read-until-close body, `Err` if it cut a response short,
    /// `Ok(None)` if nothing was in flight. The connection is Disconnected.
    pub(crate) fn eof(&mut self) -> Result<Option<Feed>, ()> {
        let result = match self.state {
            ConnState::ReadingBody(mut body) => {
                if body.finish_on_eof() {
                    Ok(Some(Feed::Done {
                        status: self.status,
                        keep_alive: false,
                        trailing: 0,
                    }))
                } else {
                    Err(())
                }
            }
            ConnState::AwaitingHead => Err(()),
            _ => Ok(None),
        };
        self.close();
        result
    }

    fn done(&mut self, trailing: usize) -> Feed {
        self.state = if self.keep_alive {
            self.reused = true;
            ConnState::Idle
        } else {
            ConnState::Disconnected
        };
        Feed::Done {
            status: self.status,
            keep_alive: self.keep_alive,
            trailing,
        }
    }

    /// Tries to complete a head from the buffered bytes plus `data`.
    /// Returns the head and how many bytes of `data` it used.
    fn take_head(
        &mut self,
        data: &[u8],
        head_request: bool,
    ) -> Result<Option<(crate::response::Head, usize)>, ParseError> {
        if self.head_buf.is_empty() {
            // Fast path: the whole head is in this read.
            return match parse_head(data, head_request)? {
                Some(head) => Ok(Some((head, head.len))),
                None => {
                    self.head_buf.extend_from_slice(data);
                    self.parsed_len = data.len();
                    Ok(None)
                }
            };
        }
        let before = self.head_buf.len();
        let take = data
            .len()
            .min(MAX_HEAD_BYTES + 1 - before.min(MAX_HEAD_BYTES));
        self.head_buf.extend_from_slice(&data[..take]);
        // Re-parsing the whole buffer on every read would make a head that
        // trickles in byte by byte cost O(n²). Parse again only when a line
        // has ended in the new bytes (so a bad line is caught as soon as it
        // is complete, however the reads split, and httparse's 100-header
        // limit bounds the parses), when the buffer has doubled since the
        // last parse, or at the size limit.
        let may_end = self.head_buf[before..].contains(&b'\n');
        let len = self.head_buf.len();
        if !may_end && len < 2 * self.parsed_len && len <= MAX_HEAD_BYTES {
            return Ok(None);
        }
        self.parsed_len = len;
        match parse_head(&self.head_buf, head_request)? {
            Some(head) => {
                self.head_buf.clear();
                self.parsed_len = 0;
                Ok(Some((head, head.len - before)))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a response into a fresh connection three ways (whole, one
    /// byte at a time, with trailing bytes) and returns the outcome of the
    /// whole feed; the other two must agree.
    fn three_ways(input: &[u8], head_request: bool) -> Result<Feed, ParseError> {
        let run = |chunks: &mut dyn Iterator<Item = &[u8]>| {
            let mut c = Conn::new();
            c.start_connect();
            c.connected();
            c.send();
            let mut last = Ok(Feed::More);
            for chunk in chunks {
                last = c.feed(chunk, head_request);
                if !matches!(last, Ok(Feed::More)) {
                    break;
                }
            }
            last
        };
        let whole = run(&mut std::iter::once(input));
        let bytewise = run(&mut input.chunks(1));
        let norm = |r: Result<Feed, ParseError>| match r {
            Ok(Feed::Done {
                status, keep_alive, ..
            }) => Ok(Some((status, keep_alive))),
            Ok(Feed::More) => Ok(None),
            Err(e) => Err(std::mem::discriminant(&e)),
        };
        assert_eq!(
            norm(whole),
            norm(bytewise),
            "byte-at-a-time: {:?}",
            String::from_utf8_lossy(input)
        );
        let mut extra = input.to_vec();
        extra.extend_from_slice(b"XYZ");
        let trailing = run(&mut std::iter::once(&extra[..]));
        if let Ok(Feed::Done {
            status,
            keep_alive,
            trailing: t,
        }) = whole
        {
            assert_eq!(
                trailing,
                Ok(Feed::Done {
                    status,
                    keep_alive,
                    trailing: t + 3
                })
            );
        }
        whole
    }

    /// A connection that is connected and has its request written.
    fn sent() -> Conn {
        let mut c = Conn::new();
        c.start_connect();
        c.connected();
        c.send();
        c
    }

    fn done(status: u16, keep_alive: bool) -> Result<Feed, ParseError> {
        Ok(Feed::Done {
            status,
            keep_alive,
            trailing: 0,
        })
    }

    #[test]
    fn framing_table() {
        let table: &[(&str, bool, Result<Feed, ParseError>)] = &[
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                false,
                done(200, true),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                false,
                done(200, true),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                true,
                done(200, true),
            ),
            ("HTTP/1.1 204 No Content\r\n\r\n", false, done(204, true)),
            (
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
                false,
                done(304, true),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
                false,
                done(200, true),
            ),
            (
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
                false,
                done(201, true),
            ),
            (
                "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                false,
                done(200, true),
            ),
            (
                "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
                false,
                done(503, false),
            ),
            (
                "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
                false,
                done(200, false),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
                false,
                Ok(Feed::More),
            ),
            ("HTTP/1.1 200 OK\r\n\r\nuntil close", false, Ok(Feed::More)),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                false,
                Err(ParseError::InvalidContentLength),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n",
                false,
                Err(ParseError::InvalidChunkSize),
            ),
            (
                "NOT HTTP AT ALL\r\n\r\n",
                false,
                Err(ParseError::Head(httparse::Error::Version)),
            ),
        ];
        for (raw, head_request, want) in table {
            let got = three_ways(raw.as_bytes(), *head_request);
            match (&got, want) {
                (Err(a), Err(b)) => assert_eq!(
                    std::mem::discriminant(a),
                    std::mem::discriminant(b),
                    "{raw}"
                ),
                _ => assert_eq!(&got, want, "{raw}"),
            }
        }
    }

    #[test]
    fn keep_alive_reuse() {
        let mut c = Conn::new();
        c.start_connect();
        assert!(c.connected());
        for _ in 0..3 {
            c.send();
            let r = c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false);
            assert_eq!(r, done(200, true));
            assert_eq!(c.state(), ConnState::Idle);
        }
    }

    #[test]
    fn close_delimited_body_ends_at_eof() {
        let mut c = sent();
        assert_eq!(
            c.feed(b"HTTP/1.1 200 OK\r\n\r\nsome", false),
            Ok(Feed::More)
        );
        assert_eq!(c.feed(b" more", false), Ok(Feed::More));
        assert_eq!(
            c.eof(),
            Ok(Some(Feed::Done {
                status: 200,
                keep_alive: false,
                trailing: 0
            }))
        );
        assert_eq!(c.state(), ConnState::Disconnected);
    }

    #[test]
    fn eof_mid_body_or_head_is_an_error() {
        for partial in [
            &b""[..],
            b"HTTP/1.1 200",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
        ] {
            let mut c = Conn::new();
            c.start_connect();
            c.connected();
            c.send();
            let _ = c.feed(partial, false);
            assert_eq!(c.eof(), Err(()), "{:?}", String::from_utf8_lossy(partial));
        }
        let mut idle = Conn::new();
        idle.start_connect();
        idle.connected();
        assert_eq!(idle.eof(), Ok(None));
    }

    #[test]
    fn only_a_reused_connection_with_no_answer_yet_can_lose_the_race() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let mut c = sent();
        assert!(!c.unanswered_on_reuse(), "first use");
        assert_eq!(c.feed(ok, false), done(200, true));
        assert!(!c.unanswered_on_reuse(), "idle");
        c.send();
        assert!(c.unanswered_on_reuse(), "reused, nothing back yet");
        // An empty read is no answer; any byte is, interim or not.
        assert_eq!(c.feed(b"", false), Ok(Feed::More));
        assert!(c.unanswered_on_reuse());
        for answer in [&b"H"[..], b"HTTP/1.1 100 Continue\r\n\r\n"] {
            let mut c = sent();
            assert_eq!(c.feed(ok, false), done(200, true));
            c.send();
            assert_eq!(c.feed(answer, false), Ok(Feed::More));
            assert!(!c.unanswered_on_reuse(), "{answer:?}");
        }
        // A new connection starts afresh.
        c.close();
        c.start_connect();
        c.connected();
        c.send();
        assert!(!c.unanswered_on_reuse(), "reconnected");
        // A response that ends the connection leaves nothing to reuse.
        let mut c = sent();
        let closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(c.feed(closing, false), done(200, false));
        assert_eq!(c.state(), ConnState::Disconnected);
        assert!(!c.unanswered_on_reuse());
    }

    #[test]
    fn bytes_while_idle_are_unsolicited() {
        let mut c = Conn::new();
        c.start_connect();
        c.connected();
        assert_eq!(
            c.feed(b"HTTP/1.1 200 OK\r\n", false),
            Err(ParseError::Unsolicited)
        );
    }

    #[test]
    fn a_large_head_trickling_in_byte_by_byte_completes() {
        // Parsing the whole buffer again on every byte would take minutes
        // here (60 KiB², unoptimised); parsing on blank lines and doubling
        // takes milliseconds.
        let mut raw = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 60 * 1024));
        raw.extend_from_slice(b"\r\n\r\n");
        let mut c = sent();
        let (body, last) = raw.split_at(raw.len() - 1);
        for b in body {
            assert_eq!(c.feed(std::slice::from_ref(b), false), Ok(Feed::More));
        }
        assert_eq!(c.feed(last, false), done(200, true));
    }

    #[test]
    fn an_oversized_bad_head_fails_alike_whole_or_split() {
        // Found by fuzz/conn_split: the error used to depend on the reads.
        let mut raw = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES));
        raw.extend_from_slice(b"\x01\r\n\r\n");
        assert_eq!(three_ways(&raw, false), Err(ParseError::HeadTooLarge));
    }

    #[test]
    fn a_bad_line_is_caught_when_it_ends_however_reads_split() {
        // Whole or byte by byte, the error comes with the line's LF, not
        // later: a server that then stalls is still counted as malformed.
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nno colon here\r\n";
        let mut c = sent();
        let (body, last) = raw.split_at(raw.len() - 1);
        for b in body {
            assert_eq!(c.feed(std::slice::from_ref(b), false), Ok(Feed::More));
        }
        assert!(matches!(c.feed(last, false), Err(ParseError::Head(_))));
    }

    #[test]
    fn head_split_across_reads_is_capped() {
        let mut c = sent();
        assert_eq!(c.feed(b"HTTP/1.1 200 OK\r\nX-Big: ", false), Ok(Feed::More));
        let chunk = vec![b'a'; 8192];
        let mut result = Ok(Feed::More);
        for _ in 0..10 {
            result = c.feed(&chunk, false);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ParseError::HeadTooLarge));
        assert!(c.head_buf.len() <= MAX_HEAD_BYTES + 1);
    }
}
