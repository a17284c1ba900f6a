//! Any bytes as a chunked body: never consumes more than it was given, and
//! feeding in two pieces ends the same way as feeding at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use volley_core::ParseError;
use volley_core::body::{BodyDecoder, Framing};

/// Feeds `pieces` in turn; (total consumed, done) or the first error.
fn feed(pieces: &[&[u8]]) -> Result<(usize, bool), ParseError> {
    let mut d = BodyDecoder::new(Framing::Chunked);
    let mut total = 0;
    for piece in pieces {
        let r = d.feed(piece)?;
        assert!(r.consumed <= piece.len());
        assert!(
            r.done || r.consumed == piece.len(),
            "unfinished body left input unread"
        );
        total += r.consumed;
        if r.done {
            break;
        }
    }
    Ok((total, d.is_done()))
}

fuzz_target!(|input: (u16, &[u8])| {
    let (at, data) = input;
    let (a, b) = data.split_at(usize::from(at) % (data.len() + 1));
    assert_eq!(feed(&[data]), feed(&[a, b]), "split at {}", a.len());
});
