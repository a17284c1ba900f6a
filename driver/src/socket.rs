//! One connection's socket slot: the mio stream, its connect
//! confirmation, and the unsent tail of what is being written. For an
//! https target the slot also holds the TLS session, which does its own
//! reading and writing of the stream (`tls.rs`).

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::{Interest, Registry, Token};

use crate::endpoint::Attempt;
use crate::error::Failure;
use crate::read::{ReadEvent, ReadOutcome};
use crate::stamp::{StampedReader, enable_rx_timestamps};
use crate::stream::Stream;
use crate::tls::{Tls, TlsSession};

/// What confirming a connect found.
pub(crate) enum ConnectCheck {
    /// Still in progress; wait for the next event.
    Pending,
    /// The connection is ready for requests (plain TCP).
    Connected,
    /// TCP is established and the TLS handshake has started; the read that
    /// completes it reports [`ReadEvent::Handshaken`].
    Handshaking,
    /// Failed.
    Failed(Failure),
}

/// A slot for one user's connection; empty while the user is disconnected.
#[derive(Default)]
pub(crate) struct Socket {
    stream: Option<Stream>,
    /// Where the connect went; meaningful while `connecting`.
    attempt: Attempt,
    connecting: bool,
    /// The TLS session of an https target (boxed: it is large, and the
    /// slots of a plain-http run should not pay for it).
    tls: Option<Box<TlsSession>>,
    /// Offset into the request bytes of the first byte not yet written, or
    /// `None` when nothing is pending. The request bytes are the same for
    /// every request, so the tail needs no buffer of its own. (With TLS,
    /// rustls holds the unsent records instead.)
    pending: Option<usize>,
    /// HTTP/2: the connection's bytes not yet written, from
    /// [`volley_core::Engine::take_bytes`]. Unlike an HTTP/1.1 request
    /// they differ from one write to the next, so the slot keeps them;
    /// `tail_at` is the first unwritten one.
    tail: Vec<u8>,
    tail_at: usize,
}

impl Socket {
    /// Takes a stream whose non-blocking connect has started and
    /// registers it once for both directions (edge-triggered; never
    /// re-registered).
    pub(crate) fn connect(
        &mut self,
        registry: &Registry,
        token: Token,
        (mut stream, attempt): (Stream, Attempt),
        tls: Option<&Tls>,
    ) -> io::Result<()> {
        self.close();
        if let Some(tls) = tls {
            let session = TlsSession::new(tls).map_err(io::Error::other)?;
            self.tls = Some(Box::new(session));
        }
        registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        // Best effort: without receive timestamps a response counts as
        // arrived when it is read.
        let _ = enable_rx_timestamps(stream.as_raw_fd());
        self.stream = Some(stream);
        self.attempt = attempt;
        self.connecting = true;
        Ok(())
    }

    /// Where the connect in progress (or the last one) went.
    pub(crate) fn attempt(&self) -> Attempt {
        self.attempt
    }

    /// Drops the stream; closing the descriptor also removes it from epoll.
    pub(crate) fn close(&mut self) {
        self.stream = None;
        self.connecting = false;
        self.tls = None;
        self.pending = None;
        self.tail.clear();
        self.tail_at = 0;
    }

    pub(crate) fn is_connecting(&self) -> bool {
        self.connecting
    }

