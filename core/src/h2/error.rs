//! HTTP/2 errors: the protocol's error codes, and why a frame or a header
//! block was rejected. Small `Copy` enums with short lowercase messages.

use std::fmt;

use super::frame::kind;

/// An HTTP/2 error code (RFC 9113 §7), as carried by RST_STREAM and
/// GOAWAY and as the reason volley gives when it ends a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `NO_ERROR` (0x0): a graceful shutdown.
    NoError,
    /// `PROTOCOL_ERROR` (0x1).
    ProtocolError,
    /// `INTERNAL_ERROR` (0x2).
    InternalError,
    /// `FLOW_CONTROL_ERROR` (0x3).
    FlowControlError,
    /// `SETTINGS_TIMEOUT` (0x4).
    SettingsTimeout,
    /// `STREAM_CLOSED` (0x5).
    StreamClosed,
    /// `FRAME_SIZE_ERROR` (0x6).
    FrameSizeError,
    /// `REFUSED_STREAM` (0x7): the stream was not processed; safe to retry.
    RefusedStream,
    /// `CANCEL` (0x8).
    Cancel,
    /// `COMPRESSION_ERROR` (0x9): the HPACK state is lost.
    CompressionError,
    /// `CONNECT_ERROR` (0xa).
    ConnectError,
    /// `ENHANCE_YOUR_CALM` (0xb).
    EnhanceYourCalm,
    /// `INADEQUATE_SECURITY` (0xc).
    InadequateSecurity,
    /// `HTTP_1_1_REQUIRED` (0xd).
    Http11Required,
    /// A code RFC 9113 does not define, kept so that it can be reported;
    /// it means no more than `INTERNAL_ERROR` (§7).
    Unknown(u32),
}

impl ErrorCode {
    /// The name RFC 9113 gives the code, such as `"REFUSED_STREAM"`, or
    /// `"UNKNOWN"` for one it does not define.
    pub fn name(self) -> &'static str {
        match self {
            Self::NoError => "NO_ERROR",
            Self::ProtocolError => "PROTOCOL_ERROR",
            Self::InternalError => "INTERNAL_ERROR",
            Self::FlowControlError => "FLOW_CONTROL_ERROR",
            Self::SettingsTimeout => "SETTINGS_TIMEOUT",
            Self::StreamClosed => "STREAM_CLOSED",
            Self::FrameSizeError => "FRAME_SIZE_ERROR",
            Self::RefusedStream => "REFUSED_STREAM",
            Self::Cancel => "CANCEL",
            Self::CompressionError => "COMPRESSION_ERROR",
            Self::ConnectError => "CONNECT_ERROR",
            Self::EnhanceYourCalm => "ENHANCE_YOUR_CALM",
            Self::InadequateSecurity => "INADEQUATE_SECURITY",
            Self::Http11Required => "HTTP_1_1_REQUIRED",
            Self::Unknown(_) => "UNKNOWN",
        }
    }
}

impl From<u32> for ErrorCode {
    fn from(code: u32) -> Self {
        match code {
            0x0 => Self::NoError,
            0x1 => Self::ProtocolError,
            0x2 => Self::InternalError,
            0x3 => Self::FlowControlError,
            0x4 => Self::SettingsTimeout,
            0x5 => Self::StreamClosed,
            0x6 => Self::FrameSizeError,
            0x7 => Self::RefusedStream,
            0x8 => Self::Cancel,
            0x9 => Self::CompressionError,
            0xa => Self::ConnectError,
            0xb => Self::EnhanceYourCalm,
            0xc => Self::InadequateSecurity,
            0xd => Self::Http11Required,
            code => Self::Unknown(code),
        }
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::NoError => 0x0,
            ErrorCode::ProtocolError => 0x1,
            ErrorCode::InternalError => 0x2,
            ErrorCode::FlowControlError => 0x3,
            ErrorCode::SettingsTimeout => 0x4,
            ErrorCode::StreamClosed => 0x5,
            ErrorCode::FrameSizeError => 0x6,
            ErrorCode::RefusedStream => 0x7,
            ErrorCode::Cancel => 0x8,
            ErrorCode::CompressionError => 0x9,
            ErrorCode::ConnectError => 0xa,
            ErrorCode::EnhanceYourCalm => 0xb,
            ErrorCode::InadequateSecurity => 0xc,
            ErrorCode::Http11Required => 0xd,
            ErrorCode::Unknown(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(code) => write!(f, "error code {code:#x}"),
            known => f.write_str(known.name()),
        }
    }
}

