//! `--targets FILE`: the list of requests one run sends (SPEC §10), in one
//! of two formats.
//!
//! **http**, vegeta's text format, so that a file written for vegeta works
//! unchanged:
//!
//! ```text
//! # a comment
//! POST https://example.com/things
//! Content-Type: application/json
//! @body.json
//!
//! GET https://example.com/things/1
//! ```
//!
//! A target is a `METHOD URL` line (the method in uppercase letters), then
//! `Name: value` header lines (a name may repeat), then an optional
//! `@path` line naming a file whose bytes are the body. A blank line or the
//! `@path` line ends a target, and so does a `METHOD http…` line (as in
//! vegeta's list of bare `METHOD URL` lines).
//! Lines are trimmed; `#` lines are comments, between targets or inside
//! one. As in vegeta, a relative `@path` is read from the current
//! directory, not from the targets file's. Where vegeta would accept a line
//! and then fail or send something else, volley refuses it here: a header
//! name that is not an HTTP token, a URL with spaces or without a host. An
//! empty header value, which vegeta refuses, is accepted.
//!
//! **jsonl**, one JSON object per line:
//! `{"name", "method", "url", "header": {"K": ["v1", "v2"]}, "body",
//! "body_file", "weight", "expect_status"}`. Only `url` is required;
//! `method` defaults to GET and `weight` to 1; other fields are refused.
//! Unlike vegeta's JSON format, whose `body` is base64, `body` here is the
//! body's text as it is sent. A header's value may also be one string;
//! `expect_status` is a status, a string such as `"2xx,304"` or a list of
//! either; names, when given, are unique. Blank and `#` lines are skipped.
//!
//! Every refusal is one line: the file, the line, what is wrong and what
//! is accepted. URLs are checked only for their scheme and host: the rest
//! may hold `{{…}}` templates, which are read later.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::parse::redact;
use super::status::StatusSet;
use crate::error::UsageError;

/// The two formats of a targets file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TargetsFormat {
    /// vegeta's text format: `METHOD URL`, headers, `@path`.
    Http,
    /// One JSON object per line.
    Jsonl,
}

impl TargetsFormat {
    /// The format of a file when `--targets-format` does not name one:
    /// jsonl when its first line that is neither blank nor a `#` comment
    /// starts with `{`, else http.
    pub(crate) fn detect(text: &str) -> Self {
        let first = strip_bom(text)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        match first {
            Some(l) if l.starts_with('{') => Self::Jsonl,
            _ => Self::Http,
        }
    }
}

/// One request of a targets file, as written there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TargetDef {
    /// `name` (jsonl only); `None` when the file gives none.
    pub(crate) name: Option<String>,
    pub(crate) method: String,
    /// Starts with `http://` or `https://` and names a host; the rest is
    /// as written, templates included.
    pub(crate) url: String,
    /// In file order; a name may repeat.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// At least 1 (always 1 in the http format).
    pub(crate) weight: u32,
    /// `expect_status` (jsonl only).
    pub(crate) expect_status: Option<StatusSet>,
    /// The line the target starts on, 1-based.
    pub(crate) line: usize,
}

impl TargetDef {
    fn new(method: &str, url: &str, line: usize) -> Self {
        Self {
            name: None,
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            weight: 1,
            expect_status: None,
            line,
        }
    }
}

/// Reads the targets file at `path` (named in refusals; body files are not
/// read relative to it) whose text is `text`, in `format` or, when `None`,
/// the format [`TargetsFormat::detect`] finds. At least one target.
pub(crate) fn parse_targets(
    path: &Path,
    text: &str,
    format: Option<TargetsFormat>,
) -> Result<Vec<TargetDef>, UsageError> {
    let file = File(path);
    let text = strip_bom(text);
    let format = format.unwrap_or_else(|| TargetsFormat::detect(text));
    let targets = match format {
        TargetsFormat::Http => parse_http(&file, text)?,
        TargetsFormat::Jsonl => parse_jsonl(&file, text)?,
    };
    if targets.is_empty() {
        let example = match format {
            TargetsFormat::Http => "\"METHOD URL\" lines such as \"GET https://example.com/\"",
            TargetsFormat::Jsonl => {
                "one JSON object per line such as {\"url\": \"https://example.com/\"}"
            }
        };
        return Err(UsageError(format!(
            "--targets {}: no targets; expected {example}",
            path.display()
        )));
    }
    Ok(targets)
}

/// Reads a body file (`@path`, `body_file`). A relative path is taken from
/// the current directory, as vegeta takes it.
pub(crate) fn read_body_file(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path)
}

/// The targets file, for refusals.
struct File<'a>(&'a Path);

impl File<'_> {
    /// `--targets FILE:LINE: why`.
    fn at(&self, line: usize, why: impl fmt::Display) -> UsageError {
        UsageError(format!("--targets {}:{line}: {why}", self.0.display()))
    }

    /// The bytes of the body file `name` given on `line`.
    fn body(&self, line: usize, name: &str) -> Result<Vec<u8>, UsageError> {
        if name.is_empty() {
            return Err(self.at(
                line,
                "the body line names no file; expected \"@path/to/body\"",
            ));
        }
        read_body_file(Path::new(name)).map_err(|e| {
            self.at(
                line,
                format!(
                    "cannot read body file {name:?}: {e}; expected a readable file \
                     (a relative path starts at the current directory)"
                ),
            )
        })
    }
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The example every refusal of a request line ends with.
const REQUEST_LINE: &str = "expected \"METHOD URL\" such as \"GET https://example.com/\"";

