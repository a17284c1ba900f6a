//! The HPACK encoder volley needs: one request's header block, written
//! once per target, and one response head of the built-in server, written
//! once per status; without the dynamic table or Huffman coding, so every
//! block stands alone and can be sent on any connection, in any order.

use super::table::STATIC;

/// Header fields that are specific to an HTTP/1.1 connection and malformed
/// in HTTP/2 (RFC 9113 §8.2.2); `host` becomes `:authority` instead
/// (§8.3.1), and `te` is kept only as `te: trailers`.
const CONNECTION_SPECIFIC: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Appends the header block of a request to `out`: the pseudo-header
/// fields `:method`, `:scheme`, `:authority` and `:path` in that order,
/// then `headers` in their order with their names lowercased.
///
/// A field whose name and value are both in the static table is sent as
/// its index; one whose name is there, as a literal with that name's
/// index; any other, as a literal name and value; all literals are "without
/// indexing". A `host` header replaces `authority`, as a `Host` given by
/// the user replaces the default in HTTP/1.1. The fields RFC 9113 §8.2.2
/// forbids (`connection`, `keep-alive`, `proxy-connection`,
/// `transfer-encoding`, `upgrade`, and `te` other than `trailers`) are
/// left out.
///
/// Names are expected to be tokens and values free of CR, LF and NUL, as
/// [`crate::RequestTemplate`] checks them.
pub fn encode_request(
    method: &str,
    scheme: &str,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
    out: &mut Vec<u8>,
) {
    let authority = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map_or(authority, |&(_, value)| value);
    field(":method", method.as_bytes(), out);
    field(":scheme", scheme.as_bytes(), out);
    field(":authority", authority.as_bytes(), out);
    field(":path", path.as_bytes(), out);
    regular_fields(headers, out);
}

/// Appends the header block of a response head to `out`: `:status`, then
/// `headers` in their order with their names lowercased, encoded as
/// [`encode_request`] encodes a request's (the statuses of the static
/// table, 200, 204, 206, 304, 400, 404 and 500, as one byte; any other
/// as a literal with the name `:status` indexed), and without the fields
/// RFC 9113 §8.2.2 forbids.
///
/// `status` has three digits (RFC 9110 §15); in release builds a larger
/// number is sent as its last three.
pub fn encode_response(status: u16, headers: &[(&str, &str)], out: &mut Vec<u8>) {
    debug_assert!(
        (100..=999).contains(&status),
        "status {status} is not 3 digits"
    );
    let digit = |n: u16| b'0' + (n % 10) as u8;
    field(
        ":status",
        &[digit(status / 100), digit(status / 10), digit(status)],
        out,
    );
    regular_fields(headers, out);
}

/// The fields after the pseudo-header fields, without the
/// connection-specific ones.
fn regular_fields(headers: &[(&str, &str)], out: &mut Vec<u8>) {
    for &(name, value) in headers {
        if !is_connection_specific(name, value) {
            field(name, value.as_bytes(), out);
        }
    }
}

