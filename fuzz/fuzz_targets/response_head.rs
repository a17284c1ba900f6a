//! Any bytes as a response head: no panic, and a complete head lies within
//! the input and the size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use volley_core::MAX_HEAD_BYTES;
use volley_core::response::parse_head;

fuzz_target!(|data: &[u8]| {
    for head_request in [false, true] {
        if let Ok(Some(h)) = parse_head(data, head_request) {
            assert!(h.len <= data.len() && h.len <= MAX_HEAD_BYTES, "{h:?}");
        }
    }
});
