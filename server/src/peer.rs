//! What a slot of the server's slab holds: an HTTP/1.1 connection, an
//! HTTP/2 one, or, with HTTP/2 enabled, a connection whose first bytes
//! have yet to say which.
//!
//! An h2c client by prior knowledge opens with the 24-byte preface (RFC
//! 9113 §3.4), which no HTTP/1.1 request starts with (`PRI` is no method
//! a client sends, and `HTTP/2.0` no HTTP/1.x version), so the first byte
//! that differs from it makes the connection HTTP/1.1, with the bytes read
//! so far, and the whole preface makes it HTTP/2. nginx tells them apart
//! the same way on a cleartext port with `http2 on`.

use std::io::{self, Read};
use std::time::Instant;

use mio::net::TcpStream;
use volley_core::h2::frame::PREFACE;

use crate::conn::{Conn, Next};
use crate::h2;
use crate::responses::Reply;
use crate::shared::Shared;

/// One accepted connection, by protocol.
#[derive(Debug)]
pub(crate) enum Peer {
    /// Its protocol is not known yet.
    Sniffing(Sniff),
    Http1(Conn),
    /// Boxed: its session is over twice an HTTP/1.1 connection's size,
    /// and every slot of the slab would have to be that large.
    Http2(Box<h2::Conn>),
}

impl Peer {
    pub(crate) fn generation(&self) -> u64 {
        match self {
            Self::Sniffing(s) => s.generation,
            Self::Http1(c) => c.generation,
            Self::Http2(c) => c.generation(),
        }
    }

    pub(crate) fn stream_mut(&mut self) -> &mut TcpStream {
        match self {
            Self::Sniffing(s) => &mut s.stream,
            Self::Http1(c) => &mut c.stream,
            Self::Http2(c) => &mut c.stream,
        }
    }

    /// Drives the connection; [`Step::Decided`] when a sniffing one has
    /// learnt its protocol and must be replaced by [`Sniff::into_peer`].
    pub(crate) fn drive(&mut self, sh: &mut Shared, now: Instant) -> Step {
        Step::Next(match self {
            Self::Sniffing(s) => match s.sniff() {
                Ok(true) => return Step::Decided,
                Ok(false) => Next::Keep,
                Err(_) => Next::Close,
            },
            Self::Http1(c) => c.drive(sh, now),
            Self::Http2(c) => c.drive(sh, now),
        })
    }

    /// A delayed answer is due: hands it over. Returns whether the
    /// connection must now be listed to be driven.
    pub(crate) fn deliver(&mut self, sh: &mut Shared, stream: u32, reply: Reply) -> bool {
        match self {
            Self::Http1(c) => {
                sh.stats.responses += 1;
                c.deliver(sh.responses.bytes(reply))
            }
            Self::Http2(c) => c.deliver(sh, stream, reply),
            // Nothing is queued before a request is read.
            Self::Sniffing(_) => false,
        }
    }

    /// Clears the mark of [`deliver`](Self::deliver).
    pub(crate) fn unlist(&mut self) {
        match self {
            Self::Http1(c) => c.unlist(),
            Self::Http2(c) => c.unlist(),
            Self::Sniffing(_) => {}
        }
    }
}

/// What [`Peer::drive`] leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Next(Next),
    /// A sniffing connection knows its protocol.
    Decided,
}

/// A connection whose first bytes are being compared with the preface.
#[derive(Debug)]
pub(crate) struct Sniff {
    pub(crate) stream: TcpStream,
    generation: u64,
    got: [u8; PREFACE.len()],
    len: usize,
}

impl Sniff {
    pub(crate) fn new(stream: TcpStream, generation: u64) -> Self {
        Self {
            stream,
            generation,
            got: [0; PREFACE.len()],
            len: 0,
        }
    }

    /// Reads no further than the preface: true once the bytes decide,
    /// false while they match it so far and the socket would block. An
    /// error, or the end of stream before a decision, closes it.
    fn sniff(&mut self) -> io::Result<bool> {
        while self.len < PREFACE.len() {
            match self.stream.read(&mut self.got[self.len..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.len += n;
                    if self.got[..self.len] != PREFACE[..self.len] {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The connection its first bytes decided on, in `slot`.
    pub(crate) fn into_peer(self, slot: usize) -> Peer {
        if self.got[..self.len] == PREFACE[..] {
            Peer::Http2(Box::new(h2::Conn::new(self.stream, slot, self.generation)))
        } else {
            let input = &self.got[..self.len];
            Peer::Http1(Conn::with_input(self.stream, slot, self.generation, input))
        }
    }
}
