//! Request heads: parsing with httparse, and the framing of request bodies.
//!
//! The server only needs to know where one request ends and the next
//! begins, and how to answer it: whether the connection stays open, whether
//! the answer carries a body, and whether the client waits for
//! `100 Continue`. Bodies themselves are skipped, never stored.

/// Most header fields accepted in one request head; more get `431`.
pub const MAX_HEADERS: usize = 64;
/// Largest request head accepted, in bytes; larger gets `431`.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A parsed request head, as far as the server cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// Bytes of the head, up to and including the empty line.
    pub(crate) len: usize,
    /// A HEAD request: answer without body.
    pub(crate) head: bool,
    pub(crate) http10: bool,
    pub(crate) keep_alive: bool,
    /// Content-Length of the request body.
    pub(crate) body: u64,
    /// Any Transfer-Encoding, which this server does not decode.
    pub(crate) chunked: bool,
    pub(crate) expect_continue: bool,
}

/// The outcome of parsing the front of the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Request(Head),
    /// Not a whole head yet: keep the bytes and parse again with more.
    Partial,
    /// More than [`MAX_HEADERS`] fields.
    TooLarge,
    /// Not HTTP/1.x, or an invalid Content-Length.
    Bad,
}

/// Parses one request head from the front of `buf`.
///
/// Body framing follows RFC 9112 §6.3 for requests: Transfer-Encoding
/// (any) overrides Content-Length and is reported as `chunked`; several
/// Content-Length values must agree; no length means no body.
pub(crate) fn parse_head(buf: &[u8]) -> Parsed {
    let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::TooLarge,
        Err(_) => return Parsed::Bad,
    };
    let version = req.version.unwrap_or(1);
    let mut head = Head {
        len,
        head: req.method == Some("HEAD"),
        http10: version == 0,
        keep_alive: keep_alive(version, req.headers),
        body: 0,
        chunked: false,
        expect_continue: false,
    };
    let mut length: Option<u64> = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            for part in h.value.split(|&b| b == b',') {
                match (parse_decimal(trim(part)), length) {
                    (None, _) => return Parsed::Bad,
                    (Some(n), Some(prev)) if n != prev => return Parsed::Bad,
                    (n, _) => length = n,
                }
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = true;
        } else if h.name.eq_ignore_ascii_case("expect") {
            head.expect_continue = trim(h.value).eq_ignore_ascii_case(b"100-continue");
        }
    }
    head.body = length.unwrap_or(0);
    Parsed::Request(head)
}

/// Whether the client lets the connection persist after this request
/// (RFC 9112 §9.3): HTTP/1.0 only with a `keep-alive` connection option,
/// HTTP/1.1 unless it sends `close`.
fn keep_alive(version: u8, headers: &[httparse::Header<'_>]) -> bool {
    let mut close = false;
    let mut keep = false;
    for h in headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
    {
        for option in h.value.split(|&b| b == b',').map(trim) {
            close |= option.eq_ignore_ascii_case(b"close");
            keep |= option.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    if version == 0 { keep && !close } else { !close }
}

/// `s` without the optional whitespace (spaces and tabs) around a field
/// value or list element.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// A Content-Length value: one or more ASCII digits. More than 19 digits
/// is refused, so the number always fits a `u64`.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_with_framing() {
        let Parsed::Request(h) = parse_head(b"GET / HTTP/1.0\r\ncontent-length: 4, 4\r\n\r\nbody")
        else {
            panic!("not a request")
        };
        assert_eq!(
            (h.len, h.body, h.http10, h.keep_alive, h.head),
            (40, 4, true, false, false)
        );
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost"), Parsed::Partial);
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n"),
            Parsed::Bad
        );
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            Parsed::Bad
        );
        assert_eq!(parse_head(b"GET / HTTP/2.0\r\n\r\n"), Parsed::Bad);
    }

    fn request(head: &str) -> Head {
        match parse_head(head.as_bytes()) {
            Parsed::Request(h) => h,
            other => panic!("{head:?} gave {other:?}"),
        }
    }

    #[test]
    fn keep_alive_follows_version_and_connection_options() {
        for (head, keep) in [
            ("GET / HTTP/1.1\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
            (
                "GET / HTTP/1.1\r\nConnection: Upgrade , CLOSE\r\n\r\n",
                false,
            ),
            ("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection:\tKeep-Alive \r\n\r\n", true),
            (
                "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
                false,
            ),
        ] {
            assert_eq!(request(head).keep_alive, keep, "{head:?}");
        }
    }

    #[test]
    fn body_and_expect_fields() {
        let h = request("POST / HTTP/1.1\r\nExpect:  100-Continue\t\r\nContent-Length: 12\r\n\r\n");
        assert_eq!((h.body, h.expect_continue, h.chunked), (12, true, false));
        let h = request("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert!(h.chunked);
        assert!(request("HEAD / HTTP/1.1\r\n\r\n").head);
        let longest = format!(
            "GET / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            u64::MAX / 10
        );
        assert_eq!(request(&longest).body, u64::MAX / 10);
        for bad in ["", " ", "1 2", "+1", "12345678901234567890"] {
            let head = format!("GET / HTTP/1.1\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(parse_head(head.as_bytes()), Parsed::Bad, "{bad:?}");
        }
    }
}
