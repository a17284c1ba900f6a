//! HPACK, HTTP/2's header compression (RFC 7541), written for volley's
//! needs and for hostile input: the [`Decoder`] is complete (both tables,
//! size updates, Huffman) and fails cleanly on any malformed block; the
//! encoder writes a request's block once per target (and a response head
//! once per status, for the built-in server), statelessly.

mod decode;
mod encode;
mod huffman;
mod table;

pub use decode::Decoder;
pub use encode::{encode_http1, encode_request, encode_response};

/// The initial `SETTINGS_HEADER_TABLE_SIZE` (RFC 9113 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// Bytes from hexadecimal digits, ignoring whitespace, as RFC 7541 prints
/// its examples.
#[cfg(test)]
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|d| u8::from_str_radix(std::str::from_utf8(d).unwrap(), 16).unwrap())
        .collect()
}