    pub(crate) fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    /// Confirms a connect after an event, as mio's `TcpStream::connect`
    /// documents: `take_error`, then `peer_addr`. For https, a confirmed
    /// connect starts the TLS handshake.
    pub(crate) fn check_connect(&mut self, now: Instant) -> ConnectCheck {
        let Some(stream) = &mut self.stream else {
            return ConnectCheck::Pending;
        };
        match stream.take_error() {
            Ok(Some(e)) | Err(e) => return ConnectCheck::Failed(Failure::Connect(e)),
            Ok(None) => {}
        }
        match stream.peer_connected() {
            Ok(()) => {
                self.connecting = false;
                let Some(tls) = &mut self.tls else {
                    return ConnectCheck::Connected;
                };
                match tls.start(now, stream) {
                    Ok(()) => ConnectCheck::Handshaking,
                    Err(e) => ConnectCheck::Failed(Failure::Connect(e)),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => ConnectCheck::Pending,
            Err(e) => ConnectCheck::Failed(Failure::Connect(e)),
        }
    }

    /// Writes `request` from the start.
    pub(crate) fn send(&mut self, request: &[u8]) -> io::Result<()> {
        let Some(tls) = &mut self.tls else {
            self.pending = Some(0);
            return self.flush(request);
        };
        match &mut self.stream {
            Some(stream) => tls.send(request, stream),
            None => Ok(()),
        }
    }

    /// HTTP/2: the buffer the engine's bytes go into before
    /// [`Socket::send_tail`] (see [`volley_core::Engine::take_bytes`]).
    pub(crate) fn tail_mut(&mut self) -> &mut Vec<u8> {
        &mut self.tail
    }

    /// HTTP/2: writes the connection's bytes that the engine handed over;
    /// what the socket does not take stays for [`Socket::flush`]. With
    /// TLS, rustls takes them all and keeps the records instead.
    pub(crate) fn send_tail(&mut self) -> io::Result<()> {
        let Some(stream) = &mut self.stream else {
            self.tail.clear();
            self.tail_at = 0;
            return Ok(());
        };
        if let Some(tls) = &mut self.tls {
            let sent = tls.send(&self.tail[self.tail_at..], stream);
            self.tail.clear();
            self.tail_at = 0;
            return sent;
        }
        self.flush_tail()
    }

    fn flush_tail(&mut self) -> io::Result<()> {
        let Some(stream) = &mut self.stream else {
            return Ok(());
        };
        while self.tail_at < self.tail.len() {
            match stream.write(&self.tail[self.tail_at..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.tail_at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // All written: empty, keeping the capacity, which the engine gets
        // back on the next swap.
        self.tail.clear();
        self.tail_at = 0;
        Ok(())
    }

    /// Writes whatever is pending (the request's tail, HTTP/2's bytes, or
    /// TLS records) until done or the socket would block.
    pub(crate) fn flush(&mut self, request: &[u8]) -> io::Result<()> {
        let Some(stream) = &mut self.stream else {
            return Ok(());
        };
        if let Some(tls) = &mut self.tls {
            return tls.flush(stream);
        }
        if !self.tail.is_empty() {
            return self.flush_tail();
        }
        let Some(mut off) = self.pending else {
            return Ok(());
        };
        while off < request.len() {
            match stream.write(&request[off..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pending = (off < request.len()).then_some(off);
        Ok(())
    }

    pub(crate) fn has_pending(&self) -> bool {
        self.pending.is_some()
            || self.tail_at < self.tail.len()
            || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// One read pass: for plain TCP one `read` into `buf`; for TLS, the
    /// session's pass (see [`TlsSession::read`]). What arrived goes to `on`;
    /// how the pass ended is the result.
    pub(crate) fn read(
        &mut self,
        buf: &mut [u8],
        on: &mut dyn FnMut(ReadEvent<'_>),
    ) -> ReadOutcome {
        let Some(stream) = &mut self.stream else {
            return ReadOutcome::WouldBlock;
        };
        if let Some(tls) = &mut self.tls {
            return tls.read(stream, buf, on);
        }
        let mut wire = StampedReader::new(stream.as_raw_fd());
        match wire.read(buf) {
            Ok(0) => ReadOutcome::Eof,
            Ok(n) => {
                on(ReadEvent::Data {
                    bytes: &buf[..n],
                    arrived: wire.arrived(),
                });
                if n < buf.len() {
                    ReadOutcome::Short
                } else {
                    ReadOutcome::More
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadOutcome::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::More,
            Err(e) => ReadOutcome::Failed(Failure::Io(e)),
        }
    }
}