/// Appends the header block of the HTTP/1.1 request `request` (head and
/// body, as [`crate::RequestTemplate`] renders it) to `out`, as
/// [`encode_request`] would encode its parts with `scheme`, and returns the
/// offset of the body in `request`. `None` if `request` is not a complete
/// HTTP/1.1 request head, or has more fields than [`crate::MAX_HEADERS`].
///
/// One rendering serves both protocols: a target is rendered as HTTP/1.1
/// once (or, with placeholders, for each request) and re-encoded here, so
/// HTTP/2 sends exactly the fields HTTP/1.1 would, less those that are
/// specific to an HTTP/1.1 connection.
pub fn encode_http1(request: &[u8], scheme: &str, out: &mut Vec<u8>) -> Option<usize> {
    let mut fields = [httparse::EMPTY_HEADER; crate::MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    let httparse::Status::Complete(body) = parsed.parse(request).ok()? else {
        return None;
    };
    let (method, path) = (parsed.method?, parsed.path?);
    let host = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .unwrap_or_default();
    field(":method", method.as_bytes(), out);
    field(":scheme", scheme.as_bytes(), out);
    field(":authority", host.as_bytes(), out);
    field(":path", path.as_bytes(), out);
    for h in parsed.headers.iter() {
        let Ok(value) = std::str::from_utf8(h.value) else {
            continue;
        };
        if !is_connection_specific(h.name, value) {
            field(h.name, h.value, out);
        }
    }
    Some(body)
}

/// RFC 9113 §8.2.2's connection-specific fields, and `host`, which
/// `:authority` carries.
fn is_connection_specific(name: &str, value: &str) -> bool {
    (name.eq_ignore_ascii_case("te") && value != "trailers")
        || CONNECTION_SPECIFIC
            .iter()
            .any(|c| name.eq_ignore_ascii_case(c))
}

/// One field, as the static table allows (RFC 7541 §6.1, §6.2.2).
fn field(name: &str, value: &[u8], out: &mut Vec<u8>) {
    let same_name = |n: &str| n.eq_ignore_ascii_case(name);
    if let Some(i) = STATIC
        .iter()
        .position(|&(n, v)| same_name(n) && v.as_bytes() == value)
    {
        integer(i + 1, 0x80, 7, out);
        return;
    }
    match STATIC.iter().position(|&(n, _)| same_name(n)) {
        Some(i) => integer(i + 1, 0x00, 4, out),
        None => {
            out.push(0x00);
            integer(name.len(), 0x00, 7, out);
            out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
        }
    }
    integer(value.len(), 0x00, 7, out);
    out.extend_from_slice(value);
}

/// An integer with an N-bit prefix (RFC 7541 §5.1), the first byte's
/// other bits being `flags`.
pub(crate) fn integer(value: usize, flags: u8, prefix_bits: u8, out: &mut Vec<u8>) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::hpack::{DEFAULT_TABLE_SIZE, Decoder};

    fn encode(
        method: &str,
        scheme: &str,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut out = b"kept".to_vec();
        encode_request(method, scheme, authority, path, headers, &mut out);
        assert_eq!(&out[..4], b"kept", "appends");
        out.split_off(4)
    }

    /// Decodes a block with a fresh decoder, which must index nothing.
    fn decode(block: &[u8]) -> Vec<(String, String)> {
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, usize::MAX);
        let mut fields = vec![];
        d.decode(block, |n, v| {
            fields.push((
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            ));
        })
        .unwrap();
        assert_eq!(d.table_len(), 0, "nothing indexed");
        fields
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|&(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn get_https_uses_the_static_table() {
        let block = encode("GET", "https", "example.com", "/", &[]);
        let mut expected = vec![0x82, 0x87, 0x01, 11];
        expected.extend_from_slice(b"example.com");
        expected.push(0x84);
        assert_eq!(block, expected);
    }

    #[test]
    fn pseudo_headers_indexed_or_literal_with_indexed_name() {
        // :method POST = 3, :scheme http = 6, :path /index.html = 5.
        assert_eq!(
            encode("POST", "http", "", "/index.html", &[]),
            [0x83, 0x86, 0x81, 0x85]
        );
        // PUT and /x are not in the table: names 2 and 4, literal values.
        assert_eq!(
            encode("PUT", "http", "h", "/x", &[]),
            b"\x02\x03PUT\x86\x01\x01h\x04\x02/x"
        );
    }

    #[test]
    fn regular_headers() {
        let headers = [
            ("Accept-Encoding", "gzip, deflate"),
            ("User-Agent", "volley"),
            ("X-Custom-Name", "Mixed Case Value"),
            ("content-type", "application/json"),
        ];
        let block = encode("GET", "https", "example.com", "/", &headers);
        let mut expected = vec![0x82, 0x87, 0x01, 11];
        expected.extend_from_slice(b"example.com");
        expected.push(0x84);
        // accept-encoding: gzip, deflate is index 16, whole.
        expected.push(0x90);
        // user-agent is name 58: 15 on the 4-bit prefix, then 43.
        expected.extend_from_slice(b"\x0f\x2b\x06volley");
        // A name not in the table: literal, lowercased.
        expected.extend_from_slice(b"\x00\x0dx-custom-name\x10Mixed Case Value");
        // content-type is name 31: 15, then 16.
        expected.extend_from_slice(b"\x0f\x10\x10application/json");
        assert_eq!(block, expected);
        assert_eq!(
            decode(&block),
            owned(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "example.com"),
                (":path", "/"),
                ("accept-encoding", "gzip, deflate"),
                ("user-agent", "volley"),
                ("x-custom-name", "Mixed Case Value"),
                ("content-type", "application/json"),
            ])
        );
    }

    #[test]
    fn connection_specific_headers_are_left_out() {
        let headers = [
            ("Connection", "keep-alive"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("TE", "gzip"),
            ("te", "trailers"),
            ("accept", "*/*"),
        ];
        let block = encode("GET", "http", "a.example", "/", &headers);
        assert_eq!(
            decode(&block),
            owned(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "a.example"),
                (":path", "/"),
                ("te", "trailers"),
                ("accept", "*/*"),
            ])
        );
    }

    #[test]
    fn host_becomes_the_authority() {
        let headers = [("accept", "*/*"), ("Host", "override.example:8443")];
        let block = encode("GET", "https", "default.example", "/", &headers);
        assert_eq!(
            decode(&block),
            owned(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "override.example:8443"),
                (":path", "/"),
                ("accept", "*/*"),
            ])
        );
    }

    #[test]
    fn long_values_round_trip() {
        let path = format!("/{}", "p".repeat(300));
        let value = "v".repeat(70_000);
        let name = "x-".repeat(100);
        let block = encode("GET", "https", "h", &path, &[(&name, &value)]);
        assert_eq!(
            decode(&block),
            owned(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "h"),
                (":path", &path),
                (&name, &value),
            ])
        );
    }

    #[test]
    fn an_http1_rendering_encodes_as_its_parts_do() {
        let request = b"POST /login?x=1 HTTP/1.1\r\nHost: api.test:8080\r\nUser-Agent: volley/1\r\nContent-Length: 4\r\nConnection: close\r\nX-Id: 7\r\n\r\nbody";
        let mut block = vec![];
        let body = encode_http1(request, "http", &mut block).unwrap();
        assert_eq!(&request[body..], b"body");
        let expected = encode(
            "POST",
            "http",
            "ignored",
            "/login?x=1",
            &[
                ("Host", "api.test:8080"),
                ("User-Agent", "volley/1"),
                ("Content-Length", "4"),
                ("Connection", "close"),
                ("X-Id", "7"),
            ],
        );
        assert_eq!(decode(&block), decode(&expected));
        assert_eq!(
            decode(&block)[..3],
            owned(&[
                (":method", "POST"),
                (":scheme", "http"),
                (":authority", "api.test:8080")
            ])[..]
        );
        assert_eq!(
            encode_http1(b"GET / HTTP/1.1\r\nHost: a", "http", &mut vec![]),
            None
        );
    }

    fn response(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut out = b"kept".to_vec();
        encode_response(status, headers, &mut out);
        assert_eq!(&out[..4], b"kept", "appends");
        out.split_off(4)
    }

    #[test]
    fn statuses_in_the_static_table_are_one_byte() {
        // :status 200 is index 8, 204 9, 206 10, 304 11, 400 12, 404 13,
        // 500 14 (RFC 7541 Appendix A).
        for (status, index) in [
            (200, 8),
            (204, 9),
            (206, 10),
            (304, 11),
            (400, 12),
            (404, 13),
            (500, 14),
        ] {
            let block = response(status, &[]);
            assert_eq!(block, [0x80 | index], "{status}");
            assert_eq!(decode(&block), owned(&[(":status", &status.to_string())]));
        }
    }

    #[test]
    fn other_statuses_are_literals_with_the_name_indexed() {
        // Literal without indexing, name index 8 (:status), 3 octets.
        assert_eq!(response(503, &[]), b"\x08\x03503");
        for status in [100, 103, 201, 301, 418, 431, 501, 599, 999] {
            let block = response(status, &[]);
            assert_eq!(block.len(), 5, "{status}");
            assert_eq!(decode(&block), owned(&[(":status", &status.to_string())]));
        }
    }

    #[test]
    fn response_heads_decode_back() {
        let headers = [
            ("Content-Length", "65536"),
            ("Content-Type", "text/plain"),
            ("Connection", "close"),
            ("Keep-Alive", "timeout=5"),
            ("X-Served-By", "volley"),
        ];
        let block = response(404, &headers);
        // content-length is name 28, content-type 31: both over the 4-bit
        // prefix, so 15 and the rest.
        let mut expected = vec![0x8d, 0x0f, 0x0d, 5];
        expected.extend_from_slice(b"65536");
        expected.extend_from_slice(b"\x0f\x10\x0atext/plain");
        expected.extend_from_slice(b"\x00\x0bx-served-by\x06volley");
        assert_eq!(block, expected);
        assert_eq!(
            decode(&block),
            owned(&[
                (":status", "404"),
                ("content-length", "65536"),
                ("content-type", "text/plain"),
                ("x-served-by", "volley"),
            ])
        );
    }
}
