//! HTTP/2's wire format (SPEC §11): frames (RFC 9113 §4, §6) and header
//! compression (RFC 7541), as borrowed, sans-io codecs. They hold no
//! connection state beyond HPACK's dynamic table: which frames may arrive
//! when, flow control and stream lifecycles are the connection's business.

pub mod error;
pub mod frame;
pub mod hpack;

pub use error::{ErrorCode, FrameError, HpackError};
pub use frame::{Frame, FrameHeader, Parsed, decode_frame, parse_header};
