//! Any bytes as header blocks for one decoder with a 256-byte table, each
//! block a length byte and that many bytes: no panic, the table stays
//! within its size, and the fields reported stay within the list limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use volley_core::h2::hpack::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(256, 1024);
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (block, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        let mut list = 0;
        let _ = decoder.decode(block, |name, value| list += name.len() + value.len() + 32);
        assert!(list <= 1024 && decoder.table_size() <= 256, "{list}");
    }
});