/// Why a frame was rejected (RFC 9113 §4 and §6).
///
/// Each is the server's fault and ends the connection with
/// [`FrameError::code`]; RFC 9113 §5.4 lets an endpoint treat the few that
/// could be stream errors as connection errors, and volley does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// Longer than the `SETTINGS_MAX_FRAME_SIZE` volley advertised.
    TooLarge,
    /// A length the frame's type does not allow: PING not 8, RST_STREAM
    /// and WINDOW_UPDATE not 4, PRIORITY not 5, SETTINGS not a multiple of
    /// 6 (or not 0 with ACK), or too short for its fixed fields.
    BadLength {
        /// The frame's type.
        kind: u8,
    },
    /// Padding as long as the payload left for it, or longer.
    Padding {
        /// The frame's type.
        kind: u8,
    },
    /// A frame that belongs to a stream (DATA, HEADERS, PRIORITY,
    /// RST_STREAM, PUSH_PROMISE, CONTINUATION) on stream 0.
    StreamZero {
        /// The frame's type.
        kind: u8,
    },
    /// A frame that belongs to the connection (SETTINGS, PING, GOAWAY) on
    /// a stream.
    NotStreamZero {
        /// The frame's type.
        kind: u8,
    },
    /// A WINDOW_UPDATE with an increment of 0.
    ZeroIncrement,
    /// A stream made to depend on itself (RFC 9113 §5.3.1).
    SelfDependency,
    /// A SETTINGS parameter out of its range (RFC 9113 §6.5.2).
    InvalidSetting {
        /// The parameter's identifier.
        id: u16,
    },
}

impl FrameError {
    /// The error code to end the connection with.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::TooLarge | Self::BadLength { .. } => ErrorCode::FrameSizeError,
            Self::InvalidSetting {
                id: super::frame::setting::INITIAL_WINDOW_SIZE,
            } => ErrorCode::FlowControlError,
            Self::Padding { .. }
            | Self::StreamZero { .. }
            | Self::NotStreamZero { .. }
            | Self::ZeroIncrement
            | Self::SelfDependency
            | Self::InvalidSetting { .. } => ErrorCode::ProtocolError,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooLarge => f.write_str("frame larger than the advertised maximum frame size"),
            Self::BadLength { kind } => {
                write!(f, "invalid length for a {} frame", kind::name(kind))
            }
            Self::Padding { kind } => write!(f, "padding exceeds the {} frame", kind::name(kind)),
            Self::StreamZero { kind } => write!(f, "stream 0 carries a {} frame", kind::name(kind)),
            Self::NotStreamZero { kind } => {
                write!(
                    f,
                    "a stream other than 0 carries a {} frame",
                    kind::name(kind)
                )
            }
            Self::ZeroIncrement => f.write_str("window update of 0"),
            Self::SelfDependency => f.write_str("stream depends on itself"),
            Self::InvalidSetting { id } => write!(f, "invalid value for setting {id:#x}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Why a header block could not be decoded (RFC 7541). Each ends the
/// connection with `COMPRESSION_ERROR` (RFC 9113 §4.3), except
/// [`HpackError::HeaderListTooLarge`]: volley's own limit, reported after
/// the whole block was decoded, so the connection can go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HpackError {
    /// The block ends inside a field's representation.
    Truncated,
    /// An integer larger than 2^32 - 1, or longer than its largest encoding.
    IntegerOverflow,
    /// Index 0, which names no field.
    ZeroIndex,
    /// An index past the end of the static and dynamic tables.
    UnknownIndex,
    /// Huffman padding longer than 7 bits or not all ones.
    HuffmanPadding,
    /// The Huffman EOS symbol inside a string.
    HuffmanEos,
    /// A dynamic table size update above `SETTINGS_HEADER_TABLE_SIZE`.
    TableSizeTooLarge,
    /// A dynamic table size update after a field of the block.
    SizeUpdateMisplaced,
    /// No size update at the start of the first block after the table's
    /// limit was lowered.
    SizeUpdateMissing,
    /// The header list is larger than the limit (name + value + 32 per
    /// field, RFC 9113 §6.5.2). The rest of the block was decoded without
    /// being reported, which keeps the dynamic table in step with the
    /// server's (RFC 9113 §4.3): only the stream need end, with `CANCEL`.
    HeaderListTooLarge,
}

impl HpackError {
    /// The error code to end the connection with, or for
    /// [`HpackError::HeaderListTooLarge`] only the stream.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::HeaderListTooLarge => ErrorCode::Cancel,
            _ => ErrorCode::CompressionError,
        }
    }
}

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "header block ends inside a field",
            Self::IntegerOverflow => "integer too large in header block",
            Self::ZeroIndex => "header field index 0",
            Self::UnknownIndex => "header field index past the end of the tables",
            Self::HuffmanPadding => "invalid huffman padding",
            Self::HuffmanEos => "huffman eos symbol in a string",
            Self::TableSizeTooLarge => "dynamic table size update above the advertised limit",
            Self::SizeUpdateMisplaced => "dynamic table size update after a header field",
            Self::SizeUpdateMissing => "missing dynamic table size update",
            Self::HeaderListTooLarge => "header list larger than the limit",
        })
    }
}

