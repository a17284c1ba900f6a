//! Response heads: parsing with httparse, body framing and keep-alive rules.

use crate::body::Framing;
use crate::error::ParseError;

/// Largest response head accepted, in bytes (SPEC §8).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields accepted in one response head (SPEC §8).
pub const MAX_HEADERS: usize = 100;

/// What volley needs from a parsed response head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Length of the head in bytes, including the final CRLF CRLF.
    pub len: usize,
    /// Status code.
    pub status: u16,
    /// How the body that follows is delimited.
    pub framing: Framing,
    /// The connection may carry another request after this response.
    pub keep_alive: bool,
}

/// Parses a response head from the start of `buf`.
///
/// `Ok(None)` means the head is not complete yet (httparse's `Partial`:
/// incomplete data is not invalid); the caller must keep the bytes and call
/// again with more, up to [`MAX_HEAD_BYTES`].
pub fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<Head>, ParseError> {
    // Look no further than one byte past the limit, as `Conn` does when a
    // head arrives in pieces: otherwise a bad byte beyond the limit would be
    // `Head(_)` when read at once and `HeadTooLarge` when read in pieces.
    let buf = &buf[..buf.len().min(MAX_HEAD_BYTES + 1)];
    // Uninitialised slots: zeroing 100 headers (3.2 KiB) on every parse
    // cost more than parsing a typical head.
    let mut headers =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut res,
        buf,
        &mut headers,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= MAX_HEAD_BYTES {
                Err(ParseError::HeadTooLarge)
            } else {
                Ok(None)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::TooManyHeaders),
        Err(e) => return Err(ParseError::Head(e)),
    };
    if len > MAX_HEAD_BYTES {
        return Err(ParseError::HeadTooLarge);
    }
    // ok: httparse sets both on Complete.
    let status = res.code.unwrap_or(0);
    let version = res.version.unwrap_or(1);
    if status == 101 {
        return Err(ParseError::UnexpectedUpgrade);
    }
    let framing = body_framing(head_request, status, res.headers)?;
    let keep_alive = framing != Framing::UntilClose && keep_alive(version, res.headers);
    Ok(Some(Head {
        len,
        status,
        framing,
        keep_alive,
    }))
}

/// Decides how the body is delimited, per RFC 9112 §6.3 (formerly RFC 7230
/// §3.3.3), for a response to a request we sent:
///
/// 1. A response to HEAD, and any 1xx, 204 or 304 response, has no body.
/// 2. (2xx to CONNECT: not applicable, volley never sends CONNECT.)
/// 3. If Transfer-Encoding is present and chunked is the final coding, the
///    body is chunked; if chunked is not final, it runs until close.
///    Transfer-Encoding overrides Content-Length.
/// 4. A Content-Length that is invalid (not digits, or several differing
///    values) is an unrecoverable framing error.
/// 5. A valid Content-Length gives the exact length.
/// 6. (Requests only.)
/// 7. Otherwise the body runs until the server closes the connection.
pub fn body_framing(
    head_request: bool,
    status: u16,
    headers: &[httparse::Header<'_>],
) -> Result<Framing, ParseError> {
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }
    let mut chunked = None;
    let mut length: Option<u64> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding of the last field matters.
            if let Some(last) = h.value.rsplit(|&b| b == b',').next() {
                chunked = Some(trim(last).eq_ignore_ascii_case(b"chunked"));
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            for part in h.value.split(|&b| b == b',') {
                let n = parse_decimal(trim(part)).ok_or(ParseError::InvalidContentLength)?;
                match length {
                    Some(prev) if prev != n => return Err(ParseError::InvalidContentLength),
                    _ => length = Some(n),
                }
            }
        }
    }
    Ok(match (chunked, length) {
        (Some(true), _) => Framing::Chunked,
        (Some(false), _) => Framing::UntilClose,
        (None, Some(n)) => Framing::Length(n),
        (None, None) => Framing::UntilClose,
    })
}

