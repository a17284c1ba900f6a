//! The request, rendered once into bytes and written as-is for every
//! request; or, when it holds placeholders (SPEC §10), parsed once and
//! rendered for each request into a buffer the caller reuses.

use std::fmt;

use crate::template::{self, Data, Piece, TemplateError, Values};

/// Why a request could not be rendered. These are the user's input errors.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The method is not an HTTP token.
    InvalidMethod(String),
    /// A header name is empty or not an HTTP token.
    InvalidHeaderName(String),
    /// A header value contains CR, LF or another control character.
    InvalidHeaderValue(String),
    /// The path contains whitespace or control characters.
    InvalidTarget(String),
    /// A placeholder that cannot be rendered.
    Template(TemplateError),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMethod(m) => write!(
                f,
                "invalid method {m:?}: expected a token such as GET or POST"
            ),
            Self::InvalidHeaderName(n) => {
                write!(
                    f,
                    "invalid header name {n:?}: expected letters, digits or !#$%&'*+-.^_`|~"
                )
            }
            Self::InvalidHeaderValue(n) => write!(
                f,
                "invalid value for header {n:?}: control characters are not allowed"
            ),
            Self::InvalidTarget(t) => write!(f, "invalid request target {t:?}"),
            Self::Template(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RequestError {}

/// What to send, before rendering.
#[derive(Clone, Debug, Default)]
pub struct RequestSpec {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Origin-form request target: path and query, starting with `/`.
    pub target: String,
    /// Value of the default `Host` header (`host` or `host:port`).
    pub host: String,
    /// Extra header fields, in order. A `Host` here replaces the default.
    pub headers: Vec<(String, String)>,
    /// Request body; a Content-Length is added when it is not empty or the
    /// method usually carries one.
    pub body: Vec<u8>,
    /// Ask the server to close after each response (`Connection: close`).
    pub close: bool,
}

/// A request, rendered once; every request of the run writes these bytes,
/// unless it holds placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestTemplate {
    bytes: Box<[u8]>,
    /// The pieces to render for each request, when the URL, a header value
    /// or the body holds a placeholder; `bytes` is then empty.
    templated: Option<Box<Templated>>,
    head_request: bool,
    idempotent: bool,
}

/// A request with placeholders, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Templated {
    /// The request line and header lines, each ending in CRLF, without
    /// Content-Length and the empty line.
    head: Vec<Piece>,
    body: Vec<Piece>,
    /// Content-Length follows the rendered body.
    length: bool,
}

impl RequestTemplate {
    /// Renders `spec`, validating method, target and headers. Placeholders
    /// are written as they are (see [`RequestTemplate::with_data`]).
    pub fn new(spec: &RequestSpec) -> Result<Self, RequestError> {
        Self::build(spec, None, false)
    }

    /// Like [`RequestTemplate::new`], but `{{...}}` placeholders in the
    /// target, the header values and the body are rendered for each request
    /// (SPEC §10), `{{row.NAME}}` from `data`.
    pub fn with_data(spec: &RequestSpec, data: Option<&Data>) -> Result<Self, RequestError> {
        Self::build(spec, data, true)
    }

    fn build(
        spec: &RequestSpec,
        data: Option<&Data>,
        templates: bool,
    ) -> Result<Self, RequestError> {
        if spec.method.is_empty() || !spec.method.bytes().all(is_token) {
            return Err(RequestError::InvalidMethod(spec.method.clone()));
        }
        if spec.target.is_empty() || spec.target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(RequestError::InvalidTarget(spec.target.clone()));
        }
        for (name, value) in &spec.headers {
            if name.is_empty() || !name.bytes().all(is_token) {
                return Err(RequestError::InvalidHeaderName(name.clone()));
            }
            if value.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f) {
                return Err(RequestError::InvalidHeaderValue(name.clone()));
            }
        }
        let templated = templates
            && (template::is_templated(spec.target.as_bytes())
                || template::is_templated(&spec.body)
                || spec
                    .headers
                    .iter()
                    .any(|(_, v)| template::is_templated(v.as_bytes())));
        let has = |n: &str| spec.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));

        let mut out = Vec::with_capacity(128 + spec.body.len());
        let mut line = |parts: &[&[u8]]| {
            for p in parts {
                out.extend_from_slice(p);
            }
            out.extend_from_slice(b"\r\n");
        };
        line(&[
            spec.method.as_bytes(),
            b" ",
            spec.target.as_bytes(),
            b" HTTP/1.1",
        ]);
        if !has("host") {
            line(&[b"Host: ", spec.host.as_bytes()]);
        }
        if !has("user-agent") {
            line(&[b"User-Agent: volley/", env!("CARGO_PKG_VERSION").as_bytes()]);
        }
        if !has("accept") {
            line(&[b"Accept: */*"]);
        }
        let wants_length = matches!(spec.method.as_str(), "POST" | "PUT" | "PATCH");
        let length = !has("content-length")
            && !has("transfer-encoding")
            && (!spec.body.is_empty() || wants_length);
        if length && !templated {
            line(&[b"Content-Length: ", spec.body.len().to_string().as_bytes()]);
        }
        if spec.close && !has("connection") {
            line(&[b"Connection: close"]);
        }
        for (name, value) in &spec.headers {
            line(&[name.as_bytes(), b": ", value.trim().as_bytes()]);
        }
        let head_request = spec.method == "HEAD";
        let idempotent = is_idempotent(&spec.method);
        if templated {
            let mut salt = 0;
            let head = template::parse(&out, data, &mut salt).map_err(RequestError::Template)?;
            // A data value goes into the request line or a header value:
            // it may not break the line (nor, in the target, the request
            // line's three parts).
            let target = template::parse(spec.target.as_bytes(), data, &mut 0)
                .map_err(RequestError::Template)?;
            template::check_values(&target, data, true).map_err(RequestError::Template)?;
            template::check_values(&head, data, false).map_err(RequestError::Template)?;
            let body =
                template::parse(&spec.body, data, &mut salt).map_err(RequestError::Template)?;
            return Ok(Self {
                bytes: Box::default(),
                templated: Some(Box::new(Templated { head, body, length })),
                head_request,
                idempotent,
            });
        }
        line(&[]);
        out.extend_from_slice(&spec.body);
        Ok(Self {
            bytes: out.into_boxed_slice(),
            templated: None,
            head_request,
            idempotent,
        })
    }

    /// The request is rendered for each request: it holds placeholders.
    pub fn is_templated(&self) -> bool {
        self.templated.is_some()
    }

    /// Writes the request for `values` into `out` (cleared first), using
    /// `scratch` for the body while its length is not known yet. Both
    /// buffers keep their capacity from one request to the next.
    pub(crate) fn render(&self, values: &Values<'_>, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
        out.clear();
        let Some(t) = &self.templated else {
            out.extend_from_slice(&self.bytes);
            return;
        };
        template::render(&t.head, values, out);
        scratch.clear();
        template::render(&t.body, values, scratch);
        if t.length {
            out.extend_from_slice(b"Content-Length: ");
            // ok: writing into a Vec cannot fail.
            let _ = std::io::Write::write_fmt(out, format_args!("{}", scratch.len()));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(scratch);
    }

    /// The bytes to write for each request (empty when the request is
    /// templated: see [`RequestTemplate::is_templated`]).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The method is HEAD, so responses carry no body.
    pub fn is_head(&self) -> bool {
        self.head_request
    }

    /// Sending the request twice has the effect of sending it once, so a
    /// request the server closed on without answering may go again (SPEC §2,
    /// the keep-alive race).
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }
}

