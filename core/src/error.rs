//! Error types: small `Copy` enums with short lowercase messages.

use std::fmt;

/// Why a response could not be parsed. Every variant is the server's fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// httparse rejected the status line or a header.
    Head(httparse::Error),
    /// The response head is larger than [`crate::MAX_HEAD_BYTES`].
    HeadTooLarge,
    /// More than [`crate::MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// A Content-Length that is not a number, or several that disagree.
    InvalidContentLength,
    /// A chunk-size line that is not hexadecimal or overflows 64 bits.
    InvalidChunkSize,
    /// A chunk extension longer than the limit.
    ChunkExtensionTooLong,
    /// Chunk data not followed by CRLF.
    InvalidChunkEnd,
    /// Trailer section longer than the limit.
    TrailersTooLarge,
    /// `101 Switching Protocols`, which volley never asked for.
    UnexpectedUpgrade,
    /// Bytes arrived while no request was in flight.
    Unsolicited,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Head(httparse::Error::TooManyHeaders) | Self::TooManyHeaders => {
                write!(f, "more than {} header fields", crate::MAX_HEADERS)
            }
            Self::Head(e) => write!(f, "invalid response head: {e}"),
            Self::HeadTooLarge => {
                write!(
                    f,
                    "response head larger than {} bytes",
                    crate::MAX_HEAD_BYTES
                )
            }
            Self::InvalidContentLength => f.write_str("invalid content-length"),
            Self::InvalidChunkSize => f.write_str("invalid chunk size"),
            Self::ChunkExtensionTooLong => f.write_str("chunk extension too long"),
            Self::InvalidChunkEnd => f.write_str("chunk data not followed by CRLF"),
            Self::TrailersTooLarge => f.write_str("chunked trailers too large"),
            Self::UnexpectedUpgrade => f.write_str("unexpected 101 switching protocols"),
            Self::Unsolicited => f.write_str("data received while no request was in flight"),
        }
    }
}

impl std::error::Error for ParseError {}

/// The kind of a failed request, as counted in the report.
///
/// The order here is the order of the report's "errors" section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server refused the TCP connection.
    ConnectRefused,
    /// TCP (and TLS) connect did not complete within `--connect-timeout`.
    ConnectTimeout,
    /// Any other failure to connect (no route, no free local port, ...).
    ConnectError,
    /// No complete response within `--timeout` of the write.
    Timeout,
    /// The connection was reset by the peer.
    Reset,
    /// TLS handshake or record failure.
    Tls,
    /// The response could not be parsed (see [`ParseError`]).
    Malformed,
    /// The server closed the connection before the response was complete.
    ClosedEarly,
    /// Any other I/O error on an established connection.
    Io,
    /// A complete response whose status is not one the target expects
    /// (`--expect-status`, SPEC §10).
    UnexpectedStatus,
    /// A complete response whose body does not contain the expected text
    /// (`--expect-body`, SPEC §10).
    BodyMismatch,
    /// HTTP/2: the server reset the stream after it began processing the
    /// request (SPEC §11).
    StreamReset,
    /// HTTP/2: the server did not process the request, three times
    /// (REFUSED_STREAM, or above a GOAWAY's last stream; SPEC §11).
    RefusedStream,
}

impl ErrorKind {
    /// Number of kinds; the length of per-kind tables.
    pub const COUNT: usize = 13;

    /// Every kind, in report order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::ConnectRefused,
        Self::ConnectTimeout,
        Self::ConnectError,
        Self::Timeout,
        Self::Reset,
        Self::Tls,
        Self::Malformed,
        Self::ClosedEarly,
        Self::Io,
        Self::UnexpectedStatus,
        Self::BodyMismatch,
        Self::StreamReset,
        Self::RefusedStream,
    ];

    /// Index into per-kind tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name: the JSON key and the CSV log value.
    pub fn name(self) -> &'static str {
        match self {
            Self::ConnectRefused => "connect_refused",
            Self::ConnectTimeout => "connect_timeout",
            Self::ConnectError => "connect_error",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::Tls => "tls",
            Self::Malformed => "malformed_response",
            Self::ClosedEarly => "closed_early",
            Self::Io => "io",
            Self::UnexpectedStatus => "unexpected_status",
            Self::BodyMismatch => "body_mismatch",
            Self::StreamReset => "stream_reset",
            Self::RefusedStream => "refused_stream",
        }
    }

    /// Human label for the text report.
    pub fn label(self) -> &'static str {
        match self {
            Self::ConnectRefused => "connect refused",
            Self::ConnectTimeout => "connect timeout",
            Self::ConnectError => "connect error",
            Self::Timeout => "timeout",
            Self::Reset => "connection reset",
            Self::Tls => "tls",
            Self::Malformed => "malformed response",
            Self::ClosedEarly => "closed early",
            Self::Io => "i/o error",
            Self::UnexpectedStatus => "unexpected status",
            Self::BodyMismatch => "body mismatch",
            Self::StreamReset => "stream reset",
            Self::RefusedStream => "refused stream",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }

    #[test]
    fn messages_are_lowercase_single_lines() {
        let errors = [
            ParseError::Head(httparse::Error::Status),
            ParseError::HeadTooLarge,
            ParseError::TooManyHeaders,
            ParseError::InvalidContentLength,
            ParseError::InvalidChunkSize,
            ParseError::ChunkExtensionTooLong,
            ParseError::InvalidChunkEnd,
            ParseError::TrailersTooLarge,
            ParseError::UnexpectedUpgrade,
            ParseError::Unsolicited,
        ];
        for e in errors {
            let s = e.to_string();
            assert!(!s.contains('\n'), "{s}");
            assert_eq!(
                s.chars().next().map(|c| c.is_lowercase()),
                Some(true),
                "{s}"
            );
        }
    }
}