/// Whether the connection stays open after this response (as h11's
/// `_keep_alive`): HTTP/1.0 closes unless the server says `keep-alive`;
/// HTTP/1.1 stays open unless it says `close`.
pub fn keep_alive(version: u8, headers: &[httparse::Header<'_>]) -> bool {
    let mut close = false;
    let mut keep = false;
    for h in headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
    {
        for token in h.value.split(|&b| b == b',').map(trim) {
            close |= token.eq_ignore_ascii_case(b"close");
            keep |= token.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    if version == 0 { keep && !close } else { !close }
}

/// `s` without leading and trailing spaces and tabs (HTTP's OWS).
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// A run of ASCII digits as a number; `None` if empty, not digits, or
/// longer than 19 digits (so it cannot overflow).
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// The standard reason phrase of a status code, or "" for unknown codes.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        511 => "Network Authentication Required",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Result<Option<Head>, ParseError> {
        parse_head(raw.as_bytes(), false)
    }

    #[test]
    fn framing_table() {
        let table: &[(&str, bool, Framing, bool)] = &[
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                false,
                Framing::Length(5),
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                true,
                Framing::Empty,
                true,
            ),
            (
                "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
                false,
                Framing::Empty,
                true,
            ),
            (
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
                false,
                Framing::Empty,
                true,
            ),
            ("HTTP/1.1 100 Continue\r\n\r\n", false, Framing::Empty, true),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                Framing::Chunked,
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n",
                false,
                Framing::Chunked,
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                false,
                Framing::UntilClose,
                false,
            ),
            ("HTTP/1.1 200 OK\r\n\r\n", false, Framing::UntilClose, false),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n",
                false,
                Framing::Length(7),
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                false,
                Framing::Length(0),
                false,
            ),
            (
                "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
                false,
                Framing::Length(0),
                false,
            ),
            (
                "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n",
                false,
                Framing::Length(0),
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: foo, CLOSE\r\n\r\n",
                false,
                Framing::Length(0),
                false,
            ),
        ];
        for (raw, is_head, framing, keep) in table {
            let h = parse_head(raw.as_bytes(), *is_head).unwrap().unwrap();
            assert_eq!(
                (h.framing, h.keep_alive, h.len),
                (*framing, *keep, raw.len()),
                "{raw}"
            );
        }
    }

    #[test]
    fn partial_and_errors() {
        assert_eq!(head("HTTP/1.1 200 OK\r\nContent-Le"), Ok(None));
        assert_eq!(head(""), Ok(None));
        assert!(matches!(head("garbage\r\n\r\n"), Err(ParseError::Head(_))));
        assert_eq!(
            head("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n"),
            Err(ParseError::InvalidContentLength)
        );
        assert_eq!(
            head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            Err(ParseError::InvalidContentLength)
        );
        assert_eq!(
            head("HTTP/1.1 101 Switching\r\n\r\n"),
            Err(ParseError::UnexpectedUpgrade)
        );
        assert!(head("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").is_err());
    }

    #[test]
    fn too_many_headers() {
        let mut raw = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..=MAX_HEADERS {
            raw.push_str(&format!("X-{i}: v\r\n"));
        }
        raw.push_str("\r\n");
        assert_eq!(head(&raw), Err(ParseError::TooManyHeaders));
    }

    #[test]
    fn oversized_head() {
        let mut raw = String::from("HTTP/1.1 200 OK\r\nX-Big: ");
        raw.push_str(&"a".repeat(MAX_HEAD_BYTES));
        assert_eq!(head(&raw), Err(ParseError::HeadTooLarge));
        raw.push_str("\r\n\r\n");
        assert_eq!(head(&raw), Err(ParseError::HeadTooLarge));
    }

    #[test]
    fn a_bad_byte_past_the_limit_is_head_too_large() {
        // Found by fuzz/conn_split: this was `Head(HeaderValue)` when parsed
        // at once but `HeadTooLarge` when it arrived in two reads.
        let mut raw = String::from("HTTP/1.1 200 OK\r\nX-Big: ");
        raw.push_str(&"a".repeat(MAX_HEAD_BYTES));
        raw.push_str("\x01\r\n\r\n");
        assert_eq!(head(&raw), Err(ParseError::HeadTooLarge));
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(200), "OK");
        assert_eq!(reason_phrase(503), "Service Unavailable");
        assert_eq!(reason_phrase(299), "");
    }
}
