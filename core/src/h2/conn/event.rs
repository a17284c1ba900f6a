//! What a connection reports, and the identifiers it reports them by:
//! plain data, as the engine's own boundary types are.

use std::fmt;

use crate::h2::error::{ConnError, ErrorCode, StreamError};

/// A stream of the connection: an odd number, in the order opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u32);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What happened on the connection, in the order it happened.
///
/// Every stream [`H2Conn::open`](super::H2Conn::open) returns ends in
/// exactly one [`Event::Done`], [`Event::Reset`], [`Event::Malformed`] or
/// [`Event::Lost`], unless the caller cancels it
/// ([`H2Conn::cancel`](super::H2Conn::cancel)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A stream's final response head (interim 1xx heads are skipped).
    Response {
        /// The stream.
        stream: StreamId,
        /// Its status code.
        status: u16,
    },
    /// Response body bytes, for counting or searching; not kept.
    Body {
        /// The stream.
        stream: StreamId,
        /// The bytes, borrowed for the call.
        data: &'a [u8],
    },
    /// The response is complete (END_STREAM); the stream is closed.
    Done {
        /// The stream.
        stream: StreamId,
    },
    /// The server ended the stream: by RST_STREAM, or by a GOAWAY whose
    /// last stream is below it.
    Reset {
        /// The stream.
        stream: StreamId,
        /// The RST_STREAM's or the GOAWAY's error code.
        code: ErrorCode,
        /// The server did not process the request (RFC 9113 §8.7): reset
        /// with `REFUSED_STREAM` before any of the response, or above a
        /// GOAWAY's last stream. It may be sent again.
        unprocessed: bool,
    },
    /// The response broke RFC 9113 §8.1; volley reset the stream, and the
    /// connection goes on.
    Malformed {
        /// The stream.
        stream: StreamId,
        /// What was wrong.
        error: StreamError,
    },
    /// The server is closing the connection: no stream can be opened any
    /// more; streams up to `last_stream` go on. An [`Event::Reset`]
    /// (unprocessed) follows for each open stream above it.
    GoAway {
        /// The highest stream the server may have processed.
        last_stream: StreamId,
        /// Why.
        code: ErrorCode,
    },
    /// The server broke the protocol: volley wrote a GOAWAY and the
    /// connection is dead; close it once that is sent. An [`Event::Lost`]
    /// follows for each open stream.
    Failed(ConnError),
    /// The connection ended (it failed, or the server closed it) with the
    /// stream open. The server may or may not have processed the request;
    /// whether to send it again is the caller's question.
    Lost {
        /// The stream.
        stream: StreamId,
        /// Some of the response had arrived (a head, even interim, or
        /// DATA): the server certainly saw the request.
        answered: bool,
    },
}

/// Why [`H2Conn::open`](super::H2Conn::open) cannot open a stream now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The connection is dead (failed, or closed by the server).
    Closed,
    /// The server sent GOAWAY: open streams go on, new ones need another
    /// connection.
    GoingAway,
    /// The server's `SETTINGS_MAX_CONCURRENT_STREAMS` are open; one must
    /// end first.
    AtLimit,
    /// Every client stream identifier has been used (2^30 streams): the
    /// connection must be replaced.
    IdsExhausted,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "connection closed",
            Self::GoingAway => "server sent goaway",
            Self::AtLimit => "at the server's concurrent stream limit",
            Self::IdsExhausted => "stream identifiers exhausted",
        })
    }
}

impl std::error::Error for OpenError {}