/// The http format: see the module doc.
fn parse_http(file: &File<'_>, text: &str) -> Result<Vec<TargetDef>, UsageError> {
    let mut targets: Vec<TargetDef> = Vec::new();
    // The last target still takes header and body lines.
    let mut open = false;
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() {
            open = false;
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((method, url)) = request_line(line) {
            // Below a target, only a line whose URL has a scheme starts the
            // next one: "ACCEPT text/html" there is a header missing its
            // colon.
            if !open || has_http_scheme(url) {
                check_url(url).map_err(|why| file.at(n, why))?;
                targets.push(TargetDef::new(method, url, n));
                open = true;
                continue;
            }
        }
        let Some(target) = targets.last_mut().filter(|_| open) else {
            return Err(file.at(n, not_a_request_line(line)));
        };
        if let Some(name) = line.strip_prefix('@') {
            target.body = file.body(n, name.trim())?;
            open = false;
            continue;
        }
        target
            .headers
            .push(header_line(line).map_err(|why| file.at(n, why))?);
    }
    Ok(targets)
}

/// `METHOD URL`, with the method in uppercase letters (vegeta's rule) and
/// a URL that does not start with a colon (`DNT : 1` is a header).
fn request_line(line: &str) -> Option<(&str, &str)> {
    let (method, rest) = line.split_once([' ', '\t'])?;
    let url = rest.trim_start();
    let is_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    (is_method && !url.is_empty() && !url.starts_with(':')).then_some((method, url))
}

/// Why `line`, outside a target, does not start one.
fn not_a_request_line(line: &str) -> String {
    if line.starts_with('{') {
        return format!(
            "a JSON line in an http-format targets file; {REQUEST_LINE}, \
             or --targets-format jsonl"
        );
    }
    if line.starts_with('@') {
        return "a body line outside a target; expected \"@path\" below a \"METHOD URL\" \
                line and its headers, with no blank line between"
            .to_string();
    }
    if has_http_scheme(line) {
        return format!("no method before the URL; {REQUEST_LINE}");
    }
    let (word, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
    if rest.trim().is_empty() && word.bytes().all(|b| b.is_ascii_uppercase()) {
        return format!("no URL after {word:?}; {REQUEST_LINE}");
    }
    if line
        .split_once(':')
        .is_some_and(|(name, _)| !name.is_empty() && !name.contains([' ', '\t']))
    {
        return "a header line outside a target; expected headers right below their \
                \"METHOD URL\" line (a blank line or an \"@path\" line ends a target)"
            .to_string();
    }
    format!(
        "{word:?} is not a method; expected \"METHOD URL\" with the method in uppercase \
         letters, such as \"GET https://example.com/\""
    )
}

/// `Name: value`, trimmed.
fn header_line(line: &str) -> Result<(String, String), String> {
    let Some((name, value)) = line.split_once(':') else {
        return Err(format!(
            "header {line:?} has no colon; expected \"Name: value\""
        ));
    };
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return Err(format!(
            "header {line:?} has no name before its colon; expected \"Name: value\""
        ));
    }
    check_header(name, value)?;
    Ok((name.to_string(), value.to_string()))
}

/// A header name must be an HTTP token (RFC 9110 §5.6.2) and a value must
/// hold no control characters but tabs: what a request can carry.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    if !is_token(name) {
        return Err(format!(
            "header name {name:?} is not a valid name; expected letters, digits and \
             !#$%&'*+-.^_`|~ (such as \"Content-Type\")"
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "header {name:?} has a control character in its value; expected printable text"
        ));
    }
    Ok(())
}

/// An HTTP token (RFC 9110 §5.6.2): what header names and methods are.
fn is_token(s: &str) -> bool {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    !s.is_empty() && s.bytes().all(tchar)
}

/// Starts with `http://` or `https://`, in any case.
fn has_http_scheme(url: &str) -> bool {
    scheme_rest(url).is_some()
}

/// What follows `http://` or `https://`.
fn scheme_rest(url: &str) -> Option<&str> {
    ["http://", "https://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &url[scheme.len()..])
    })
}

/// The URL starts with `http://` or `https://`, names a host and holds no
/// spaces; the rest is left to the template reader.
fn check_url(url: &str) -> Result<(), String> {
    let shown = redact(url);
    if url.contains(char::is_whitespace) {
        return Err(format!(
            "URL {shown:?} contains a space; expected one URL, with spaces written as %20"
        ));
    }
    let Some(rest) = scheme_rest(url) else {
        return Err(format!(
            "URL {shown:?} does not start with http:// or https://; \
             expected a URL such as https://example.com/path"
        ));
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.find(']').map_or("", |end| &host_port[1..end])
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(format!(
            "URL {shown:?} has no host; expected a URL such as https://example.com/path"
        ));
    }
    Ok(())
}

/// One line of the jsonl format, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct JsonTarget {
    name: Option<String>,
    method: Option<String>,
    url: String,
    header: Option<Pairs>,
    /// The body as text (vegeta's JSON format has it in base64).
    body: Option<String>,
    body_file: Option<String>,
    weight: Option<i64>,
    /// A number, a string such as `"2xx,304"`, or a list of either.
    expect_status: Option<serde_json::Value>,
}

/// A JSON object's members in file order (serde_json's own map sorts
/// them, and headers are sent in the order written).
struct Pairs(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header names to lists of values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(InOrder)
    }
}

/// The example jsonl refusals end with.
const JSON_LINE: &str =
    "expected one JSON object per line such as {\"url\": \"https://example.com/\"}";

