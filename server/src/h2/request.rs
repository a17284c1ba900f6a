//! A request's header block: decoded with the connection's HPACK decoder,
//! and checked as far as the server cares.

use volley_core::h2::HpackError;
use volley_core::h2::hpack::Decoder;

use super::fault::Fault;

/// What the server needs of a request head.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RequestHead {
    /// A HEAD request: answered without the body.
    pub(super) head_only: bool,
    /// `expect: 100-continue`: a `100` head goes first.
    pub(super) expect_continue: bool,
    /// Broke RFC 9113 §8.1.1: reset with `PROTOCOL_ERROR`.
    pub(super) malformed: bool,
    /// Over the decoder's header list limit: answered `431`.
    pub(super) too_large: bool,
}

/// Decodes a request's header block and checks it (RFC 9113 §8.1.1, §8.2,
/// §8.3.1): the pseudo-header fields are known, come first and come once,
/// `:method` is there and `:scheme` and `:path` too (but for CONNECT);
/// names are lowercase and none is connection-specific. A block the
/// decoder cannot decode is the connection's fault; a malformed request is
/// the stream's.
pub(super) fn decode_request(decoder: &mut Decoder, block: &[u8]) -> Result<RequestHead, Fault> {
    let mut head = RequestHead::default();
    let (mut method, mut scheme, mut path, mut connect) = (false, false, false, false);
    let mut regular = false;
    let r = decoder.decode(block, |name, value| {
        if let Some(pseudo) = name.strip_prefix(b":") {
            let seen = match pseudo {
                b"method" => {
                    head.head_only = value == b"HEAD";
                    connect = value == b"CONNECT";
                    &mut method
                }
                b"scheme" => &mut scheme,
                b"path" => {
                    head.malformed |= value.is_empty();
                    &mut path
                }
                b"authority" => return,
                _ => {
                    head.malformed = true;
                    return;
                }
            };
            head.malformed |= regular || std::mem::replace(seen, true);
            return;
        }
        regular = true;
        head.malformed |= name.iter().any(u8::is_ascii_uppercase)
            || matches!(
                name,
                b"connection"
                    | b"keep-alive"
                    | b"proxy-connection"
                    | b"transfer-encoding"
                    | b"upgrade"
            )
            || (name == b"te" && value != b"trailers");
        if name == b"expect" && value.eq_ignore_ascii_case(b"100-continue") {
            head.expect_continue = true;
        }
    });
    match r {
        Ok(()) => {}
        Err(HpackError::HeaderListTooLarge) => head.too_large = true,
        Err(e) => return Err(Fault::Hpack(e)),
    }
    // CONNECT has neither :scheme nor :path (§8.5).
    let complete = method && (connect || (scheme && path));
    head.malformed |= !complete;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use volley_core::h2::hpack::{DEFAULT_TABLE_SIZE, encode_request};

    use super::*;

    /// A block of literal fields, without indexing (RFC 7541 §6.2.2);
    /// names and values shorter than 127 bytes.
    fn literal(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut b = Vec::new();
        for (n, v) in fields {
            b.push(0);
            b.push(n.len() as u8);
            b.extend_from_slice(n.as_bytes());
            b.push(v.len() as u8);
            b.extend_from_slice(v.as_bytes());
        }
        b
    }

    /// Checks `block` with a header list limit of 1,000 bytes.
    fn check(block: &[u8]) -> RequestHead {
        check_within(1_000, block)
    }

    fn check_within(limit: usize, block: &[u8]) -> RequestHead {
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, limit);
        decode_request(&mut d, block).expect("decodes")
    }

    #[test]
    fn requests_that_are_well_formed() {
        let mut block = Vec::new();
        let headers = [("expect", "100-Continue")];
        encode_request("HEAD", "http", "h", "/x", &headers, &mut block);
        let h = check(&block);
        assert!(h.head_only && h.expect_continue && !h.malformed && !h.too_large);
        let h = check(&literal(&[(":method", "CONNECT"), (":authority", "h:443")]));
        assert!(!h.malformed && !h.head_only);
    }

    #[test]
    fn malformed_requests() {
        let get = [(":method", "GET"), (":scheme", "http"), (":path", "/")];
        for (why, fields) in [
            ("no method", &[(":scheme", "http"), (":path", "/")][..]),
            ("no path", &get[..2]),
            ("empty path", &[get[0], get[1], (":path", "")]),
            ("twice", &[get[0], get[1], get[2], (":path", "/")]),
            ("late", &[get[0], get[1], ("a", "b"), get[2]]),
            ("unknown", &[get[0], get[1], get[2], (":status", "200")]),
            ("uppercase", &[get[0], get[1], get[2], ("A", "b")]),
            ("connection", &[get[0], get[1], get[2], ("connection", "x")]),
            ("te", &[get[0], get[1], get[2], ("te", "gzip")]),
        ] {
            assert!(check(&literal(fields)).malformed, "{why}");
        }
        assert!(!check(&literal(&get)).malformed);
    }

    #[test]
    fn a_long_list_is_too_large_and_a_broken_block_is_a_fault() {
        // Each field counts its name, its value and 32 (RFC 9113 §6.5.2).
        let h = check_within(
            200,
            &literal(&[(":method", "GET"), ("x", &"y".repeat(125))]),
        );
        assert!(!h.too_large);
        let h = check_within(
            200,
            &literal(&[(":method", "GET"), ("x", &"y".repeat(126))]),
        );
        assert!(h.too_large);
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, 200);
        assert_eq!(
            decode_request(&mut d, &[0xff, 0x7f]).map(|_| ()),
            Err(Fault::Hpack(HpackError::UnknownIndex))
        );
    }
}
