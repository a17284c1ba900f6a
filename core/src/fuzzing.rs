//! Internals for the fuzz targets in `fuzz/`, compiled only with
//! `--cfg fuzzing` (which `cargo fuzz` sets). Not part of the API.
//!
//! The connection state machine stays `pub(crate)`; this module wraps just
//! the part the targets drive, so nothing becomes public for other users.

use crate::conn;
use crate::error::ParseError;

/// What feeding bytes to a [`Conn`] achieved (a copy of the internal `Feed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// The response is not complete; all bytes were used.
    More,
    /// The final response is complete.
    Done {
        /// Its status code.
        status: u16,
        /// The connection may be reused.
        keep_alive: bool,
        /// Bytes of the input after the response.
        trailing: usize,
    },
}

/// One connection that has connected and written its request, so the next
/// bytes fed are its response.
#[derive(Debug)]
pub struct Conn(conn::Conn);

impl Conn {
    /// A connection awaiting the response head.
    #[allow(clippy::new_without_default)] // a Default would hide the state it starts in
    pub fn new() -> Self {
        let mut c = conn::Conn::new();
        c.start_connect();
        c.connected();
        c.send();
        Self(c)
    }

    /// Feeds bytes from the server, as the engine does on a read.
    pub fn feed(&mut self, data: &[u8], head_request: bool) -> Result<Feed, ParseError> {
        Ok(match self.0.feed(data, head_request)? {
            conn::Feed::More => Feed::More,
            conn::Feed::Done {
                status,
                keep_alive,
                trailing,
            } => Feed::Done {
                status,
                keep_alive,
                trailing,
            },
        })
    }
}