impl std::error::Error for HpackError {}

/// Why volley ended an HTTP/2 connection: the server broke RFC 9113 or
/// RFC 7541 in a way that leaves the connection unusable. Each carries the
/// error code of the GOAWAY volley sends ([`ConnError::code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnError {
    /// A frame that fails on its own (RFC 9113 §4, §6).
    Frame(FrameError),
    /// A header block that cannot be decoded: the HPACK state is lost
    /// (RFC 9113 §4.3).
    Hpack(HpackError),
    /// The server's first frame is not SETTINGS (RFC 9113 §3.4): most
    /// likely not an HTTP/2 server at all.
    NoPreface,
    /// A header block, HEADERS and its CONTINUATIONs together, longer than
    /// volley buffers; it cannot be decoded, so neither can any later one.
    HeaderBlockTooLarge,
    /// A frame other than the CONTINUATION of an unfinished header block
    /// (RFC 9113 §6.10).
    ContinuationExpected,
    /// A CONTINUATION that follows no unfinished header block.
    UnexpectedContinuation,
    /// A frame on a stream volley never opened (RFC 9113 §5.1: idle, or
    /// even-numbered with push disabled).
    IdleStream {
        /// The frame's type.
        kind: u8,
    },
    /// A PUSH_PROMISE, which `SETTINGS_ENABLE_PUSH` 0 forbids (RFC 9113
    /// §6.6).
    PushPromise,
    /// `SETTINGS_ENABLE_PUSH` 1 from a server (RFC 9113 §6.5.2).
    PushEnabled,
    /// DATA beyond the window volley granted (RFC 9113 §6.9.1).
    FlowControl,
    /// A WINDOW_UPDATE or `SETTINGS_INITIAL_WINDOW_SIZE` that takes a send
    /// window above 2^31 - 1 (RFC 9113 §6.9.1, §6.9.2).
    WindowOverflow,
}

impl ConnError {
    /// The error code to send in the GOAWAY.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Frame(e) => e.code(),
            // Whatever the reason, the decoder's table may be out of step
            // with the server's encoder (RFC 9113 §4.3).
            Self::Hpack(_) | Self::HeaderBlockTooLarge => ErrorCode::CompressionError,
            Self::FlowControl | Self::WindowOverflow => ErrorCode::FlowControlError,
            Self::NoPreface
            | Self::ContinuationExpected
            | Self::UnexpectedContinuation
            | Self::IdleStream { .. }
            | Self::PushPromise
            | Self::PushEnabled => ErrorCode::ProtocolError,
        }
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Frame(e) => e.fmt(f),
            Self::Hpack(e) => e.fmt(f),
            Self::NoPreface => f.write_str("server did not start with a settings frame"),
            Self::HeaderBlockTooLarge => f.write_str("header block too large"),
            Self::ContinuationExpected => f.write_str("header block interrupted by another frame"),
            Self::UnexpectedContinuation => {
                f.write_str("continuation frame outside a header block")
            }
            Self::IdleStream { kind } => {
                write!(f, "a {} frame on a stream never opened", kind::name(kind))
            }
            Self::PushPromise => f.write_str("push promise with push disabled"),
            Self::PushEnabled => f.write_str("server enabled push"),
            Self::FlowControl => f.write_str("data beyond the flow-control window"),
            Self::WindowOverflow => f.write_str("flow-control window above 2^31 - 1"),
        }
    }
}

impl std::error::Error for ConnError {}

impl From<FrameError> for ConnError {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

/// Why volley ended one stream whose response is malformed (RFC 9113
/// §8.1.1): it resets the stream with [`StreamError::code`], and the
/// connection goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// A response head without `:status`.
    MissingStatus,
    /// A `:status` that is not three digits from 100.
    InvalidStatus,
    /// A pseudo-header other than one `:status`, one after a regular
    /// field, or any in trailers (RFC 9113 §8.3).
    InvalidPseudoHeader,
    /// A field name with uppercase letters (RFC 9113 §8.2).
    UppercaseName,
    /// DATA before the final response head (RFC 9113 §8.1).
    DataBeforeHead,
    /// An interim (1xx) head that ends the stream (RFC 9113 §8.1).
    InterimEndsStream,
    /// Trailers that do not end the stream (RFC 9113 §8.1).
    TrailersWithoutEndStream,
    /// A header list larger than the `SETTINGS_MAX_HEADER_LIST_SIZE`
    /// volley advertised; the block was still decoded in full.
    HeaderListTooLarge,
}

