//! The value parsers of the plan: URLs, rates, counts, durations, headers
//! and output paths. Each refusal is one line that names the flag, the
//! value and what would be accepted.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use volley_core::Rate;

use crate::error::{UsageError, usage};

/// The target, split from the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The URL as the user gave it (normalised), without its user info: it
    /// is what reports, files and messages show.
    pub(crate) url: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The scheme is https.
    pub(crate) https: bool,
    /// Path and query.
    pub(crate) path: String,
    /// Value for the Host header.
    pub(crate) authority: String,
    /// `user:password` from the URL, percent-decoded, for Basic
    /// authentication (SPEC §9).
    pub(crate) credentials: Option<Credentials>,
}

/// A user name and password; `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The `Authorization` header's value: `Basic base64(user:password)`
    /// (RFC 7617), as curl sends it for a URL with user info.
    pub(crate) fn basic(&self) -> String {
        use base64::Engine as _;
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// `s` with the password of its user info, if any, replaced by `***`, so
/// that a refusal can quote the URL.
pub(crate) fn redact(s: &str) -> String {
    let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
        return s.to_string();
    };
    let authority_end = s[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(s.len(), |i| scheme_end + i);
    let authority = &s[scheme_end..authority_end];
    match authority
        .rfind('@')
        .and_then(|at| authority[..at].find(':').map(|colon| (colon, at)))
    {
        Some((colon, at)) => {
            format!(
                "{}{}***{}",
                &s[..scheme_end],
                &authority[..=colon],
                &s[scheme_end + at..]
            )
        }
        None => s.to_string(),
    }
}

/// Splits an `http://` or `https://` URL.
pub(crate) fn url(s: &str) -> Result<Target, UsageError> {
    let shown = redact(s);
    let bad = |why: &str| {
        usage(format!(
            "--url {shown:?}: {why}; expected http://host[:port]/path or https://..."
        ))
    };
    let mut parsed = match url::Url::parse(s) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => return bad("no scheme"),
        Err(e) => return bad(&e.to_string()),
    };
    let https = match parsed.scheme() {
        "http" => false,
        "https" => true,
        other => return bad(&format!("scheme {other:?} is not supported")),
    };
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        _ => return bad("no host"),
    };
    let port = parsed.port_or_known_default().unwrap_or(80);
    let mut path = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path.push('?');
        path.push_str(q);
    }
    let host_in_url = parsed.host_str().unwrap_or(&host).to_string();
    let authority = match parsed.port() {
        Some(p) => format!("{host_in_url}:{p}"),
        None => host_in_url,
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials =
        (!parsed.username().is_empty() || parsed.password().is_some()).then(|| Credentials {
            user: decode(parsed.username()),
            password: decode(parsed.password().unwrap_or("")),
        });
    // ok: an http(s) URL with a host can always drop its user info.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    Ok(Target {
        url: parsed.to_string(),
        host,
        port,
        https,
        path,
        authority,
        credentials,
    })
}

/// `--rps`: a positive number, or `max`.
pub(crate) fn rate(s: &str) -> Result<Rate, UsageError> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(Rate::Max);
    }
    let v: f64 = s.trim().parse().map_err(|_| {
        UsageError(format!(
            "--rps {s:?}: expected a positive number such as 1000 or 0.5, or max"
        ))
    })?;
    if v.is_nan() || v <= 0.0 || v.is_infinite() {
        return usage(format!(
            "--rps {s:?}: the rate must be greater than 0 (or max)"
        ));
    }
    Rate::per_second(v).ok_or_else(|| {
        UsageError(format!(
            "--rps {s:?}: the rate must be at least 0.001 and finite"
        ))
    })
}

/// A whole number of at least `min`; `_` may separate digits.
pub(crate) fn count(flag: &str, s: &str, min: u64) -> Result<u64, UsageError> {
    match s.trim().replace('_', "").parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        Ok(_) => usage(format!("{flag} {s:?}: must be at least {min}")),
        Err(_) => usage(format!(
            "{flag} {s:?}: expected a whole number, at least {min}"
        )),
    }
}

/// A duration longer than zero.
pub(crate) fn duration_flag(flag: &str, s: &str) -> Result<Duration, UsageError> {
    let d = duration_or_zero(flag, s)?;
    if d.is_zero() {
        return usage(format!("{flag} {s:?}: must be longer than 0"));
    }
    Ok(d)
}