/// The jsonl format: see the module doc. Blank lines and `#` lines are
/// skipped, as in the http format.
fn parse_jsonl(file: &File<'_>, text: &str) -> Result<Vec<TargetDef>, UsageError> {
    let mut targets = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with('{') {
            return Err(file.at(
                n,
                format!(
                    "not a JSON object; {JSON_LINE}, or --targets-format http for \
                     \"METHOD URL\" lines"
                ),
            ));
        }
        let json: JsonTarget =
            serde_json::from_str(line).map_err(|e| file.at(n, json_error(&e)))?;
        let target = json_target(file, n, json)?;
        if let Some(name) = &target.name {
            if let Some(first) = names.insert(name.clone(), n) {
                return Err(file.at(
                    n,
                    format!(
                        "name {name:?} is also the name of the target on line {first}; \
                         expected a different name for each target"
                    ),
                ));
            }
        }
        targets.push(target);
    }
    Ok(targets)
}

/// serde_json's message without its "at line 1 column N" (a line of the
/// file is parsed alone), and what a line may hold.
fn json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = full.strip_suffix(&suffix).unwrap_or(&full);
    if msg.contains("expected") {
        format!("{msg} (column {})", e.column())
    } else {
        format!("{msg} (column {}); {JSON_LINE}", e.column())
    }
}

