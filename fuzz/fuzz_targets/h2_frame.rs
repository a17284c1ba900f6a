//! Any bytes as HTTP/2 frames, parsed one after another until one is
//! partial or an error: no panic, each frame consumes its header and no
//! more than is left, and one byte less of it is `Partial`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use volley_core::h2::frame::{DEFAULT_MAX_FRAME_SIZE, HEADER_LEN, MAX_MAX_FRAME_SIZE};
use volley_core::h2::{Parsed, decode_frame};

fuzz_target!(|data: &[u8]| {
    for max in [DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE] {
        let mut rest = data;
        while let Ok(Parsed::Complete(_, len)) = decode_frame(rest, max) {
            assert!((HEADER_LEN..=rest.len()).contains(&len), "{len}");
            assert_eq!(decode_frame(&rest[..len - 1], max), Ok(Parsed::Partial));
            rest = &rest[len..];
        }
    }
});
