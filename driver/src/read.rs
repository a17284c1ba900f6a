//! What one read pass over a socket yields, plain or TLS: events for the
//! engine, and how the pass ended. Its own module, so that `socket.rs` and
//! `tls.rs` both depend on it and not on each other.

use std::time::{Duration, Instant};

use crate::error::Failure;

/// What one read pass produced, for the event loop to hand to the engine.
pub(crate) enum ReadEvent<'b> {
    /// The TLS handshake finished (https only); `h2` if ALPN selected
    /// HTTP/2.
    Handshaken {
        started: Instant,
        resumed: bool,
        h2: bool,
    },
    /// Plaintext bytes, with the kernel's receive timestamp of the last
    /// segment they came in (wall clock, since the Unix epoch), if it gave
    /// one.
    Data {
        bytes: &'b [u8],
        arrived: Option<Duration>,
    },
}

/// How a read pass ended.
pub(crate) enum ReadOutcome {
    /// Read less than the buffer: drained for now (plain TCP).
    Short,
    /// There may be more to read.
    More,
    /// Nothing more now.
    WouldBlock,
    /// The peer closed.
    Eof,
    /// The connection failed.
    Failed(Failure),
}
