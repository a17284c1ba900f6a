//! A server's bytes fed to an HTTP/2 connection in arbitrary pieces give
//! the same events, and the connection writes the same bytes, as when
//! they are fed at once; either way every stream ends exactly once.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use volley_core::fuzzing::{h2_conn, pieces};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Streams opened before the server's bytes (at most 255).
    streams: u8,
    /// Lengths of the pieces; the rest of `bytes` is the last piece.
    splits: Vec<u16>,
    bytes: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let whole = h2_conn(input.streams, &[input.bytes]);
    let split = h2_conn(input.streams, &pieces(input.bytes, &input.splits));
    assert_eq!(whole, split, "splits {:?}", input.splits);
});