/// A duration, zero allowed.
pub(crate) fn duration_or_zero(flag: &str, s: &str) -> Result<Duration, UsageError> {
    duration(s).ok_or_else(|| {
        UsageError(format!(
            "{flag} {s:?}: expected a duration such as 10, 10s, 500ms, 2m or 1h"
        ))
    })
}

/// `10` (seconds), `1.5s`, `500ms`, `250us`, `2m`, `1h`; at most 100 days.
pub(crate) fn duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| *d <= Duration::from_secs(100 * 24 * 3600))
}

/// `--stages DUR:RATE,DUR:RATE,...` (SPEC §12): at least one stage, rates
/// 0 or more and finite, some rate above 0.
pub(crate) fn stages(s: &str) -> Result<Vec<volley_core::Stage>, UsageError> {
    let bad = |why: String| {
        UsageError(format!(
            "--stages {s:?}: {why}; expected DUR:RATE,DUR:RATE,... such as 30s:1000,2m:1000,30s:0"
        ))
    };
    let mut out = Vec::new();
    for part in s.split(',') {
        let Some((d, r)) = part.trim().rsplit_once(':') else {
            return Err(bad(format!("the stage {part:?} has no ':'")));
        };
        let duration = duration(d).ok_or_else(|| bad(format!("{d:?} is not a duration")))?;
        let rps: f64 = r
            .trim()
            .parse()
            .map_err(|_| bad(format!("{r:?} is not a rate")))?;
        if !rps.is_finite() || rps < 0.0 {
            return Err(bad(format!("the rate {r:?} must be 0 or more")));
        }
        out.push(volley_core::Stage { duration, rps });
    }
    if out.iter().all(|st| st.rps == 0.0) {
        return Err(bad("every rate is 0, so nothing would be sent".into()));
    }
    if out.iter().map(|st| st.duration).sum::<Duration>().is_zero() {
        return Err(bad("the stages last 0 s".into()));
    }
    Ok(out)
}

/// One `--connect-to HOST:PORT:ADDR:PORT` rule: connections for HOST:PORT
/// (either empty: any) go to ADDR:PORT. IPv6 addresses are in brackets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConnectTo {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) to_host: String,
    pub(crate) to_port: u16,
}

impl ConnectTo {
    /// Where a connection for `host:port` goes under this rule, if it matches.
    pub(crate) fn applies(&self, host: &str, port: u16) -> bool {
        self.host
            .as_deref()
            .is_none_or(|h| h.eq_ignore_ascii_case(host))
            && self.port.is_none_or(|p| p == port)
    }
}

/// `--connect-to HOST:PORT:ADDR:PORT`.
pub(crate) fn connect_to(s: &str) -> Result<ConnectTo, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "--connect-to {s:?}: {why}; expected HOST:PORT:ADDR:PORT, e.g. example.test:443:127.0.0.1:8443 \
             (HOST or PORT may be empty to match any; IPv6 in brackets)"
        ))
    };
    // Split on the colons outside brackets.
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    let [host, port, to_host, to_port] = parts[..] else {
        return Err(bad(&format!("{} fields", parts.len())));
    };
    let unbracket = |h: &str| h.trim_start_matches('[').trim_end_matches(']').to_string();
    let port_of = |p: &str, what: &str| {
        p.parse::<u16>()
            .map_err(|_| bad(&format!("{what} {p:?} is not a port number")))
    };
    if to_host.is_empty() {
        return Err(bad("ADDR is empty"));
    }
    Ok(ConnectTo {
        host: (!host.is_empty()).then(|| unbracket(host)),
        port: if port.is_empty() {
            None
        } else {
            Some(port_of(port, "PORT")?)
        },
        to_host: unbracket(to_host),
        to_port: port_of(to_port, "the second PORT")?,
    })
}

/// `--local-addr IP`.
pub(crate) fn local_addr(s: &str) -> Result<std::net::IpAddr, UsageError> {
    let ip: std::net::IpAddr = s.trim().parse().map_err(|_| {
        UsageError(format!(
            "--local-addr {s:?}: expected an IP address of this machine, such as 127.0.0.2 or ::1"
        ))
    })?;
    // Binding is what every connection would do: an address this machine
    // does not have fails here, once, instead of in every connect.
    match std::net::UdpSocket::bind((ip, 0)) {
        Ok(_) => Ok(ip),
        Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => usage(format!(
            "--local-addr {ip}: not an address of this machine ({e}); give one of its own, such as 127.0.0.2 or ::1"
        )),
        Err(_) => Ok(ip),
    }
}