/// Checks one jsonl line's fields and reads its body file.
fn json_target(file: &File<'_>, n: usize, json: JsonTarget) -> Result<TargetDef, UsageError> {
    let bad = |why: String| file.at(n, why);
    if let Some(name) = &json.name {
        if name.trim().is_empty() {
            return Err(bad(
                "\"name\" is empty; expected a name such as \"login\", or no \"name\"".into(),
            ));
        }
        if name.contains(char::is_control) {
            return Err(bad(format!(
                "name {name:?} has a control character; expected printable text"
            )));
        }
    }
    let method = json.method.as_deref().unwrap_or("GET");
    if !is_token(method) {
        return Err(bad(format!(
            "method {method:?} is not an HTTP method; expected a word such as \"GET\" or \"POST\""
        )));
    }
    check_url(&json.url).map_err(bad)?;
    let mut target = TargetDef::new(method, &json.url, n);
    target.name = json.name;

    for (name, values) in json.header.map(|p| p.0).unwrap_or_default() {
        let values = match values {
            serde_json::Value::Array(vs) => vs,
            other => vec![other],
        };
        for value in values {
            let serde_json::Value::String(value) = value else {
                return Err(bad(format!(
                    "header {name:?} has a value that is not a string; \
                     expected {{\"{name}\": [\"value\", …]}}"
                )));
            };
            check_header(&name, &value).map_err(bad)?;
            target.headers.push((name.clone(), value));
        }
    }

    target.body = match (json.body, json.body_file) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "both \"body\" and \"body_file\"; expected one of them".into()
            ));
        }
        (Some(body), None) => body.into_bytes(),
        (None, Some(name)) => file.body(n, &name)?,
        (None, None) => Vec::new(),
    };

    if let Some(weight) = json.weight {
        target.weight = u32::try_from(weight)
            .ok()
            .filter(|&w| w >= 1)
            .ok_or_else(|| {
                bad(format!(
                    "weight {weight} is out of range; expected a whole number from 1 to {}",
                    u32::MAX
                ))
            })?;
    }

    if let Some(expect) = json.expect_status {
        let what = format!("--targets {}:{n}: expect_status", file.0.display());
        let items: Vec<serde_json::Value> = match expect {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        let mut texts = Vec::new();
        for item in items {
            match item {
                serde_json::Value::Number(status) => texts.push(status.to_string()),
                serde_json::Value::String(list) => {
                    texts.extend(list.split(',').map(str::to_string));
                }
                _ => {
                    return Err(bad(format!(
                        "expect_status holds {item}; expected statuses and classes \
                         such as [200, 201] or \"2xx,304\""
                    )));
                }
            }
        }
        target.expect_status = Some(StatusSet::from_items(
            &what,
            texts.iter().map(String::as_str),
        )?);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const FILE: &str = "targets.txt";

    fn parse(text: &str) -> Vec<TargetDef> {
        parse_targets(Path::new(FILE), text, None).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn err(text: &str) -> String {
        err_as(text, None)
    }

    fn err_as(text: &str, format: Option<TargetsFormat>) -> String {
        match parse_targets(Path::new(FILE), text, format) {
            Ok(t) => panic!("{text:?} was accepted: {t:?}"),
            Err(e) => {
                assert!(!e.0.contains('\n'), "not one line: {}", e.0);
                assert!(e.0.starts_with("--targets targets.txt"), "{}", e.0);
                assert!(e.0.contains("expected"), "{}", e.0);
                e.0
            }
        }
    }

    /// A target's method, URL, headers and line.
    type Brief<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, usize);

    fn brief(targets: &[TargetDef]) -> Vec<Brief<'_>> {
        targets
            .iter()
            .map(|t| {
                let headers = t
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                (t.method.as_str(), t.url.as_str(), headers, t.line)
            })
            .collect()
    }

    /// A directory of body files, removed at the end of the test.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("volley-targets-{}-{test}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        /// Writes `bytes` to `name` and returns the file's absolute path.
        fn file(&self, name: &str, bytes: &[u8]) -> String {
            let path = self.0.join(name);
            std::fs::write(&path, bytes).unwrap();
            path.to_str().unwrap().to_string()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn format_is_detected_by_the_first_line() {
        use TargetsFormat::{Http, Jsonl};
        assert_eq!(TargetsFormat::detect("GET http://a/\n"), Http);
        assert_eq!(TargetsFormat::detect("{\"url\":\"http://a/\"}\n"), Jsonl);
        assert_eq!(
            TargetsFormat::detect("\n  \n# {comment}\n  {\"url\":\"http://a/\"}"),
            Jsonl
        );
        assert_eq!(TargetsFormat::detect("# c\r\n\r\nPOST http://a/\r\n"), Http);
        assert_eq!(
            TargetsFormat::detect("\u{feff}{\"url\":\"http://a/\"}"),
            Jsonl
        );
        assert_eq!(TargetsFormat::detect(""), Http);
        assert_eq!(TargetsFormat::detect("# only a comment"), Http);
    }

    #[test]
    fn a_given_format_overrides_detection() {
        let e = err_as("{\"url\": \"http://a/\"}\n", Some(TargetsFormat::Http));
        assert_eq!(
            e,
            "--targets targets.txt:1: a JSON line in an http-format targets file; expected \
             \"METHOD URL\" such as \"GET https://example.com/\", or --targets-format jsonl"
        );
        let e = err_as("GET http://a/\n", Some(TargetsFormat::Jsonl));
        assert_eq!(
            e,
            "--targets targets.txt:1: not a JSON object; expected one JSON object per line \
             such as {\"url\": \"https://example.com/\"}, or --targets-format http for \
             \"METHOD URL\" lines"
        );
    }

    // The examples of vegeta's README ("http format"), verbatim.

    #[test]
    fn vegeta_readme_simple_targets() {
        let t = parse(
            "GET http://goku:9090/path/to/dragon?item=ball
GET http://user:password@goku:9090/path/to
HEAD http://goku:9090/path/to/success
",
        );
        assert_eq!(
            brief(&t),
            [
                (
                    "GET",
                    "http://goku:9090/path/to/dragon?item=ball",
                    vec![],
                    1
                ),
                ("GET", "http://user:password@goku:9090/path/to", vec![], 2),
                ("HEAD", "http://goku:9090/path/to/success", vec![], 3),
            ]
        );
        assert!(t.iter().all(|t| t.body.is_empty() && t.weight == 1));
        assert!(
            t.iter()
                .all(|t| t.name.is_none() && t.expect_status.is_none())
        );
    }

    #[test]
    fn vegeta_readme_targets_with_custom_headers() {
        let t = parse(
            "GET http://user:password@goku:9090/path/to
X-Account-ID: 8675309

DELETE http://goku:9090/path/to/remove
Confirmation-Token: 90215
Authorization: Token DEADBEEF
",
        );
        assert_eq!(
            brief(&t),
            [
                (
                    "GET",
                    "http://user:password@goku:9090/path/to",
                    vec![("X-Account-ID", "8675309")],
                    1
                ),
                (
                    "DELETE",
                    "http://goku:9090/path/to/remove",
                    vec![
                        ("Confirmation-Token", "90215"),
                        ("Authorization", "Token DEADBEEF")
                    ],
                    4
                ),
            ]
        );
    }

    const README_BODIES: &str = "POST http://goku:9090/things
@/path/to/newthing.json

PATCH http://goku:9090/thing/71988591
@/path/to/thing-71988591.json
";

    #[test]
    fn vegeta_readme_targets_with_custom_bodies() {
        let dir = Scratch::new("readme-bodies");
        let new = dir.file("newthing.json", b"{\"new\": true}\n");
        let old = dir.file("thing-71988591.json", b"{\"id\": 71988591}\n");
        let text = README_BODIES
            .replace("/path/to/newthing.json", &new)
            .replace("/path/to/thing-71988591.json", &old);
        let t = parse(&text);
        assert_eq!(
            brief(&t),
            [
                ("POST", "http://goku:9090/things", vec![], 1),
                ("PATCH", "http://goku:9090/thing/71988591", vec![], 4),
            ]
        );
        assert_eq!(t[0].body, b"{\"new\": true}\n");
        assert_eq!(t[1].body, b"{\"id\": 71988591}\n");

        // As printed, the README's files do not exist here.
        let e = err(README_BODIES);
        assert!(
            e.starts_with(
                "--targets targets.txt:2: cannot read body file \"/path/to/newthing.json\": "
            ),
            "{e}"
        );
        assert!(
            e.ends_with(
                "; expected a readable file (a relative path starts at the current directory)"
            ),
            "{e}"
        );
    }

    #[test]
    fn vegeta_readme_targets_with_custom_bodies_and_headers() {
        let dir = Scratch::new("readme-bodies-headers");
        let new = dir.file("newthing.json", b"{}");
        let text = "POST http://goku:9090/things
X-Account-ID: 99
@/path/to/newthing.json
"
        .replace("/path/to/newthing.json", &new);
        let t = parse(&text);
        assert_eq!(
            brief(&t),
            [(
                "POST",
                "http://goku:9090/things",
                vec![("X-Account-ID", "99")],
                1
            )]
        );
        assert_eq!(t[0].body, b"{}");
    }

    #[test]
    fn vegeta_readme_comments() {
        let t = parse(
            "# get a dragon ball
GET http://goku:9090/path/to/dragon?item=ball
# specify a test account
X-Account-ID: 99
",
        );
        assert_eq!(
            brief(&t),
            [(
                "GET",
                "http://goku:9090/path/to/dragon?item=ball",
                vec![("X-Account-ID", "99")],
                2
            )]
        );
    }

    #[test]
    fn http_repeated_headers_keep_their_order_and_case() {
        let t = parse(
            "GET http://a/\nx-lower: 1\nX-Multi: one\nAccept: */*\nX-Multi: two\nX-Multi: three\n",
        );
        assert_eq!(
            t[0].headers,
            [
                ("x-lower".to_string(), "1".to_string()),
                ("X-Multi".into(), "one".into()),
                ("Accept".into(), "*/*".into()),
                ("X-Multi".into(), "two".into()),
                ("X-Multi".into(), "three".into()),
            ]
        );
    }

    #[test]
    fn http_header_values_keep_their_colons_and_may_be_empty() {
        let t = parse(
            "GET http://a/\nAuthorization: Basic dXNlcjpwYXNz\nReferer: http://b:8080/x\nX-Empty:\nX-Blank:   \nDNT : 1\nX-Tab:\tv\n",
        );
        assert_eq!(
            brief(&t)[0].2,
            [
                ("Authorization", "Basic dXNlcjpwYXNz"),
                ("Referer", "http://b:8080/x"),
                ("X-Empty", ""),
                ("X-Blank", ""),
                ("DNT", "1"),
                ("X-Tab", "v"),
            ]
        );
    }

    #[test]
    fn http_lines_are_trimmed_and_crlf_is_read() {
        let t = parse(
            "\u{feff}  # comment\r\n\r\n\t GET   http://a/x \r\n   X-A: 1  \r\n \t \r\nPUT\thttps://b/\r\n",
        );
        assert_eq!(
            brief(&t),
            [
                ("GET", "http://a/x", vec![("X-A", "1")], 3),
                ("PUT", "https://b/", vec![], 6),
            ]
        );
    }

    #[test]
    fn http_comments_inside_a_target() {
        let t = parse(
            "GET http://a/\n# one\nX-A: 1\n  # two\nX-A: 2\n#three\n\n# between\n\nGET http://b/\n",
        );
        assert_eq!(
            brief(&t),
            [
                ("GET", "http://a/", vec![("X-A", "1"), ("X-A", "2")], 1),
                ("GET", "http://b/", vec![], 10),
            ]
        );
    }

    #[test]
    fn http_a_request_line_after_headers_starts_the_next_target() {
        let t = parse("GET http://a/\nX-A: 1\nPOST http://b/\nX-B: 2\nDELETE https://c/\n");
        assert_eq!(
            brief(&t),
            [
                ("GET", "http://a/", vec![("X-A", "1")], 1),
                ("POST", "http://b/", vec![("X-B", "2")], 3),
                ("DELETE", "https://c/", vec![], 5),
            ]
        );
    }

    #[test]
    fn http_any_uppercase_method() {
        let t = parse("SUBSCRIBE http://a/sub\nPROPFIND http://a/dav\nOPTIONS http://a/\n");
        let methods: Vec<_> = t.iter().map(|t| t.method.as_str()).collect();
        assert_eq!(methods, ["SUBSCRIBE", "PROPFIND", "OPTIONS"]);
    }

    #[test]
    fn http_templates_pass_through() {
        let t = parse(
            "POST https://api.example.com/users/{{row.id}}?n={{seq}}&r={{rand:1-10}}\nX-Request-Id: {{uuid}}\n",
        );
        assert_eq!(
            t[0].url,
            "https://api.example.com/users/{{row.id}}?n={{seq}}&r={{rand:1-10}}"
        );
        assert_eq!(brief(&t)[0].2, [("X-Request-Id", "{{uuid}}")]);
    }

    #[test]
    fn http_urls_with_ports_user_info_and_ipv6() {
        let t = parse(
            "GET http://[::1]:8080/\nGET https://u:p@h\nGET HTTP://h.example?x\nGET http://h#frag\nGET http://127.0.0.1:1/{{seq}}\n",
        );
        assert_eq!(t.len(), 5);
    }

    #[test]
    fn http_body_bytes_are_read_as_they_are() {
        let dir = Scratch::new("binary");
        let bytes = [0u8, 0xff, b'\n', b'\r', 0x80, b'x'];
        let body = dir.file("body.bin", &bytes);
        let t = parse(&format!(
            "POST http://a/\n@{body}\n\nPOST http://b/\n@ {body} \n"
        ));
        assert_eq!(t[0].body, bytes);
        assert_eq!(t[1].body, bytes);
    }

    #[test]
    fn http_body_path_is_relative_to_the_current_directory() {
        // Tests run in the package's directory; the targets file is
        // elsewhere, and its directory plays no part, as in vegeta.
        let t = parse_targets(
            Path::new("/nowhere/targets.txt"),
            "PUT http://a/\n@Cargo.toml\n",
            None,
        )
        .unwrap();
        assert_eq!(t[0].body, std::fs::read("Cargo.toml").unwrap());
    }

    #[test]
    fn http_the_body_line_ends_a_target() {
        let dir = Scratch::new("body-ends");
        let body = dir.file("b", b"x");
        let t = parse(&format!("POST http://a/\n@{body}\nGET http://b/\n"));
        assert_eq!(brief(&t)[1], ("GET", "http://b/", vec![], 3));
        assert_eq!(
            err(&format!("POST http://a/\n@{body}\nX-Late: 1\n")),
            "--targets targets.txt:3: a header line outside a target; expected headers right \
             below their \"METHOD URL\" line (a blank line or an \"@path\" line ends a target)"
        );
    }

    #[test]
    fn http_header_without_colon() {
        assert_eq!(
            err("# a\n\nGET http://a/\n\nPOST http://b/\nX-Ok: 1\nX-Foo\n"),
            "--targets targets.txt:7: header \"X-Foo\" has no colon; expected \"Name: value\""
        );
        // An uppercase word below a target is a header, not a request line,
        // unless a URL follows it.
        assert_eq!(
            err("GET http://a/\nACCEPT text/html\n"),
            "--targets targets.txt:2: header \"ACCEPT text/html\" has no colon; \
             expected \"Name: value\""
        );
        // vegeta's own test case.
        assert!(
            err("GET http://a:6060\nAuthorization")
                .contains("header \"Authorization\" has no colon")
        );
    }

    #[test]
    fn http_header_name_refusals() {
        assert_eq!(
            err("GET http://a/\n: 1234\n"),
            "--targets targets.txt:2: header \": 1234\" has no name before its colon; \
             expected \"Name: value\""
        );
        assert_eq!(
            err("GET http://a/\nX Foo: 1\n"),
            "--targets targets.txt:2: header name \"X Foo\" is not a valid name; expected \
             letters, digits and !#$%&'*+-.^_`|~ (such as \"Content-Type\")"
        );
        assert!(err("GET http://a/\nX(Foo): 1\n").contains("header name \"X(Foo)\""));
        assert!(err("GET http://a/\nNämé: 1\n").contains("header name \"Nämé\""));
    }

    #[test]
    fn http_header_value_with_a_control_character() {
        assert_eq!(
            err("GET http://a/\nX-A: a\rb\n"),
            "--targets targets.txt:2: header \"X-A\" has a control character in its value; \
             expected printable text"
        );
    }

    #[test]
    fn http_request_line_refusals() {
        let not_a_method = |w: &str| {
            format!(
                "{w:?} is not a method; expected \"METHOD URL\" with the method in uppercase \
                 letters, such as \"GET https://example.com/\""
            )
        };
        for (text, line, why) in [
            ("get http://a/", 1, not_a_method("get")),
            ("Get http://a/", 1, not_a_method("Get")),
            ("# x\nDO_WORK http://a:6000", 2, not_a_method("DO_WORK")),
            ("DOwork http://a:6000", 1, not_a_method("DOwork")),
            (
                "GET",
                1,
                "no URL after \"GET\"; expected \"METHOD URL\" such as \"GET https://example.com/\""
                    .into(),
            ),
            (
                "\n\nPOST   \n",
                3,
                "no URL after \"POST\"; expected \"METHOD URL\" such as \"GET https://example.com/\""
                    .into(),
            ),
            (
                "http://a/",
                1,
                "no method before the URL; expected \"METHOD URL\" such as \"GET https://example.com/\""
                    .into(),
            ),
            (
                "X-Foo: 1\nGET http://a/",
                1,
                "a header line outside a target; expected headers right below their \
                 \"METHOD URL\" line (a blank line or an \"@path\" line ends a target)"
                    .into(),
            ),
            (
                "@body.json",
                1,
                "a body line outside a target; expected \"@path\" below a \"METHOD URL\" \
                 line and its headers, with no blank line between"
                    .into(),
            ),
        ] {
            assert_eq!(err(text), format!("--targets targets.txt:{line}: {why}"), "{text:?}");
        }
        // A blank line ends a target: what follows must start the next.
        assert!(
            err("GET http://a/\n\nX-A: 1\n")
                .starts_with("--targets targets.txt:3: a header line outside")
        );
        assert!(
            err("GET http://a/\n\n@b\n")
                .starts_with("--targets targets.txt:3: a body line outside")
        );
    }

    #[test]
    fn http_url_refusals() {
        for (text, why) in [
            (
                "GET foobar",
                "URL \"foobar\" does not start with http:// or https://; expected a URL such as \
                 https://example.com/path",
            ),
            (
                "GET ftp://a/",
                "URL \"ftp://a/\" does not start with http:// or https://; expected a URL such \
                 as https://example.com/path",
            ),
            (
                "GET http://:6060/",
                "URL \"http://:6060/\" has no host; expected a URL such as https://example.com/path",
            ),
            (
                "GET http:///x",
                "URL \"http:///x\" has no host; expected a URL such as https://example.com/path",
            ),
            (
                "GET https://",
                "URL \"https://\" has no host; expected a URL such as https://example.com/path",
            ),
            (
                "GET http://[]:80/",
                "URL \"http://[]:80/\" has no host; expected a URL such as https://example.com/path",
            ),
            (
                "GET http://a/b c",
                "URL \"http://a/b c\" contains a space; expected one URL, with spaces written as %20",
            ),
            (
                "GET http://a/ HTTP/1.1",
                "URL \"http://a/ HTTP/1.1\" contains a space; expected one URL, with spaces \
                 written as %20",
            ),
        ] {
            assert_eq!(
                err(text),
                format!("--targets targets.txt:1: {why}"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn refusals_do_not_show_passwords() {
        let e = err("GET http://user:secret@/x\n");
        assert!(e.contains("has no host"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let e = err("{\"url\": \"http://user:secret@:80/\"}\n");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn http_body_file_refusals() {
        assert_eq!(
            err("POST http://a/\n@\n"),
            "--targets targets.txt:2: the body line names no file; expected \"@path/to/body\""
        );
        let e = err("POST http://a/\nX-A: 1\n@/nonexistent/volley/body.json\n");
        assert!(
            e.starts_with(
                "--targets targets.txt:3: cannot read body file \"/nonexistent/volley/body.json\": "
            ),
            "{e}"
        );
        let dir = Scratch::new("body-dir");
        let e = err(&format!("POST http://a/\n@{}\n", dir.0.display()));
        assert!(e.contains("cannot read body file"), "{e}");
    }

    #[test]
    fn a_file_without_targets_is_refused() {
        let http = "--targets targets.txt: no targets; expected \"METHOD URL\" lines such as \
                    \"GET https://example.com/\"";
        assert_eq!(err(""), http);
        assert_eq!(err("\n \r\n\t\n"), http);
        assert_eq!(err("# nothing\n# here\n"), http);
        assert_eq!(
            err_as("# nothing\n", Some(TargetsFormat::Jsonl)),
            "--targets targets.txt: no targets; expected one JSON object per line such as \
             {\"url\": \"https://example.com/\"}"
        );
    }

    #[test]
    fn the_path_is_shown_as_given() {
        let e = parse_targets(Path::new("load/my targets.txt"), "get http://a/", None)
            .unwrap_err()
            .0;
        assert!(e.starts_with("--targets load/my targets.txt:1: "), "{e}");
    }

    #[test]
    fn jsonl_every_field() {
        let t = parse(
            r#"{"name": "login", "method": "POST", "url": "https://api.example.com/login", "header": {"Content-Type": ["application/json"], "X-Multi": ["b", "a"], "Accept": ["*/*"]}, "body": "{\"user\": \"{{row.user}}\"}", "weight": 3, "expect_status": [200, 201]}"#,
        );
        let t = &t[0];
        assert_eq!(t.name.as_deref(), Some("login"));
        assert_eq!(t.method, "POST");
        assert_eq!(t.url, "https://api.example.com/login");
        // In the file's order, not sorted.
        assert_eq!(
            brief(std::slice::from_ref(t))[0].2,
            [
                ("Content-Type", "application/json"),
                ("X-Multi", "b"),
                ("X-Multi", "a"),
                ("Accept", "*/*"),
            ]
        );
        assert_eq!(t.body, br#"{"user": "{{row.user}}"}"#);
        assert_eq!(t.weight, 3);
        assert_eq!(
            t.expect_status.as_ref().map(StatusSet::ranges),
            Some(vec![(200, 201)])
        );
        assert_eq!(t.line, 1);
    }

    #[test]
    fn jsonl_only_the_url_is_required() {
        let t = parse("{\"url\": \"http://a/\"}");
        assert_eq!(t, [TargetDef::new("GET", "http://a/", 1)]);
        let t =
            parse("{\"url\": \"http://a/\", \"name\": null, \"header\": null, \"weight\": null}");
        assert_eq!(t, [TargetDef::new("GET", "http://a/", 1)]);
    }

    #[test]
    fn jsonl_blank_and_comment_lines_are_skipped() {
        let t = parse(
            "# targets\r\n\r\n{\"url\": \"http://a/\"}\r\n  \r\n  {\"url\": \"http://b/\", \"method\": \"DELETE\"}  \r\n\n",
        );
        assert_eq!(
            brief(&t),
            [
                ("GET", "http://a/", vec![], 3),
                ("DELETE", "http://b/", vec![], 5),
            ]
        );
    }

    #[test]
    fn jsonl_body_is_text_not_base64() {
        // vegeta's JSON format would send "FOO" for this body; volley sends
        // the text as written.
        let t = parse(
            r#"{"method":"POST", "url":"https://goku/1", "header":{"Content-Type":["text/plain"]}, "body": "Rk9P"}"#,
        );
        assert_eq!(t[0].body, b"Rk9P");
        let t = parse(r#"{"url":"http://a/", "body": "line\nnext \u00e9"}"#);
        assert_eq!(t[0].body, "line\nnext é".as_bytes());
    }

    #[test]
    fn jsonl_body_file() {
        let dir = Scratch::new("jsonl-body-file");
        let body = dir.file("b.json", b"{\"k\": 1}");
        let t = parse(&format!(
            "{{\"url\": \"http://a/\", \"method\": \"PUT\", \"body_file\": {body:?}}}\n"
        ));
        assert_eq!(t[0].body, b"{\"k\": 1}");
        let t = parse("{\"url\": \"http://a/\", \"body_file\": \"Cargo.toml\"}");
        assert_eq!(t[0].body, std::fs::read("Cargo.toml").unwrap());

        let e = err(
            "{\"url\": \"http://a/\"}\n{\"url\": \"http://a/\", \"body_file\": \"/nonexistent/b\"}",
        );
        assert!(
            e.starts_with("--targets targets.txt:2: cannot read body file \"/nonexistent/b\": "),
            "{e}"
        );
        assert_eq!(
            err(&format!(
                "{{\"url\": \"http://a/\", \"body\": \"x\", \"body_file\": {body:?}}}"
            )),
            "--targets targets.txt:1: both \"body\" and \"body_file\"; expected one of them"
        );
        assert!(err("{\"url\": \"http://a/\", \"body_file\": \"\"}").contains("names no file"));
    }

    #[test]
    fn jsonl_header_values() {
        let t = parse(
            r#"{"url": "http://a/", "header": {"X-One": "v", "X-None": [], "x-lower": ["1"]}}"#,
        );
        assert_eq!(brief(&t)[0].2, [("X-One", "v"), ("x-lower", "1")]);
        assert_eq!(
            err(r#"{"url": "http://a/", "header": {"X-N": [1]}}"#),
            "--targets targets.txt:1: header \"X-N\" has a value that is not a string; \
             expected {\"X-N\": [\"value\", …]}"
        );
        assert!(err(r#"{"url": "http://a/", "header": {"X-N": null}}"#).contains("not a string"));
        assert!(
            err(r#"{"url": "http://a/", "header": {"X N": ["1"]}}"#)
                .contains("header name \"X N\" is not a valid name")
        );
        assert!(
            err(r#"{"url": "http://a/", "header": {"": ["1"]}}"#)
                .contains("header name \"\" is not a valid name")
        );
        assert!(
            err(r#"{"url": "http://a/", "header": {"X": ["a\r\nEvil: 1"]}}"#)
                .contains("control character")
        );
        assert!(
            err(r#"{"url": "http://a/", "header": ["X: 1"]}"#)
                .contains("expected an object of header names to lists of values")
        );
    }

    #[test]
    fn jsonl_methods() {
        let t = parse(
            "{\"url\": \"http://a/\", \"method\": \"PATCH\"}\n{\"url\": \"http://a/\", \"method\": \"M-SEARCH\"}",
        );
        assert_eq!(t[1].method, "M-SEARCH");
        for bad in ["", "GE T", "GET\\n"] {
            let e = err(&format!(
                "{{\"url\": \"http://a/\", \"method\": \"{bad}\"}}"
            ));
            assert!(
                e.contains("is not an HTTP method; expected a word such as \"GET\" or \"POST\""),
                "{e}"
            );
        }
    }

    #[test]
    fn jsonl_weights() {
        let t = parse(
            "{\"url\": \"http://a/\", \"weight\": 1}\n{\"url\": \"http://b/\", \"weight\": 4294967295}",
        );
        assert_eq!((t[0].weight, t[1].weight), (1, u32::MAX));
        for w in ["0", "-1", "4294967296"] {
            assert_eq!(
                err(&format!("{{\"url\": \"http://a/\", \"weight\": {w}}}")),
                format!(
                    "--targets targets.txt:1: weight {w} is out of range; expected a whole \
                     number from 1 to 4294967295"
                )
            );
        }
        assert!(
            err("{\"url\": \"http://a/\", \"weight\": 2.5}")
                .contains("invalid type: floating point `2.5`")
        );
        assert!(
            err("{\"url\": \"http://a/\", \"weight\": \"3\"}")
                .contains("invalid type: string \"3\"")
        );
    }

    #[test]
    fn jsonl_expect_status_forms() {
        let ranges = |v: &str| {
            parse(&format!(
                "{{\"url\": \"http://a/\", \"expect_status\": {v}}}"
            ))[0]
                .expect_status
                .as_ref()
                .unwrap()
                .ranges()
        };
        assert_eq!(ranges("204"), [(204, 204)]);
        assert_eq!(ranges("\"2xx\""), [(200, 299)]);
        assert_eq!(ranges("\"2xx,304\""), [(200, 299), (304, 304)]);
        assert_eq!(
            ranges("[200, \"3xx\", 404]"),
            [(200, 200), (300, 399), (404, 404)]
        );
        assert_eq!(ranges("[\"201\", \"200\"]"), [(200, 201)]);
    }

    #[test]
    fn jsonl_expect_status_refusals() {
        let e = |v: &str| {
            err(&format!(
                "{{\"url\": \"http://a/\", \"expect_status\": {v}}}"
            ))
        };
        assert_eq!(
            e("[200, \"abc\"]"),
            "--targets targets.txt:1: expect_status: \"abc\" is not a status; expected a status \
             100-999 or a class like 2xx, comma-separated (200,204 or 2xx,304)"
        );
        assert!(e("1000").contains("\"1000\" is not a status"));
        assert!(e("200.0").contains("\"200.0\" is not a status"));
        assert!(e("[]").contains("expect_status: no statuses"));
        assert!(e("\"\"").contains("expect_status: an empty item"));
        assert_eq!(
            e("true"),
            "--targets targets.txt:1: expect_status holds true; expected statuses and classes \
             such as [200, 201] or \"2xx,304\""
        );
        assert!(e("[{\"min\": 200}]").contains("expect_status holds {\"min\":200}"));
    }

    #[test]
    fn jsonl_names() {
        let t = parse(
            "{\"url\": \"http://a/\", \"name\": \"home page\"}\n{\"url\": \"http://a/\", \"name\": \"other\"}",
        );
        assert_eq!(t[0].name.as_deref(), Some("home page"));
        assert_eq!(
            err(
                "{\"url\": \"http://a/\", \"name\": \"login\"}\n\n{\"url\": \"http://b/\", \"name\": \"login\"}"
            ),
            "--targets targets.txt:3: name \"login\" is also the name of the target on line 1; \
             expected a different name for each target"
        );
        assert_eq!(
            err("{\"url\": \"http://a/\", \"name\": \" \"}"),
            "--targets targets.txt:1: \"name\" is empty; expected a name such as \"login\", or \
             no \"name\""
        );
        assert!(err("{\"url\": \"http://a/\", \"name\": \"a\\tb\"}").contains("control character"));
    }

    #[test]
    fn jsonl_fields_and_syntax_refusals() {
        let e = err("{\"url\": \"http://a/\", \"headers\": {}}");
        assert!(
            e.starts_with("--targets targets.txt:1: unknown field `headers`, expected one of `name`, `method`, `url`, `header`, `body`, `body_file`, `weight`, `expect_status` (column "),
            "{e}"
        );
        let e = err("{\"method\": \"GET\"}");
        assert_eq!(
            e,
            "--targets targets.txt:1: missing field `url` (column 17); expected one JSON object \
             per line such as {\"url\": \"https://example.com/\"}"
        );
        let e = err("{\"url\": \"http://a/\"}\n{\"url\": \"http://b/\"");
        assert!(
            e.starts_with("--targets targets.txt:2: EOF while parsing an object (column "),
            "{e}"
        );
        let e = err("{\"url\": \"http://a/\"} {\"url\": \"http://b/\"}");
        assert!(
            e.starts_with("--targets targets.txt:1: trailing characters (column "),
            "{e}"
        );
        let e = err("{\"url\": \"http://a/\"}\nGET http://b/");
        assert!(
            e.starts_with("--targets targets.txt:2: not a JSON object;"),
            "{e}"
        );
        let e = err("{\"url\": 5}");
        assert!(
            e.starts_with("--targets targets.txt:1: invalid type: integer `5`, expected a string"),
            "{e}"
        );
    }

    #[test]
    fn jsonl_url_refusals() {
        assert_eq!(
            err("{\"url\": \"goku/1\"}"),
            "--targets targets.txt:1: URL \"goku/1\" does not start with http:// or https://; \
             expected a URL such as https://example.com/path"
        );
        assert!(err("{\"url\": \"http://:80/\"}").contains("has no host"));
        assert!(err("{\"url\": \"http://a/b c\"}").contains("contains a space"));
    }
}
