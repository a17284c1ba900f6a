//! One user's socket slot: the mio stream, its connect state and the unsent
//! tail of the request being written.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use volley_core::ErrorKind;

/// What confirming a connect found.
pub(crate) enum ConnectCheck {
    /// Still in progress; wait for the next event.
    Pending,
    /// Established.
    Connected,
    /// Failed.
    Failed(io::Error),
}

/// A slot for one user's connection; empty while the user is disconnected.
#[derive(Default)]
pub(crate) struct Socket {
    stream: Option<TcpStream>,
    connecting: bool,
    /// Offset into the request bytes of the first byte not yet written, or
    /// `None` when nothing is pending. The request bytes are the same for
    /// every request, so the tail needs no buffer of its own.
    pending: Option<usize>,
}

impl Socket {
    /// Starts a non-blocking connect and registers the stream once for
    /// both directions (edge-triggered; never re-registered).
    pub(crate) fn connect(&mut self, registry: &Registry, token: Token, addr: SocketAddr) -> io::Result<()> {
        self.close();
        let mut stream = TcpStream::connect(addr)?;
        registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        // Best effort: a failure only costs latency.
        let _ = stream.set_nodelay(true);
        self.stream = Some(stream);
        self.connecting = true;
        Ok(())
    }

    /// Drops the stream; closing the descriptor also removes it from epoll.
    pub(crate) fn close(&mut self) {
        self.stream = None;
        self.connecting = false;
        self.pending = None;
    }

    pub(crate) fn is_connecting(&self) -> bool {
        self.connecting
    }

    pub(crate) fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    /// Confirms a connect after an event, as mio's `TcpStream::connect`
    /// documents: `take_error`, then `peer_addr`.
    pub(crate) fn check_connect(&mut self) -> ConnectCheck {
        let Some(stream) = &self.stream else { return ConnectCheck::Pending };
        match stream.take_error() {
            Ok(Some(e)) | Err(e) => return ConnectCheck::Failed(e),
            Ok(None) => {}
        }
        match stream.peer_addr() {
            Ok(_) => {
                self.connecting = false;
                ConnectCheck::Connected
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => ConnectCheck::Pending,
            Err(e) => ConnectCheck::Failed(e),
        }
    }

    /// Writes `request` from the start.
    pub(crate) fn send(&mut self, request: &[u8]) -> io::Result<()> {
        self.pending = Some(0);
        self.flush(request)
    }

    /// Writes the pending tail of `request`, if any, until done or the
    /// socket would block.
    pub(crate) fn flush(&mut self, request: &[u8]) -> io::Result<()> {
        let (Some(stream), Some(mut off)) = (&mut self.stream, self.pending) else {
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
    }

    /// One read into `buf`.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.stream {
            Some(stream) => stream.read(buf),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// Classifies a connect failure.
pub(crate) fn connect_error_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
        _ => ErrorKind::ConnectError,
    }
}

/// Classifies a failure on an established connection.
pub(crate) fn io_error_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
            ErrorKind::Reset
        }
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Io,
    }
}
