//! Why the server ends an HTTP/2 connection: the client's faults, and
//! the error code and GOAWAY debug text of each.

use std::fmt;

use volley_core::h2::frame::kind;
use volley_core::h2::{ErrorCode, FrameError, HpackError};

/// Why the server ends a connection with GOAWAY: the client broke
/// RFC 9113 in a way that concerns the whole connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    /// A frame that cannot be parsed (§4, §6).
    Frame(FrameError),
    /// A header block that cannot be decoded (RFC 7541).
    Hpack(HpackError),
    /// The first frame after the preface was not SETTINGS (§3.4).
    NoSettings,
    /// A header block longer than `MAX_HEADER_BLOCK`.
    HeaderBlockTooLarge,
    /// A frame other than its CONTINUATION inside a header block (§6.10).
    ContinuationExpected,
    /// CONTINUATION outside a header block (§6.10).
    UnexpectedContinuation,
    /// HEADERS opening a stream with an even (server) identifier (§5.1.1).
    EvenStream,
    /// A frame other than HEADERS or PRIORITY on a stream not yet opened
    /// (§5.1).
    IdleStream { kind: u8 },
    /// HEADERS on a stream that is closed (§5.1).
    ClosedStream,
    /// PUSH_PROMISE from a client (§8.4).
    PushPromise,
    /// DATA beyond the connection's flow-control window (§6.9.1).
    FlowControl,
    /// A send window above 2^31 - 1 (§6.9.1, §6.9.2).
    WindowOverflow,
}

impl Fault {
    /// The error code the GOAWAY carries.
    pub(super) fn code(self) -> ErrorCode {
        match self {
            Self::Frame(e) => e.code(),
            Self::Hpack(_) | Self::HeaderBlockTooLarge => ErrorCode::CompressionError,
            Self::ClosedStream => ErrorCode::StreamClosed,
            Self::FlowControl | Self::WindowOverflow => ErrorCode::FlowControlError,
            Self::NoSettings
            | Self::ContinuationExpected
            | Self::UnexpectedContinuation
            | Self::EvenStream
            | Self::IdleStream { .. }
            | Self::PushPromise => ErrorCode::ProtocolError,
        }
    }
}

/// The GOAWAY's debug data: what went wrong, for whoever reads the capture.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Frame(e) => e.fmt(f),
            Self::Hpack(e) => e.fmt(f),
            Self::NoSettings => f.write_str("client preface not followed by settings"),
            Self::HeaderBlockTooLarge => f.write_str("header block too large"),
            Self::ContinuationExpected => f.write_str("header block interrupted by another frame"),
            Self::UnexpectedContinuation => {
                f.write_str("continuation frame outside a header block")
            }
            Self::EvenStream => f.write_str("client opened an even-numbered stream"),
            Self::IdleStream { kind } => {
                write!(f, "a {} frame on a stream never opened", kind::name(kind))
            }
            Self::ClosedStream => f.write_str("headers on a closed stream"),
            Self::PushPromise => f.write_str("push promise from a client"),
            Self::FlowControl => f.write_str("data beyond the flow-control window"),
            Self::WindowOverflow => f.write_str("flow-control window above 2^31 - 1"),
        }
    }
}
