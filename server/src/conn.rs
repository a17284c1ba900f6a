//! One accepted connection: its buffers, request loop and answers.

use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;

use crate::request::{MAX_HEAD_BYTES, Parsed, parse_head};
use crate::responses::{Reply, Variant};
use crate::server::{Due, Shared};

/// Initial read buffer; it grows up to [`MAX_HEAD_BYTES`] for large heads.
const READ_BUF: usize = 4096;
/// Stop parsing requests while this many response bytes wait to be written.
const OUT_HIGH: usize = 256 * 1024;
/// Stop parsing requests while this many delayed answers wait on one connection.
const MAX_QUEUED: usize = 4096;
/// Reads per connection per wakeup before other connections get their turn.
const READS_PER_DRIVE: u32 = 16;

/// What the server does with a connection after driving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
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
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    slot: usize,
    /// Tells this connection from later ones in the same slot.
    pub(crate) generation: u64,
    /// Received bytes; `buf[start..end]` is not parsed yet. Its length is
    /// the usable size, from [`READ_BUF`] up to [`MAX_HEAD_BYTES`].
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Request body bytes still to skip.
    skip: u64,
    /// Response bytes; `out[out_pos..]` is not written yet.
    pub(crate) out: Vec<u8>,
    out_pos: usize,
    /// Answers of this connection waiting in the delay queue.
    pub(crate) queued: usize,
    /// A request said close or was bad: parse no more, close after answering.
    closing: bool,
    /// The peer shut its write side: answer what was read, then close.
    peer_closed: bool,
    /// Shut down for writing and drained until its linger deadline.
    pub(crate) lingering: bool,
    /// Listed in `Shared::dirty`.
    pub(crate) dirty: bool,
}
impl Conn {
    pub(crate) fn new(stream: TcpStream, slot: usize, generation: u64) -> Self {
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
    pub(crate) fn drive(&mut self, sh: &mut Shared, now: Instant) -> Next {
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
                        self.fail(sh, now, sh.responses.too_large());
                    }
                    break;
                }
                Parsed::TooLarge => self.fail(sh, now, sh.responses.too_large()),
                Parsed::Bad => self.fail(sh, now, sh.responses.bad_request()),
                Parsed::Request(head) => {
                    self.start += head.len;
                    sh.stats.requests += 1;
                    if head.chunked {
                        self.fail(sh, now, sh.responses.not_implemented());
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

    /// Answers a bad request with `reply` and stops reading requests.
    fn fail(&mut self, sh: &mut Shared, now: Instant, reply: Reply) {
        self.closing = true;
        self.skip = 0;
        self.start = self.end;
        self.answer(sh, now, reply);
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::Shutdown;
    use std::time::Duration;

    use crate::testing::{GET, assert_closed, connect, read_response, serve};
    use crate::{MAX_HEAD_BYTES, MAX_HEADERS, ServeConfig, ServeStats};

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
