//! HTTP/2 frames (RFC 9113 §4 and §6): parsing by borrowing, in three
//! outcomes, and writing into the caller's buffer.
//!
//! [`decode_frame`] checks what one frame alone can show to be wrong: its
//! size against `SETTINGS_MAX_FRAME_SIZE`, the fixed sizes of its type, its
//! padding, the stream it may be sent on, and the values RFC 9113 bounds.
//! What depends on the connection's state (a CONTINUATION that follows no
//! HEADERS, a PUSH_PROMISE when push is off, DATA on a closed stream) is
//! the connection's to check.

use super::error::{ErrorCode, FrameError};

/// The client connection preface (RFC 9113 §3.4), sent before the first
/// SETTINGS frame.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of a frame header.
pub const HEADER_LEN: usize = 9;

/// The smallest `SETTINGS_MAX_FRAME_SIZE`, and its initial value.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;

/// The largest `SETTINGS_MAX_FRAME_SIZE`: a frame's length has 24 bits.
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// The largest flow-control window (RFC 9113 §6.9.1).
pub const MAX_WINDOW: u32 = (1 << 31) - 1;

/// Frame types (RFC 9113 §6).
pub mod kind {
    /// DATA.
    pub const DATA: u8 = 0x0;
    /// HEADERS.
    pub const HEADERS: u8 = 0x1;
    /// PRIORITY (deprecated, still parsed).
    pub const PRIORITY: u8 = 0x2;
    /// RST_STREAM.
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS.
    pub const SETTINGS: u8 = 0x4;
    /// PUSH_PROMISE.
    pub const PUSH_PROMISE: u8 = 0x5;
    /// PING.
    pub const PING: u8 = 0x6;
    /// GOAWAY.
    pub const GOAWAY: u8 = 0x7;
    /// WINDOW_UPDATE.
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// CONTINUATION.
    pub const CONTINUATION: u8 = 0x9;

    /// The type's name, such as `"HEADERS"`, or `"unknown"`.
    pub fn name(kind: u8) -> &'static str {
        match kind {
            DATA => "DATA",
            HEADERS => "HEADERS",
            PRIORITY => "PRIORITY",
            RST_STREAM => "RST_STREAM",
            SETTINGS => "SETTINGS",
            PUSH_PROMISE => "PUSH_PROMISE",
            PING => "PING",
            GOAWAY => "GOAWAY",
            WINDOW_UPDATE => "WINDOW_UPDATE",
            CONTINUATION => "CONTINUATION",
            _ => "unknown",
        }
    }
}