/// RFC 9110 §9.2.2: the methods whose repetition is harmless. Method names
/// are case-sensitive (§9.1), so `get` is some other method, and not one.
fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
    )
}

/// RFC 9110 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            target: "/a?b=1".into(),
            host: "127.0.0.1:8080".into(),
            ..RequestSpec::default()
        }
    }

    #[test]
    fn renders_a_get() {
        let t = RequestTemplate::new(&spec()).unwrap();
        let text = String::from_utf8(t.bytes().to_vec()).unwrap();
        assert_eq!(
            text,
            format!(
                "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: volley/{}\r\nAccept: */*\r\n\r\n",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(!t.is_head());
        assert!(t.is_idempotent());
    }

    #[test]
    fn only_the_idempotent_methods_say_so() {
        for (method, idempotent) in [
            ("GET", true),
            ("HEAD", true),
            ("PUT", true),
            ("DELETE", true),
            ("OPTIONS", true),
            ("TRACE", true),
            ("POST", false),
            ("PATCH", false),
            ("CONNECT", false),
            ("get", false),
        ] {
            let mut s = spec();
            s.method = method.into();
            let t = RequestTemplate::new(&s).unwrap();
            assert_eq!(t.is_idempotent(), idempotent, "{method}");
        }
    }

    #[test]
    fn user_host_replaces_default_and_body_sets_length() {
        let mut s = spec();
        s.method = "POST".into();
        s.headers = vec![
            ("Host".into(), "example.test".into()),
            ("X-A".into(), " b ".into()),
        ];
        s.body = b"{}".to_vec();
        s.close = true;
        let text = String::from_utf8(RequestTemplate::new(&s).unwrap().bytes().to_vec()).unwrap();
        assert!(!text.contains("127.0.0.1"));
        assert!(text.contains("\r\nHost: example.test\r\n"));
        assert!(text.contains("\r\nX-A: b\r\n"));
        assert!(text.contains("\r\nContent-Length: 2\r\n"));
        assert!(text.contains("\r\nConnection: close\r\n"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }

    #[test]
    fn post_without_body_sends_zero_length() {
        let mut s = spec();
        s.method = "POST".into();
        let text = String::from_utf8(RequestTemplate::new(&s).unwrap().bytes().to_vec()).unwrap();
        assert!(text.contains("\r\nContent-Length: 0\r\n"));
    }

    #[test]
    fn rejects_injection() {
        let mut s = spec();
        s.headers = vec![("X".into(), "a\r\nEvil: 1".into())];
        assert!(matches!(
            RequestTemplate::new(&s),
            Err(RequestError::InvalidHeaderValue(_))
        ));
        s.headers = vec![("Bad Name".into(), "v".into())];
        assert!(matches!(
            RequestTemplate::new(&s),
            Err(RequestError::InvalidHeaderName(_))
        ));
        let mut s = spec();
        s.method = "GE T".into();
        assert!(matches!(
            RequestTemplate::new(&s),
            Err(RequestError::InvalidMethod(_))
        ));
        let mut s = spec();
        s.target = "/a b".into();
        assert!(matches!(
            RequestTemplate::new(&s),
            Err(RequestError::InvalidTarget(_))
        ));
    }
}
