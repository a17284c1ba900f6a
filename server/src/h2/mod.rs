//! HTTP/2 over cleartext by prior knowledge (h2c, RFC 9113 §3.3), with
//! `volley serve --http2`: a connection that opens with the client preface
//! is served here; [`crate::peer`] tells it from HTTP/1.1.
//!
//! [`Conn`] is the socket side, shaped as the HTTP/1.1 connection in
//! `conn.rs` is, with the same buffers (`wire.rs`): it reads into a
//! buffer, hands each whole frame to its [`Session`](session::Session)
//! (the protocol state, which parses nothing itself and never touches the
//! socket) and writes what the session appends to its output buffer. Frames are parsed in place with core's
//! codecs, so the only copies are the kernel's.
//!
//! Each stream gets the answer an HTTP/1.1 request would: the same status
//! mix, delay, capacity and body, once the request is complete (its
//! END_STREAM). Response bodies go out as DATA as the client's
//! flow-control windows allow; the server's own windows are large
//! (16 MiB) and returned as request bodies arrive. With
//! `ServeConfig::max_requests` the connection sends GOAWAY after that many
//! streams, as nginx's `keepalive_requests` does.

mod fault;
mod request;
mod session;
mod stream;
#[cfg(test)]
mod tests;

use std::io;
use std::net::Shutdown;
use std::time::Instant;

use mio::net::TcpStream;
use volley_core::h2::frame::{DEFAULT_MAX_FRAME_SIZE, HEADER_LEN};
use volley_core::h2::{Parsed, decode_frame};

use crate::conn::{Next, READS_PER_DRIVE};
use crate::responses::Reply;
use crate::shared::Shared;
use crate::wire::{ReadBuf, WriteBuf};
use fault::Fault;
use session::{Finish, Session};

/// The read buffer's first size: what a client's first flight (SETTINGS,
/// WINDOW_UPDATE, a hundred HEADERS) takes.
const READ_BUF: usize = 16 * 1024;
/// The most the read buffer grows to: a few of the largest frames a
/// client may send (the server advertises no `SETTINGS_MAX_FRAME_SIZE`, so
/// 16 KiB and the header), which a client sending request bodies fills.
const MAX_READ_BUF: usize = 4 * (HEADER_LEN + DEFAULT_MAX_FRAME_SIZE as usize);

/// One accepted HTTP/2 connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    session: Session,
    /// Received bytes not parsed yet, at most one partial frame once
    /// parsing stops, in a buffer from [`READ_BUF`] up to [`MAX_READ_BUF`]
    /// long.
    input: ReadBuf,
    /// Bytes for the client not written yet.
    out: WriteBuf,
    /// Listed in `Shared::dirty` this round, as an HTTP/1.1 connection is.
    dirty: bool,
}

impl Conn {
    /// A connection whose client preface has just been read; the server's
    /// SETTINGS are written on its first drive.
    pub(crate) fn new(stream: TcpStream, slot: usize, generation: u64) -> Self {
        let mut out = WriteBuf::default();
        let session = Session::new(slot, generation, out.vec_mut());
        Self {
            stream,
            session,
            input: ReadBuf::new(READ_BUF),
            out,
            dirty: false,
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.session.generation()
    }

    /// Handles buffered frames, writes, and reads more, until the socket
    /// would block (or has nothing to do) or the budget is spent. The
    /// clock is read again after a read, as HTTP/1.1's `drive` does.
    pub(crate) fn drive(&mut self, sh: &mut Shared, mut now: Instant) -> Next {
        if self.session.state() == session::State::Lingering {
            return self.input.drain(&mut self.stream);
        }
        for _ in 0..READS_PER_DRIVE {
            self.process(sh, now);
            if self.write(sh).is_err() {
                return Next::Close;
            }
            // All written with body left that the windows allow: no
            // writable edge will come for it, so send it now.
            if self.out.is_empty() && self.session.can_send() {
                continue;
            }
            if !self.wants_read() {
                return self.settle();
            }
            // A frame is at most a quarter of the largest buffer and
            // `process` takes every whole one, so it is never full here.
            match self.input.fill(&mut self.stream, MAX_READ_BUF) {
                Ok(0) => self.session.peer_eof(),
                Ok(_) => now = Instant::now(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return self.settle(),
                Err(_) => return Next::Close,
            }
        }
        self.process(sh, now);
        if self.write(sh).is_err() {
            return Next::Close;
        }
        Next::Again
    }

    /// A delayed answer is due on `stream`. Returns whether the connection
    /// must now be listed to be driven (once per round, as HTTP/1.1's
    /// `deliver`).
    pub(crate) fn deliver(&mut self, sh: &mut Shared, stream: u32, reply: Reply) -> bool {
        let live = self.session.deliver(
            stream,
            reply,
            &sh.responses,
            &mut sh.stats,
            self.out.vec_mut(),
        );
        live && !std::mem::replace(&mut self.dirty, true)
    }

    /// Clears the mark that [`deliver`](Self::deliver) set.
    pub(crate) fn unlist(&mut self) {
        self.dirty = false;
    }

    fn wants_read(&self) -> bool {
        // A client that sends faster than it reads (PINGs, or streams it
        // never reads) waits until the backlog is written.
        self.session.state().reads() && self.out.room() > 0
    }

    /// Whether this connection is done, once nothing more can happen now.
    fn settle(&mut self) -> Next {
        match self.session.finish(self.out.is_empty()) {
            Finish::Keep => Next::Keep,
            Finish::Close => Next::Close,
            Finish::Linger => {
                // The write side may already be shut by a reset; drain anyway.
                let _ = self.stream.shutdown(Shutdown::Write);
                Next::Linger
            }
        }
    }

    /// Handles every whole frame in the buffer.
    fn process(&mut self, sh: &mut Shared, now: Instant) {
        while self.session.state().parses() && !self.input.unread().is_empty() {
            // The server advertises the default frame size, so a client's
            // frame is checked against it from the first one.
            match decode_frame(self.input.unread(), DEFAULT_MAX_FRAME_SIZE) {
                Ok(Parsed::Complete(frame, len)) => {
                    self.session.handle(frame, sh, now, self.out.vec_mut());
                    self.input.consume(len);
                }
                Ok(Parsed::Partial) => break,
                Err(e) => self.session.fail(Fault::Frame(e), self.out.vec_mut()),
            }
        }
        if !self.session.state().parses() {
            self.input.clear();
        }
    }

    /// Writes response bodies as far as the windows allow, and the output
    /// buffer until it is empty or the socket would block.
    fn write(&mut self, sh: &Shared) -> io::Result<()> {
        let room = self.out.room();
        self.session.pump(&sh.responses, self.out.vec_mut(), room);
        self.out.flush(&mut self.stream)
    }
}