/// SETTINGS parameter identifiers (RFC 9113 §6.5.2).
pub mod setting {
    /// `SETTINGS_HEADER_TABLE_SIZE`.
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    /// `SETTINGS_ENABLE_PUSH`: 0 or 1.
    pub const ENABLE_PUSH: u16 = 0x2;
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: at most 2^31 - 1.
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    /// `SETTINGS_MAX_FRAME_SIZE`: 2^14 to 2^24 - 1.
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`.
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
}

/// Flag bits (RFC 9113 §6), by the types that define them.
mod flag {
    /// DATA, HEADERS: the last frame of the stream.
    pub(super) const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub(super) const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the block is complete.
    pub(super) const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: a Pad Length field leads the payload.
    pub(super) const PADDED: u8 = 0x8;
    /// HEADERS: priority fields follow any Pad Length.
    pub(super) const PRIORITY: u8 = 0x20;
}

/// The 9-byte header every frame starts with (RFC 9113 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Length of the payload that follows the header.
    pub len: u32,
    /// The frame's type (see [`kind`]).
    pub kind: u8,
    /// The type-specific flags.
    pub flags: u8,
    /// The stream the frame belongs to; 0 for the connection. The reserved
    /// bit is masked off.
    pub stream: u32,
}

/// The frame header at the start of `buf`, or `None` if `buf` is shorter
/// than [`HEADER_LEN`].
pub fn parse_header(buf: &[u8]) -> Option<FrameHeader> {
    let h: &[u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
    Some(FrameHeader {
        len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
        kind: h[3],
        flags: h[4],
        stream: u31([h[5], h[6], h[7], h[8]]),
    })
}

/// A frame, borrowing its variable-length parts from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame<'a> {
    /// DATA (§6.1).
    Data {
        /// The stream.
        stream: u32,
        /// The last frame the server sends on the stream.
        end_stream: bool,
        /// The data, without padding.
        data: &'a [u8],
        /// The whole payload's length, padding included: what flow control
        /// counts (§6.9.1).
        flow_len: u32,
    },
    /// HEADERS (§6.2).
    Headers {
        /// The stream.
        stream: u32,
        /// The last frame the server sends on the stream.
        end_stream: bool,
        /// No CONTINUATION follows: `block` is the whole field block.
        end_headers: bool,
        /// The field block fragment, without padding or priority.
        block: &'a [u8],
    },
    /// PRIORITY (§6.3), deprecated; parsed to be ignored.
    Priority {
        /// The stream.
        stream: u32,
    },
    /// RST_STREAM (§6.4).
    RstStream {
        /// The stream the server ended.
        stream: u32,
        /// Why.
        code: ErrorCode,
    },
    /// SETTINGS (§6.5).
    Settings {
        /// An acknowledgement of the client's SETTINGS (then `params` is
        /// empty).
        ack: bool,
        /// The parameters, in order.
        params: SettingsParams<'a>,
    },
    /// PUSH_PROMISE (§6.6).
    PushPromise {
        /// The stream the promise is made on.
        stream: u32,
        /// The stream the server reserves.
        promised: u32,
        /// No CONTINUATION follows.
        end_headers: bool,
        /// The field block fragment, without padding.
        block: &'a [u8],
    },
    /// PING (§6.7).
    Ping {
        /// A reply to a PING of the client's.
        ack: bool,
        /// The opaque data, to echo in the reply.
        data: [u8; 8],
    },
    /// GOAWAY (§6.8).
    GoAway {
        /// The highest stream the server may have processed; any above it
        /// were not, and can be retried.
        last_stream: u32,
        /// Why.
        code: ErrorCode,
        /// Opaque diagnostic data.
        debug: &'a [u8],
    },
    /// WINDOW_UPDATE (§6.9).
    WindowUpdate {
        /// The stream, or 0 for the connection.
        stream: u32,
        /// Between 1 and 2^31 - 1.
        increment: u32,
    },
    /// CONTINUATION (§6.10).
    Continuation {
        /// The stream.
        stream: u32,
        /// The last fragment of the block.
        end_headers: bool,
        /// The field block fragment.
        block: &'a [u8],
    },
    /// A type RFC 9113 does not define, to be ignored (§4.1).
    Unknown {
        /// Its type.
        kind: u8,
    },
}

/// A SETTINGS frame's parameters: a whole number of 6-byte entries, each
/// valid for its identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingsParams<'a>(&'a [u8]);

impl<'a> SettingsParams<'a> {
    /// The raw payload.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Each parameter's identifier (see [`setting`]) and value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u32)> + 'a {
        self.0.chunks_exact(6).map(|p| {
            (
                u16::from_be_bytes([p[0], p[1]]),
                u32::from_be_bytes([p[2], p[3], p[4], p[5]]),
            )
        })
    }
}

/// What [`decode_frame`] found at the start of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A whole frame, and its length with the header: the bytes to
    /// consume.
    Complete(Frame<'a>, usize),
    /// The frame is not all there yet; nothing is consumed.
    Partial,
}

/// Parses the frame at the start of `buf`, which may hold less than a
/// frame or more than one.
///
/// `max_frame_size` is the `SETTINGS_MAX_FRAME_SIZE` the client advertised
/// (16,384 until its SETTINGS are acknowledged); a longer frame is an error
/// as soon as its header is in, without waiting for its payload.
pub fn decode_frame(buf: &[u8], max_frame_size: u32) -> Result<Parsed<'_>, FrameError> {
    let Some(header) = parse_header(buf) else {
        return Ok(Parsed::Partial);
    };
    if header.len > max_frame_size {
        return Err(FrameError::TooLarge);
    }
    let end = HEADER_LEN + header.len as usize;
    let Some(payload) = buf.get(HEADER_LEN..end) else {
        return Ok(Parsed::Partial);
    };
    Ok(Parsed::Complete(parse_payload(header, payload)?, end))
}

/// Parses a frame's payload (exactly `header.len` bytes) by its type.
fn parse_payload(header: FrameHeader, payload: &[u8]) -> Result<Frame<'_>, FrameError> {
    let FrameHeader {
        kind,
        flags,
        stream,
        ..
    } = header;
    let has = |f: u8| flags & f != 0;
    // Stream 0 is the connection's (RFC 9113 §5.1.1): some types belong
    // to a stream, others to the connection.
    let on_stream = matches!(
        kind,
        kind::DATA
            | kind::HEADERS
            | kind::PRIORITY
            | kind::RST_STREAM
            | kind::PUSH_PROMISE
            | kind::CONTINUATION
    );
    let on_connection = matches!(kind, kind::SETTINGS | kind::PING | kind::GOAWAY);
    if on_stream && stream == 0 {
        return Err(FrameError::StreamZero { kind });
    }
    if on_connection && stream != 0 {
        return Err(FrameError::NotStreamZero { kind });
    }
    let bad_length = FrameError::BadLength { kind };
    Ok(match kind {
        kind::DATA => Frame::Data {
            stream,
            end_stream: has(flag::END_STREAM),
            data: unpad(kind, has(flag::PADDED), 0, payload)?.1,
            flow_len: header.len,
        },
        kind::HEADERS => {
            let fixed = if has(flag::PRIORITY) { 5 } else { 0 };
            let (priority, block) = unpad(kind, has(flag::PADDED), fixed, payload)?;
            if let [a, b, c, d, _weight] = *priority {
                if u31([a, b, c, d]) == stream {
                    return Err(FrameError::SelfDependency);
                }
            }
            Frame::Headers {
                stream,
                end_stream: has(flag::END_STREAM),
                end_headers: has(flag::END_HEADERS),
                block,
            }
        }
        kind::PRIORITY => {
            let p: [u8; 5] = payload.try_into().map_err(|_| bad_length)?;
            if u31([p[0], p[1], p[2], p[3]]) == stream {
                return Err(FrameError::SelfDependency);
            }
            Frame::Priority { stream }
        }
        kind::RST_STREAM => Frame::RstStream {
            stream,
            code: u32::from_be_bytes(payload.try_into().map_err(|_| bad_length)?).into(),
        },
        kind::SETTINGS => settings(has(flag::ACK), payload)?,
        kind::PUSH_PROMISE => {
            let (promised, block) = unpad(kind, has(flag::PADDED), 4, payload)?;
            Frame::PushPromise {
                stream,
                promised: u31(promised.try_into().map_err(|_| bad_length)?),
                end_headers: has(flag::END_HEADERS),
                block,
            }
        }
        kind::PING => Frame::Ping {
            ack: has(flag::ACK),
            data: payload.try_into().map_err(|_| bad_length)?,
        },
        kind::GOAWAY => {
            let (fixed, debug) = payload.split_first_chunk::<8>().ok_or(bad_length)?;
            Frame::GoAway {
                last_stream: u31([fixed[0], fixed[1], fixed[2], fixed[3]]),
                code: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]).into(),
                debug,
            }
        }
        kind::WINDOW_UPDATE => {
            let increment = u31(payload.try_into().map_err(|_| bad_length)?);
            if increment == 0 {
                return Err(FrameError::ZeroIncrement);
            }
            Frame::WindowUpdate { stream, increment }
        }
        kind::CONTINUATION => Frame::Continuation {
            stream,
            end_headers: has(flag::END_HEADERS),
            block: payload,
        },
        kind => Frame::Unknown { kind },
    })
}

/// A SETTINGS frame's payload: empty with ACK, else whole parameters whose
/// values are in range (RFC 9113 §6.5, §6.5.2). Unknown identifiers are
/// ignored.
fn settings(ack: bool, payload: &[u8]) -> Result<Frame<'_>, FrameError> {
    let bad_length = FrameError::BadLength {
        kind: kind::SETTINGS,
    };
    if (ack && !payload.is_empty()) || !payload.len().is_multiple_of(6) {
        return Err(bad_length);
    }
    let params = SettingsParams(payload);
    for (id, value) in params.iter() {
        let valid = match id {
            setting::ENABLE_PUSH => value <= 1,
            setting::INITIAL_WINDOW_SIZE => value <= MAX_WINDOW,
            setting::MAX_FRAME_SIZE => {
                (DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value)
            }
            _ => true,
        };
        if !valid {
            return Err(FrameError::InvalidSetting { id });
        }
    }
    Ok(Frame::Settings { ack, params })
}

/// Splits a payload into its `fixed` leading bytes (after the Pad Length
/// field, if `padded`) and what is left without the padding. The payload
/// must hold the fixed fields (else FRAME_SIZE_ERROR, RFC 9113 §4.2), and
/// the padding must fit after them (else PROTOCOL_ERROR, §6.1, §6.2, §6.6).
fn unpad(
    kind: u8,
    padded: bool,
    fixed: usize,
    payload: &[u8],
) -> Result<(&[u8], &[u8]), FrameError> {
    let (pad, rest) = match payload.split_first() {
        Some((&pad, rest)) if padded => (usize::from(pad), rest),
        None if padded => return Err(FrameError::BadLength { kind }),
        _ => (0, payload),
    };
    let (fixed, rest) = rest
        .split_at_checked(fixed)
        .ok_or(FrameError::BadLength { kind })?;
    let len = rest
        .len()
        .checked_sub(pad)
        .ok_or(FrameError::Padding { kind })?;
    Ok((fixed, &rest[..len]))
}

/// A 31-bit stream identifier or window increment, the reserved bit masked.
fn u31(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b) & MAX_WINDOW
}

/// Appends a frame header.
fn write_header(len: usize, kind: u8, flags: u8, stream: u32, out: &mut Vec<u8>) {
    assert!(len <= MAX_MAX_FRAME_SIZE as usize, "frame payload too long");
    debug_assert!(stream <= MAX_WINDOW, "stream id above 2^31 - 1");
    let len = u32::try_from(len).expect("24-bit length").to_be_bytes(); // ok: asserted just above
    out.extend_from_slice(&[len[1], len[2], len[3], kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
}

/// Appends a SETTINGS frame with these parameters (identifier, value).
pub fn write_settings(params: &[(u16, u32)], out: &mut Vec<u8>) {
    write_header(params.len() * 6, kind::SETTINGS, 0, 0, out);
    for &(id, value) in params {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends the acknowledgement of the server's SETTINGS.
pub fn write_settings_ack(out: &mut Vec<u8>) {
    write_header(0, kind::SETTINGS, flag::ACK, 0, out);
}

/// Appends a WINDOW_UPDATE for `stream` (0: the connection). The
/// increment must be 1 to 2^31 - 1.
pub fn write_window_update(stream: u32, increment: u32, out: &mut Vec<u8>) {
    debug_assert!((1..=MAX_WINDOW).contains(&increment), "bad increment");
    write_header(4, kind::WINDOW_UPDATE, 0, stream, out);
    out.extend_from_slice(&increment.to_be_bytes());
}

/// Appends a PING.
pub fn write_ping(data: [u8; 8], out: &mut Vec<u8>) {
    write_header(8, kind::PING, 0, 0, out);
    out.extend_from_slice(&data);
}

/// Appends the reply to a server's PING, echoing its data.
pub fn write_ping_ack(data: [u8; 8], out: &mut Vec<u8>) {
    write_header(8, kind::PING, flag::ACK, 0, out);
    out.extend_from_slice(&data);
}

/// Appends a field block as a HEADERS frame, followed by as many
/// CONTINUATION frames as `max_frame_size` (the server's
/// `SETTINGS_MAX_FRAME_SIZE`) requires; END_STREAM goes on the HEADERS
/// frame (RFC 9113 §6.2), END_HEADERS on the last frame.
pub fn write_headers(
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
    out: &mut Vec<u8>,
) {
    let max = max_frame_size.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE) as usize;
    let mut chunks = block.chunks(max);
    let first = chunks.next().unwrap_or_default();
    let mut rest = chunks.peekable();
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if rest.peek().is_none() {
        flags |= flag::END_HEADERS;
    }
    write_header(first.len(), kind::HEADERS, flags, stream, out);
    out.extend_from_slice(first);
    while let Some(chunk) = rest.next() {
        let flags = if rest.peek().is_none() {
            flag::END_HEADERS
        } else {
            0
        };
        write_header(chunk.len(), kind::CONTINUATION, flags, stream, out);
        out.extend_from_slice(chunk);
    }
}

/// Appends one DATA frame, unpadded. The caller keeps `data` within the
/// server's `SETTINGS_MAX_FRAME_SIZE` and the flow-control windows.
///
/// # Panics
///
/// If `data` is longer than any frame can be (2^24 - 1 bytes).
pub fn write_data(stream: u32, data: &[u8], end_stream: bool, out: &mut Vec<u8>) {
    let flags = if end_stream { flag::END_STREAM } else { 0 };
    write_header(data.len(), kind::DATA, flags, stream, out);
    out.extend_from_slice(data);
}

/// Appends an RST_STREAM ending `stream` with `code`.
pub fn write_rst_stream(stream: u32, code: ErrorCode, out: &mut Vec<u8>) {
    write_header(4, kind::RST_STREAM, 0, stream, out);
    out.extend_from_slice(&u32::from(code).to_be_bytes());
}

/// Appends a GOAWAY: `last_stream` is the highest stream (of the server's:
/// 0 for a client that accepts no push) that may have been processed.
///
/// # Panics
///
/// If `debug` is longer than a frame can hold.
pub fn write_goaway(last_stream: u32, code: ErrorCode, debug: &[u8], out: &mut Vec<u8>) {
    write_header(8 + debug.len(), kind::GOAWAY, 0, 0, out);
    out.extend_from_slice(&last_stream.to_be_bytes());
    out.extend_from_slice(&u32::from(code).to_be_bytes());
    out.extend_from_slice(debug);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u32 = DEFAULT_MAX_FRAME_SIZE;
    const END_STREAM: u8 = flag::END_STREAM;
    const END_HEADERS: u8 = flag::END_HEADERS;
    const PADDED: u8 = flag::PADDED;
    const PRIORITY: u8 = flag::PRIORITY;
    const ACK: u8 = flag::ACK;

    /// A frame's bytes from its parts, built without the writers.
    fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        let mut v = vec![len[1], len[2], len[3], kind, flags];
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// Parses `bytes`, one whole frame, three ways: at once; every shorter
    /// prefix, as it would arrive byte by byte (`Partial`, unless the header
    /// already shows the frame too large); and followed by another frame
    /// (the same outcome, consuming only its own bytes).
    fn three_ways(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
        let whole = decode_frame(bytes, MAX);
        for k in 0..bytes.len() {
            let prefix = decode_frame(&bytes[..k], MAX);
            match whole {
                Err(FrameError::TooLarge) if k >= HEADER_LEN => assert_eq!(prefix, whole),
                _ => assert_eq!(prefix, Ok(Parsed::Partial), "prefix of {k} bytes"),
            }
        }
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&raw(kind::PING, 0, 0, &[7; 8]));
        let trailing = decode_frame(&longer, MAX);
        match whole {
            Ok(Parsed::Complete(frame, len)) => {
                assert_eq!(len, bytes.len(), "consumed");
                assert_eq!(trailing, Ok(Parsed::Complete(frame, len)), "with trailing");
                Ok(frame)
            }
            Ok(Parsed::Partial) => panic!("{} bytes are not a whole frame", bytes.len()),
            Err(e) => {
                assert_eq!(trailing, Err(e), "with trailing");
                Err(e)
            }
        }
    }

    /// One test per case: a frame's bytes, parsed three ways, and the
    /// outcome.
    macro_rules! cases {
        ($($name:ident: $bytes:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                let bytes: Vec<u8> = $bytes;
                assert_eq!(three_ways(&bytes), $expected);
            }
        )*};
    }

    fn data(stream: u32, end_stream: bool, data: &[u8], flow_len: u32) -> Frame<'_> {
        Frame::Data {
            stream,
            end_stream,
            data,
            flow_len,
        }
    }

    fn headers(stream: u32, end_stream: bool, end_headers: bool, block: &[u8]) -> Frame<'_> {
        Frame::Headers {
            stream,
            end_stream,
            end_headers,
            block,
        }
    }

    fn push_promise(stream: u32, promised: u32, end_headers: bool, block: &[u8]) -> Frame<'_> {
        Frame::PushPromise {
            stream,
            promised,
            end_headers,
            block,
        }
    }

    fn settings(payload: &[u8], ack: bool) -> Frame<'_> {
        Frame::Settings {
            ack,
            params: SettingsParams(payload),
        }
    }

    /// SETTINGS parameters as bytes.
    fn params(list: &[(u16, u32)]) -> Vec<u8> {
        list.iter()
            .flat_map(|&(id, v)| [&id.to_be_bytes()[..], &v.to_be_bytes()[..]].concat())
            .collect()
    }

    use FrameError::{BadLength, NotStreamZero, Padding, StreamZero};
    use kind::{
        CONTINUATION, DATA, GOAWAY, HEADERS, PING, PUSH_PROMISE, RST_STREAM, SETTINGS,
        WINDOW_UPDATE,
    };

    cases! {
        data_frame: raw(DATA, END_STREAM, 1, b"hello") => Ok(data(1, true, b"hello", 5));
        data_empty: raw(DATA, 0, 3, b"") => Ok(data(3, false, b"", 0));
        data_padded: raw(DATA, PADDED, 3, b"\x02hi\0\0") => Ok(data(3, false, b"hi", 5));
        data_padding_fills_the_payload: raw(DATA, PADDED, 1, b"\x04abcd")
            => Ok(data(1, false, b"", 5));
        data_padding_too_long: raw(DATA, PADDED, 1, b"\x05abcd") => Err(Padding { kind: DATA });
        data_padded_without_pad_length: raw(DATA, PADDED, 1, b"") => Err(BadLength { kind: DATA });
        data_on_stream_zero: raw(DATA, 0, 0, b"x") => Err(StreamZero { kind: DATA });
        data_reserved_bit_masked: raw(DATA, 0, 0x8000_0001, b"x") => Ok(data(1, false, b"x", 1));
        data_at_max_frame_size: raw(DATA, 0, 1, &[b'x'; MAX as usize])
            => Ok(data(1, false, &[b'x'; MAX as usize], MAX));
        data_above_max_frame_size: raw(DATA, 0, 1, &[0; MAX as usize + 1])
            => Err(FrameError::TooLarge);
        unknown_above_max_frame_size: raw(0xee, 0, 0, &[0; MAX as usize + 1])
            => Err(FrameError::TooLarge);

        headers_frame: raw(HEADERS, END_STREAM | END_HEADERS, 1, b"\x88")
            => Ok(headers(1, true, true, b"\x88"));
        headers_without_end_headers: raw(HEADERS, 0, 1, b"\x88")
            => Ok(headers(1, false, false, b"\x88"));
        headers_padded_with_priority: raw(HEADERS, PADDED | PRIORITY | END_HEADERS, 5,
            b"\x01\x80\0\0\x03\x0f\x88\x84\0") => Ok(headers(5, false, true, b"\x88\x84"));
        headers_priority_only: raw(HEADERS, PRIORITY | END_HEADERS, 5, b"\0\0\0\x03\x0f\x88")
            => Ok(headers(5, false, true, b"\x88"));
        headers_priority_too_short: raw(HEADERS, PRIORITY, 1, b"\0\0\0\x03")
            => Err(BadLength { kind: HEADERS });
        headers_padding_eats_priority: raw(HEADERS, PADDED | PRIORITY, 1, b"\x01\0\0\0\x03\x0f")
            => Err(Padding { kind: HEADERS });
        headers_padding_too_long: raw(HEADERS, PADDED, 1, b"\x03\x88\0")
            => Err(Padding { kind: HEADERS });
        headers_depending_on_itself: raw(HEADERS, PRIORITY, 3, b"\x80\0\0\x03\x0f")
            => Err(FrameError::SelfDependency);
        headers_on_stream_zero: raw(HEADERS, END_HEADERS, 0, b"\x88")
            => Err(StreamZero { kind: HEADERS });

        priority_frame: raw(kind::PRIORITY, 0, 3, b"\0\0\0\x01\x10")
            => Ok(Frame::Priority { stream: 3 });
        priority_bad_length: raw(kind::PRIORITY, 0, 3, b"\0\0\0\x01")
            => Err(BadLength { kind: kind::PRIORITY });
        priority_depending_on_itself: raw(kind::PRIORITY, 0, 3, b"\0\0\0\x03\x10")
            => Err(FrameError::SelfDependency);
        priority_on_stream_zero: raw(kind::PRIORITY, 0, 0, b"\0\0\0\x01\x10")
            => Err(StreamZero { kind: kind::PRIORITY });

        rst_stream_refused: raw(RST_STREAM, 0, 1, b"\0\0\0\x07")
            => Ok(Frame::RstStream { stream: 1, code: ErrorCode::RefusedStream });
        rst_stream_unknown_code: raw(RST_STREAM, 0, 1, b"\0\0\0\x1f")
            => Ok(Frame::RstStream { stream: 1, code: ErrorCode::Unknown(0x1f) });
        rst_stream_short: raw(RST_STREAM, 0, 1, b"\0\0\x07") => Err(BadLength { kind: RST_STREAM });
        rst_stream_long: raw(RST_STREAM, 0, 1, b"\0\0\0\x07\0")
            => Err(BadLength { kind: RST_STREAM });
        rst_stream_on_stream_zero: raw(RST_STREAM, 0, 0, b"\0\0\0\x07")
            => Err(StreamZero { kind: RST_STREAM });

        settings_frame: raw(SETTINGS, 0, 0, &params(&[(3, 100), (4, 65_535), (0xabc, 7)]))
            => Ok(settings(&params(&[(3, 100), (4, 65_535), (0xabc, 7)]), false));
        settings_empty: raw(SETTINGS, 0, 0, b"") => Ok(settings(b"", false));
        settings_ack: raw(SETTINGS, ACK, 0, b"") => Ok(settings(b"", true));
        settings_ack_with_payload: raw(SETTINGS, ACK, 0, &params(&[(3, 1)]))
            => Err(BadLength { kind: SETTINGS });
        settings_not_a_multiple_of_6: raw(SETTINGS, 0, 0, &[0; 7])
            => Err(BadLength { kind: SETTINGS });
        settings_on_a_stream: raw(SETTINGS, 0, 1, b"") => Err(NotStreamZero { kind: SETTINGS });
        settings_limits_accepted: raw(SETTINGS, 0, 0, &params(&[(2, 0), (2, 1), (4, MAX_WINDOW),
            (5, DEFAULT_MAX_FRAME_SIZE), (5, MAX_MAX_FRAME_SIZE)]))
            => Ok(settings(&params(&[(2, 0), (2, 1), (4, MAX_WINDOW),
                (5, DEFAULT_MAX_FRAME_SIZE), (5, MAX_MAX_FRAME_SIZE)]), false));
        settings_enable_push_2: raw(SETTINGS, 0, 0, &params(&[(2, 2)]))
            => Err(FrameError::InvalidSetting { id: setting::ENABLE_PUSH });
        settings_window_above_2_31: raw(SETTINGS, 0, 0, &params(&[(4, MAX_WINDOW + 1)]))
            => Err(FrameError::InvalidSetting { id: setting::INITIAL_WINDOW_SIZE });
        settings_frame_size_too_small:
            raw(SETTINGS, 0, 0, &params(&[(5, DEFAULT_MAX_FRAME_SIZE - 1)]))
            => Err(FrameError::InvalidSetting { id: setting::MAX_FRAME_SIZE });
        settings_frame_size_too_large: raw(SETTINGS, 0, 0, &params(&[(5, MAX_MAX_FRAME_SIZE + 1)]))
            => Err(FrameError::InvalidSetting { id: setting::MAX_FRAME_SIZE });

        push_promise_frame: raw(PUSH_PROMISE, END_HEADERS, 1, b"\x80\0\0\x02\x82")
            => Ok(push_promise(1, 2, true, b"\x82"));
        push_promise_padded: raw(PUSH_PROMISE, PADDED, 1, b"\x01\0\0\0\x02\x82\0")
            => Ok(push_promise(1, 2, false, b"\x82"));
        push_promise_short: raw(PUSH_PROMISE, 0, 1, b"\0\0\x02")
            => Err(BadLength { kind: PUSH_PROMISE });
        push_promise_padding_too_long: raw(PUSH_PROMISE, PADDED, 1, b"\x02\0\0\0\x02\x82")
            => Err(Padding { kind: PUSH_PROMISE });
        push_promise_on_stream_zero: raw(PUSH_PROMISE, 0, 0, b"\0\0\0\x02")
            => Err(StreamZero { kind: PUSH_PROMISE });

        ping_frame: raw(PING, 0, 0, b"12345678")
            => Ok(Frame::Ping { ack: false, data: *b"12345678" });
        ping_ack: raw(PING, ACK, 0, b"12345678")
            => Ok(Frame::Ping { ack: true, data: *b"12345678" });
        ping_short: raw(PING, 0, 0, b"1234567") => Err(BadLength { kind: PING });
        ping_long: raw(PING, 0, 0, b"123456789") => Err(BadLength { kind: PING });
        ping_on_a_stream: raw(PING, 0, 1, b"12345678") => Err(NotStreamZero { kind: PING });

        goaway_frame: raw(GOAWAY, 0, 0, b"\x80\0\0\x05\0\0\0\0bye")
            => Ok(Frame::GoAway { last_stream: 5, code: ErrorCode::NoError, debug: b"bye" });
        goaway_without_debug_data: raw(GOAWAY, 0, 0, b"\0\0\0\0\0\0\0\x0b")
            => Ok(Frame::GoAway { last_stream: 0, code: ErrorCode::EnhanceYourCalm, debug: b"" });
        goaway_short: raw(GOAWAY, 0, 0, b"\0\0\0\x05\0\0\0") => Err(BadLength { kind: GOAWAY });
        goaway_on_a_stream: raw(GOAWAY, 0, 3, b"\0\0\0\x05\0\0\0\0")
            => Err(NotStreamZero { kind: GOAWAY });

        window_update_connection: raw(WINDOW_UPDATE, 0, 0, b"\0\x01\0\0")
            => Ok(Frame::WindowUpdate { stream: 0, increment: 65_536 });
        window_update_stream_reserved_bit_masked: raw(WINDOW_UPDATE, 0, 7, b"\xff\xff\xff\xff")
            => Ok(Frame::WindowUpdate { stream: 7, increment: MAX_WINDOW });
        window_update_zero: raw(WINDOW_UPDATE, 0, 0, b"\0\0\0\0") => Err(FrameError::ZeroIncrement);
        window_update_zero_but_reserved_bit: raw(WINDOW_UPDATE, 0, 1, b"\x80\0\0\0")
            => Err(FrameError::ZeroIncrement);
        window_update_short: raw(WINDOW_UPDATE, 0, 0, b"\0\0\x01")
            => Err(BadLength { kind: WINDOW_UPDATE });
        window_update_long: raw(WINDOW_UPDATE, 0, 0, b"\0\0\0\x01\0")
            => Err(BadLength { kind: WINDOW_UPDATE });

        continuation_frame: raw(CONTINUATION, END_HEADERS, 1, b"\x88")
            => Ok(Frame::Continuation { stream: 1, end_headers: true, block: b"\x88" });
        continuation_empty: raw(CONTINUATION, 0, 1, b"")
            => Ok(Frame::Continuation { stream: 1, end_headers: false, block: b"" });
        continuation_on_stream_zero: raw(CONTINUATION, 0, 0, b"\x88")
            => Err(StreamZero { kind: CONTINUATION });

        unknown_type: raw(0xfa, 0xff, 7, b"whatever") => Ok(Frame::Unknown { kind: 0xfa });
        unknown_type_on_stream_zero: raw(0x0a, 0, 0, b"") => Ok(Frame::Unknown { kind: 0x0a });
    }

    #[test]
    fn header_fields() {
        assert_eq!(parse_header(&[0; 8]), None);
        assert_eq!(
            parse_header(b"\x01\x02\x03\x04\x05\xff\xff\xff\xffrest"),
            Some(FrameHeader {
                len: 0x01_0203,
                kind: 4,
                flags: 5,
                stream: MAX_WINDOW
            })
        );
    }

    #[test]
    fn a_larger_advertised_frame_size_admits_larger_frames() {
        let big = raw(DATA, 0, 1, &[0; 100_000]);
        assert_eq!(decode_frame(&big, MAX), Err(FrameError::TooLarge));
        let Ok(Parsed::Complete(Frame::Data { data, .. }, len)) =
            decode_frame(&big, MAX_MAX_FRAME_SIZE)
        else {
            panic!("not parsed");
        };
        assert_eq!((data.len(), len), (100_000, 100_009));
    }

    #[test]
    fn settings_params_iterate_in_order() {
        let list = [(1, 0), (3, 100), (4, 1 << 30), (0xabc, u32::MAX)];
        let bytes = raw(SETTINGS, 0, 0, &params(&list));
        let Ok(Frame::Settings { ack: false, params }) = three_ways(&bytes) else {
            panic!("not settings");
        };
        assert_eq!(params.iter().collect::<Vec<_>>(), list);
        assert_eq!(params.as_bytes().len(), 24);
    }

    /// Parses every frame of `buf` in turn.
    fn all_frames(buf: &[u8], max: u32) -> Vec<Frame<'_>> {
        let (mut frames, mut at) = (vec![], 0);
        while let Parsed::Complete(frame, len) = decode_frame(&buf[at..], max).unwrap() {
            frames.push(frame);
            at += len;
        }
        assert_eq!(at, buf.len(), "left over");
        frames
    }

    #[test]
    fn writers_round_trip() {
        let mut out = vec![];
        let list = [
            (setting::ENABLE_PUSH, 0),
            (setting::INITIAL_WINDOW_SIZE, MAX_WINDOW),
        ];
        write_settings(&list, &mut out);
        write_settings_ack(&mut out);
        write_window_update(0, 1, &mut out);
        write_window_update(5, MAX_WINDOW, &mut out);
        write_ping(*b"pingdata", &mut out);
        write_ping_ack(*b"12345678", &mut out);
        write_data(1, b"body", true, &mut out);
        write_data(3, b"", false, &mut out);
        write_rst_stream(3, ErrorCode::Cancel, &mut out);
        write_rst_stream(3, ErrorCode::Unknown(0x99), &mut out);
        write_goaway(0, ErrorCode::NoError, b"", &mut out);
        write_goaway(7, ErrorCode::ProtocolError, b"why", &mut out);
        write_headers(1, b"\x82\x87", false, MAX, &mut out);
        let frames = all_frames(&out, MAX);
        let Frame::Settings { ack: false, params } = frames[0] else {
            panic!("{:?}", frames[0]);
        };
        assert_eq!(params.iter().collect::<Vec<_>>(), list);
        assert_eq!(
            frames[1..],
            [
                settings(b"", true),
                Frame::WindowUpdate {
                    stream: 0,
                    increment: 1
                },
                Frame::WindowUpdate {
                    stream: 5,
                    increment: MAX_WINDOW
                },
                Frame::Ping {
                    ack: false,
                    data: *b"pingdata"
                },
                Frame::Ping {
                    ack: true,
                    data: *b"12345678"
                },
                data(1, true, b"body", 4),
                data(3, false, b"", 0),
                Frame::RstStream {
                    stream: 3,
                    code: ErrorCode::Cancel
                },
                Frame::RstStream {
                    stream: 3,
                    code: ErrorCode::Unknown(0x99)
                },
                Frame::GoAway {
                    last_stream: 0,
                    code: ErrorCode::NoError,
                    debug: b""
                },
                Frame::GoAway {
                    last_stream: 7,
                    code: ErrorCode::ProtocolError,
                    debug: b"why"
                },
                headers(1, false, true, b"\x82\x87"),
            ]
        );
    }

    #[test]
    fn large_header_blocks_continue_in_continuation_frames() {
        let block: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        for (max, end_stream, sizes) in [
            (MAX, true, &[16_384, 16_384, 7_232][..]),
            (1, false, &[16_384, 16_384, 7_232][..]), // below the minimum: the minimum
            (20_000, false, &[20_000, 20_000][..]),
            (40_000, true, &[40_000][..]),
        ] {
            let mut out = vec![];
            write_headers(9, &block, end_stream, max, &mut out);
            let frames = all_frames(&out, MAX_MAX_FRAME_SIZE);
            assert_eq!(frames.len(), sizes.len());
            let mut joined = vec![];
            for (i, frame) in frames.iter().enumerate() {
                let last = i + 1 == frames.len();
                let fragment = match *frame {
                    Frame::Headers {
                        stream: 9,
                        end_stream: es,
                        end_headers,
                        block,
                    } if i == 0 => {
                        assert_eq!((es, end_headers), (end_stream, last));
                        block
                    }
                    Frame::Continuation {
                        stream: 9,
                        end_headers,
                        block,
                    } if i > 0 => {
                        assert_eq!(end_headers, last);
                        block
                    }
                    ref f => panic!("{i}: {f:?}"),
                };
                assert_eq!(fragment.len(), sizes[i]);
                joined.extend_from_slice(fragment);
            }
            assert_eq!(joined, block);
        }
        let mut out = vec![];
        write_headers(1, b"", true, MAX, &mut out);
        assert_eq!(all_frames(&out, MAX), [headers(1, true, true, b"")]);
    }

    #[test]
    fn preface_is_the_rfc_string() {
        assert_eq!(PREFACE.len(), 24);
        assert_eq!(&PREFACE[..], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    }

    #[test]
    #[should_panic(expected = "frame payload too long")]
    fn data_longer_than_any_frame_panics() {
        write_data(1, &vec![0; 1 << 24], false, &mut vec![]);
    }
}
