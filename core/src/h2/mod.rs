//! HTTP/2 for `--http2` (SPEC §11): the wire format, frames (RFC 9113 §4,
//! §6) and header compression (RFC 7541), as borrowed, sans-io codecs that
//! hold no connection state beyond HPACK's dynamic table; and [`conn`], one
//! client connection's state machine on top of them, which decides which
//! frames may arrive when, flow control and the streams' lifecycles.

pub mod conn;
pub mod error;
pub mod frame;
pub mod hpack;

pub use conn::{Event, H2Conn, OpenError, StreamId};
pub use error::{ConnError, ErrorCode, FrameError, HpackError, StreamError};
pub use frame::{Frame, FrameHeader, Parsed, decode_frame, parse_header};