/// `--start-at TIME` (SPEC §13): RFC 3339 (`2026-12-01T18:30:00Z`, with an
/// offset or fractions of a second), Unix seconds, or `+DUR` from now. A
/// time already past is refused.
pub(crate) fn start_at(s: &str) -> Result<SystemTime, UsageError> {
    start_at_from(s, SystemTime::now())
}

fn start_at_from(s: &str, now: SystemTime) -> Result<SystemTime, UsageError> {
    let t = s.trim();
    let bad = || {
        UsageError(format!(
            "--start-at {s:?}: expected a time: RFC 3339 such as 2026-12-01T18:30:00Z, Unix seconds such as \
             1796150000, or +DUR from now such as +30s"
        ))
    };
    let at = if let Some(d) = t.strip_prefix('+') {
        now + duration(d).ok_or_else(bad)?
    } else if let Ok(secs) = t.parse::<f64>() {
        SystemTime::UNIX_EPOCH + Duration::try_from_secs_f64(secs).map_err(|_| bad())?
    } else {
        rfc3339(t).ok_or_else(bad)?
    };
    if at < now {
        return usage(format!(
            "--start-at {s:?}: that time has passed; give a time in the future"
        ));
    }
    Ok(at)
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn rfc3339(t: &str) -> Option<SystemTime> {
    let (date, rest) = t.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let zone_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = rest.split_at(zone_at);
    let mut c = clock.splitn(3, ':');
    let (hour, minute) = (
        c.next()?.parse::<i64>().ok()?,
        c.next()?.parse::<i64>().ok()?,
    );
    let second: f64 = c.next()?.parse().ok()?;
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61.0;
    if !valid || !second.is_finite() || second < 0.0 {
        return None;
    }
    // Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let whole = days * 86_400 + hour * 3600 + minute * 60 - offset;
    let secs = whole as f64 + second;
    (secs >= 0.0).then(|| SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs))
}

/// `-H 'Name: value'`.
pub(crate) fn header(h: &str) -> Result<(String, String), UsageError> {
    let Some((name, value)) = h.split_once(':') else {
        return usage(format!(
            "--header {h:?}: expected 'Name: value' with a colon"
        ));
    };
    Ok((name.trim().to_string(), value.trim().to_string()))
}

