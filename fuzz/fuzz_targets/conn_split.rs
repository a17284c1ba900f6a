//! A response fed in arbitrary pieces ends the same way, at the same byte,
//! as the same response fed at once.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use volley_core::ParseError;
use volley_core::fuzzing::{Conn, Feed};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    head_request: bool,
    /// Lengths of the pieces; the rest of `bytes` is the last piece.
    splits: Vec<u16>,
    bytes: &'a [u8],
}

/// Feeds the pieces until the first `Done` or error: where the response
/// ended, its status and keep-alive; `None` while it is incomplete.
fn run(pieces: &[&[u8]], head_request: bool) -> Result<Option<(usize, u16, bool)>, ParseError> {
    let (mut conn, mut fed) = (Conn::new(), 0);
    for piece in pieces {
        fed += piece.len();
        if let Feed::Done {
            status,
            keep_alive,
            trailing,
        } = conn.feed(piece, head_request)?
        {
            return Ok(Some((fed - trailing, status, keep_alive)));
        }
    }
    Ok(None)
}

fuzz_target!(|input: Input<'_>| {
    let mut pieces = vec![input.bytes];
    for &n in &input.splits {
        let rest = pieces.pop().unwrap_or_default();
        let (piece, rest) = rest.split_at(usize::from(n).min(rest.len()));
        pieces.extend([piece, rest]);
    }
    let whole = run(&[input.bytes], input.head_request);
    let mut split = run(&pieces, input.head_request);
    if let (Err(ParseError::Head(_) | ParseError::TooManyHeaders), Ok(None)) = (whole, split) {
        // A head that arrives in pieces is parsed again only when a piece may
        // end it, or the buffer has doubled (conn.rs, take_head), so a bad
        // line may be noticed a read later: a blank line must bring it out.
        pieces.push(b"\r\n\r\n");
        split = run(&pieces, input.head_request);
    }
    let kind = |r: Result<_, ParseError>| r.map_err(|e| std::mem::discriminant(&e));
    assert_eq!(
        kind(whole),
        kind(split),
        "pieces {:?}",
        pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
    );
});