impl StreamError {
    /// The error code of the RST_STREAM volley sends.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::HeaderListTooLarge => HpackError::HeaderListTooLarge.code(),
            _ => ErrorCode::ProtocolError,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingStatus => "response head without :status",
            Self::InvalidStatus => "invalid :status",
            Self::InvalidPseudoHeader => "invalid or misplaced pseudo-header",
            Self::UppercaseName => "uppercase header name",
            Self::DataBeforeHead => "data before the response head",
            Self::InterimEndsStream => "interim response ends the stream",
            Self::TrailersWithoutEndStream => "trailers do not end the stream",
            Self::HeaderListTooLarge => "header list larger than the limit",
        })
    }
}

impl std::error::Error for StreamError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::{kind, setting};

    #[test]
    fn error_codes_round_trip_through_u32() {
        let names = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        for (value, name) in (0u32..).zip(names) {
            let code = ErrorCode::from(value);
            assert_eq!((code.name(), code.to_string()), (name, name.to_string()));
            assert_eq!(u32::from(code), value);
        }
        assert_eq!(ErrorCode::from(7), ErrorCode::RefusedStream);
        for value in [0xe, 0xdead, u32::MAX] {
            let code = ErrorCode::from(value);
            assert_eq!(code, ErrorCode::Unknown(value));
            assert_eq!(u32::from(code), value);
            assert_eq!(code.name(), "UNKNOWN");
        }
        assert_eq!(ErrorCode::Unknown(0xe).to_string(), "error code 0xe");
    }

    #[test]
    fn frame_errors_carry_their_rfc_codes() {
        use ErrorCode::{FlowControlError, FrameSizeError, ProtocolError};
        let cases = [
            (FrameError::TooLarge, FrameSizeError),
            (FrameError::BadLength { kind: kind::PING }, FrameSizeError),
            (FrameError::Padding { kind: kind::DATA }, ProtocolError),
            (FrameError::StreamZero { kind: kind::DATA }, ProtocolError),
            (
                FrameError::NotStreamZero { kind: kind::PING },
                ProtocolError,
            ),
            (FrameError::ZeroIncrement, ProtocolError),
            (FrameError::SelfDependency, ProtocolError),
            (
                FrameError::InvalidSetting {
                    id: setting::ENABLE_PUSH,
                },
                ProtocolError,
            ),
            (
                FrameError::InvalidSetting {
                    id: setting::INITIAL_WINDOW_SIZE,
                },
                FlowControlError,
            ),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e:?}");
        }
        assert_eq!(
            FrameError::BadLength { kind: kind::PING }.to_string(),
            "invalid length for a PING frame"
        );
        assert_eq!(HpackError::Truncated.code(), ErrorCode::CompressionError);
        assert_eq!(HpackError::HeaderListTooLarge.code(), ErrorCode::Cancel);
    }

    #[test]
    fn messages_are_lowercase_single_lines() {
        let frame = [
            FrameError::TooLarge,
            FrameError::BadLength { kind: 0xff },
            FrameError::Padding { kind: kind::DATA },
            FrameError::StreamZero {
                kind: kind::HEADERS,
            },
            FrameError::NotStreamZero { kind: kind::GOAWAY },
            FrameError::ZeroIncrement,
            FrameError::SelfDependency,
            FrameError::InvalidSetting { id: 5 },
        ];
        let hpack = [
            HpackError::Truncated,
            HpackError::IntegerOverflow,
            HpackError::ZeroIndex,
            HpackError::UnknownIndex,
            HpackError::HuffmanPadding,
            HpackError::HuffmanEos,
            HpackError::TableSizeTooLarge,
            HpackError::SizeUpdateMisplaced,
            HpackError::SizeUpdateMissing,
            HpackError::HeaderListTooLarge,
        ];
        let messages = frame.iter().map(ToString::to_string);
        for s in messages.chain(hpack.iter().map(ToString::to_string)) {
            assert!(!s.contains('\n'), "{s}");
            assert!(s.starts_with(|c: char| c.is_lowercase()), "{s}");
        }
    }
}