/// A file volley will write at the end (`--save`, `--html`): checked before
/// the run, so that a typo costs no run.
pub(crate) fn output_path(flag: &str, path: &str) -> Result<PathBuf, UsageError> {
    let example = match flag {
        "--html" => "report.html",
        "--live" => "live.jsonl",
        _ => "result.json",
    };
    if path.is_empty() {
        return usage(format!(
            "{flag} \"\": expected a file name such as {example}"
        ));
    }
    let p = PathBuf::from(path);
    if p.is_dir() {
        return usage(format!(
            "{flag} {path:?}: is a directory; expected a file name such as {example}"
        ));
    }
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return usage(format!(
                "{flag} {path:?}: the directory {:?} does not exist",
                dir.display().to_string()
            ));
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10"), Some(Duration::from_secs(10)));
        assert_eq!(duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(duration("ten"), None);
        assert_eq!(duration("10 parsecs"), None);
        assert_eq!(duration(""), None);
    }

    #[test]
    fn output_paths_are_checked_early() {
        assert!(output_path("--save", "result.json").is_ok());
        assert!(
            output_path("--save", "/tmp")
                .unwrap_err()
                .0
                .contains("is a directory")
        );
        assert!(
            output_path("--save", "/no/such/dir/r.json")
                .unwrap_err()
                .0
                .contains("does not exist")
        );
        assert!(output_path("--save", "").is_err());
    }

    #[test]
    fn user_info_is_taken_out_of_the_url() {
        let t = url("http://us%40er:p%3Ass@127.0.0.1:8080/x").unwrap();
        assert_eq!(t.url, "http://127.0.0.1:8080/x");
        assert_eq!(t.authority, "127.0.0.1:8080");
        let c = t.credentials.unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("us@er", "p:ss"));
        assert_eq!(c.basic(), "Basic dXNAZXI6cDpzcw==");
        assert!(!format!("{c:?}").contains("p:ss"));
        // A user without a password sends an empty one, as curl does.
        let c = url("http://alice@h/").unwrap().credentials.unwrap();
        assert_eq!(c.basic(), "Basic YWxpY2U6");
        assert_eq!(url("http://h/").unwrap().credentials, None);
    }

    #[test]
    fn refusals_do_not_show_the_password() {
        assert_eq!(redact("ftp://u:secret@h/x"), "ftp://u:***@h/x");
        assert_eq!(redact("http://u@h/x:y@z"), "http://u@h/x:y@z");
        assert_eq!(redact("http://h:80/"), "http://h:80/");
        let e = url("ftp://u:secret@h/x").unwrap_err().0;
        assert!(!e.contains("secret") && e.contains("u:***@h"), "{e}");
    }

    #[test]
    fn start_times() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_150_000);
        let at = |s: &str| {
            start_at_from(s, now).map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap())
        };
        assert_eq!(at("+30s").unwrap(), Duration::from_secs(1_796_150_030));
        assert_eq!(
            at("1796150100.5").unwrap(),
            Duration::from_millis(1_796_150_100_500)
        );
        // 2026-12-01T00:00:00Z is 1,796,083,200.
        assert_eq!(
            at("2026-12-02T00:00:00Z").unwrap(),
            Duration::from_secs(1_796_169_600)
        );
        assert_eq!(
            at("2026-12-02T01:30:00.25+01:30").unwrap(),
            Duration::from_millis(1_796_169_600_250)
        );
        assert!(
            at("2026-12-01T00:00:00Z")
                .unwrap_err()
                .0
                .contains("has passed")
        );
        for bad in [
            "tomorrow",
            "2026-13-01T00:00:00Z",
            "2026-12-02T00:00:00",
            "+soon",
        ] {
            assert!(
                at(bad)
                    .unwrap_err()
                    .0
                    .starts_with(&format!("--start-at {bad:?}: expected a time")),
                "{bad}"
            );
        }
    }

    #[test]
    fn stage_lists() {
        let st = stages("2s:1000, 500ms:1000,2s:0").unwrap();
        assert_eq!(st.len(), 3);
        assert_eq!(
            (st[1].duration, st[1].rps),
            (Duration::from_millis(500), 1000.0)
        );
        for (bad, why) in [
            ("2s", "no ':'"),
            ("x:100", "\"x\" is not a duration"),
            ("2s:fast", "not a rate"),
            ("2s:-1", "0 or more"),
            ("2s:0,1s:0", "every rate is 0"),
            ("0s:10", "last 0 s"),
        ] {
            let e = stages(bad).unwrap_err().0;
            assert!(
                e.starts_with(&format!("--stages {bad:?}: ")) && e.contains(why),
                "{e}"
            );
        }
    }

    #[test]
    fn connect_to_rules() {
        let r = connect_to("example.test:443:127.0.0.1:8443").unwrap();
        assert_eq!(
            r,
            ConnectTo {
                host: Some("example.test".into()),
                port: Some(443),
                to_host: "127.0.0.1".into(),
                to_port: 8443
            }
        );
        assert!(
            r.applies("EXAMPLE.test", 443)
                && !r.applies("example.test", 80)
                && !r.applies("other", 443)
        );
        let any = connect_to("::[::1]:9000").unwrap();
        assert_eq!(
            (any.host, any.port, any.to_host.as_str(), any.to_port),
            (None, None, "::1", 9000)
        );
        let v6 = connect_to("[::1]:80:localhost:8080").unwrap();
        assert!(v6.applies("::1", 80));
        for (bad, why) in [
            ("a:1:b", "3 fields"),
            ("a:x:b:1", "PORT \"x\""),
            ("a:1::1", "ADDR is empty"),
            ("a:1:b:99999", "second PORT"),
        ] {
            let e = connect_to(bad).unwrap_err().0;
            assert!(
                e.starts_with(&format!("--connect-to {bad:?}: ")) && e.contains(why),
                "{e}"
            );
        }
        assert!(local_addr("127.0.0.2").is_ok());
        assert!(
            local_addr("localhost")
                .unwrap_err()
                .0
                .contains("--local-addr \"localhost\"")
        );
        // 192.0.2.1 is documentation space (RFC 5737): no machine has it.
        let e = local_addr("192.0.2.1").unwrap_err().0;
        assert!(e.contains("not an address of this machine"), "{e}");
    }

    #[test]
    fn ipv6_host() {
        let t = url("http://[::1]:9000/x").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.authority, "[::1]:9000");
    }
}
