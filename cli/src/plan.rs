//! Validates the command line into a [`Plan`] before any socket exists.
//! Every refusal is one line naming the flag, the value and what is accepted.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use volley_core::{Config, Rate, RequestSpec, RequestTemplate};

use crate::args::{OutputFormat, RunArgs};

/// A bad command line (exit code 2).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage<T>(msg: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(msg.into()))
}

/// The target, split from the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The URL as the user gave it (normalised).
    pub(crate) url: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The scheme is https.
    pub(crate) https: bool,
    /// Path and query.
    pub(crate) path: String,
    /// Value for the Host header.
    pub(crate) authority: String,
}

/// Everything a run needs, validated.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) target: Target,
    pub(crate) method: String,
    pub(crate) template: RequestTemplate,
    /// The whole run, or its `--shard`, before the split across threads.
    pub(crate) config: Config,
    pub(crate) threads: usize,
    pub(crate) output: OutputFormat,
    pub(crate) quiet: bool,
    /// TLS setup for an https target.
    pub(crate) tls: Option<volley_driver::Tls>,
    /// Certificates are not verified (`--insecure`).
    pub(crate) insecure: bool,
    /// `--threshold` rules.
    pub(crate) thresholds: Vec<crate::threshold::Rule>,
    /// `--save PATH`.
    pub(crate) save: Option<std::path::PathBuf>,
    /// `--html PATH`.
    pub(crate) html: Option<std::path::PathBuf>,
    /// `--shard I/N`; `config` is already this shard's part.
    pub(crate) shard: Option<crate::shard::Shard>,
    /// `--log PATH`.
    pub(crate) log: Option<String>,
}

/// Defaults that differ between `volley` and `volley demo`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Defaults {
    pub(crate) rps: Option<&'static str>,
    pub(crate) users: Option<&'static str>,
    pub(crate) duration: &'static str,
}

pub(crate) const RUN_DEFAULTS: Defaults = Defaults {
    rps: None,
    users: None,
    duration: "10s",
};

/// Validates `args` (everything but resolving the host).
pub(crate) fn build(args: &RunArgs, defaults: Defaults) -> Result<Plan, UsageError> {
    let url = match (&args.url, &args.url_positional) {
        (Some(_), Some(_)) => {
            return usage("give the URL once: either --url URL or a positional URL");
        }
        (Some(u), None) | (None, Some(u)) => u.as_str(),
        (None, None) => return usage("--url is required, e.g. --url http://127.0.0.1:8080/"),
    };
    let target = parse_url(url)?;

    let rps = args.rps.as_deref().or(defaults.rps);
    let rate = match rps {
        None => {
            return usage(
                "--rps is required: a rate in requests per second such as 1000 or 0.5, or max",
            );
        }
        Some(s) => parse_rate(s)?,
    };
    let users = match args.users.as_deref().or(defaults.users) {
        None => return usage("--users is required: the number of concurrent users, at least 1"),
        Some(s) => parse_count("--users", s, 1)? as usize,
    };
    let duration = parse_duration_flag(
        "--duration",
        args.duration.as_deref().unwrap_or(defaults.duration),
    )?;
    let timeout = parse_duration_flag("--timeout", args.timeout.as_deref().unwrap_or("30s"))?;
    let connect_timeout = parse_duration_flag(
        "--connect-timeout",
        args.connect_timeout.as_deref().unwrap_or("5s"),
    )?;
    let ramp_up = match &args.ramp_up {
        Some(s) => parse_duration_allow_zero("--ramp-up", s)?,
        None => Duration::ZERO,
    };
    if !ramp_up.is_zero() && rate == Rate::Max {
        return usage("--ramp-up needs a fixed --rps; with --rps max there is no rate to ramp");
    }
    let max_requests = args
        .requests
        .as_deref()
        .map(|s| parse_count("--requests", s, 1))
        .transpose()?;
    let threads = match &args.threads {
        Some(s) => parse_count("--threads", s, 1)? as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
    .min(users);

    let mut headers = Vec::with_capacity(args.headers.len());
    for h in &args.headers {
        let Some((name, value)) = h.split_once(':') else {
            return usage(format!(
                "--header {h:?}: expected 'Name: value' with a colon"
            ));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let body = match (&args.body, &args.body_file) {
        (Some(b), _) => b.clone().into_bytes(),
        (None, Some(path)) => std::fs::read(path)
            .map_err(|e| UsageError(format!("--body-file {path:?}: cannot read it: {e}")))?,
        (None, None) => Vec::new(),
    };
    let method = args.method.to_ascii_uppercase();
    let spec = RequestSpec {
        method: method.clone(),
        target: target.path.clone(),
        host: target.authority.clone(),
        headers,
        body,
        close: args.no_keepalive,
    };
    let template = RequestTemplate::new(&spec).map_err(|e| {
        let flag = match e {
            volley_core::RequestError::InvalidMethod(_) => "--method",
            volley_core::RequestError::InvalidTarget(_) => "--url",
            _ => "--header",
        };
        UsageError(format!("{flag}: {e}"))
    })?;

    if !target.https && (args.insecure || args.cacert.is_some()) {
        let flag = if args.insecure {
            "--insecure"
        } else {
            "--cacert"
        };
        return usage(format!(
            "{flag} applies to https:// URLs only; the URL is {:?}",
            target.url
        ));
    }
    let tls = if target.https {
        let options = volley_driver::TlsOptions {
            server_name: target.host.clone(),
            insecure: args.insecure,
            cacert: args.cacert.as_ref().map(std::path::PathBuf::from),
        };
        Some(volley_driver::Tls::new(&options).map_err(|e| UsageError(e.to_string()))?)
    } else {
        None
    };

    let mut config = Config::new(users, rate);
    config.duration = duration;
    config.max_requests = max_requests;
    config.ramp_up = ramp_up;
    config.timeout = timeout;
    config.connect_timeout = connect_timeout;
    config.keep_alive = !args.no_keepalive;
    let thresholds = crate::threshold::parse_all(&args.thresholds)?;
    let save = args
        .save
        .as_deref()
        .map(|p| crate::saved::check_path("--save", p))
        .transpose()?;
    let html = args
        .html
        .as_deref()
        .map(|p| crate::saved::check_path("--html", p))
        .transpose()?;
    let shard = crate::shard::apply(args.shard.as_deref(), &mut config)?;
    let threads = threads.min(config.users);
    config.record_requests = args.log.is_some();
    Ok(Plan {
        log: args.log.clone(),
        target,
        method,
        template,
        config,
        threads,
        output: args.output,
        quiet: args.quiet,
        tls,
        insecure: args.insecure,
        thresholds,
        save,
        html,
        shard,
    })
}

/// Splits an `http://` or `https://` URL.
pub(crate) fn parse_url(s: &str) -> Result<Target, UsageError> {
    let bad = |why: &str| {
        usage(format!(
            "--url {s:?}: {why}; expected http://host[:port]/path or https://..."
        ))
    };
    let parsed = match url::Url::parse(s) {
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
    Ok(Target {
        url: parsed.to_string(),
        host,
        port,
        https,
        path,
        authority,
    })
}

/// Resolves the target host (the run cannot happen if this fails: exit 1).
pub(crate) fn resolve(target: &Target) -> Result<SocketAddr, String> {
    let addrs = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host {:?}: {e}", target.host))?;
    let addrs: Vec<_> = addrs.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("host {:?} resolved to no address", target.host))
}

fn parse_rate(s: &str) -> Result<Rate, UsageError> {
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

fn parse_count(flag: &str, s: &str, min: u64) -> Result<u64, UsageError> {
    match s.trim().replace('_', "").parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        Ok(_) => usage(format!("{flag} {s:?}: must be at least {min}")),
        Err(_) => usage(format!(
            "{flag} {s:?}: expected a whole number, at least {min}"
        )),
    }
}

fn parse_duration_flag(flag: &str, s: &str) -> Result<Duration, UsageError> {
    let d = parse_duration_allow_zero(flag, s)?;
    if d.is_zero() {
        return usage(format!("{flag} {s:?}: must be longer than 0"));
    }
    Ok(d)
}

fn parse_duration_allow_zero(flag: &str, s: &str) -> Result<Duration, UsageError> {
    parse_duration(s).ok_or_else(|| {
        UsageError(format!(
            "{flag} {s:?}: expected a duration such as 10, 10s, 500ms, 2m or 1h"
        ))
    })
}

/// `10` (seconds), `1.5s`, `500ms`, `250us`, `2m`, `1h`.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> RunArgs {
        use clap::Parser;
        let mut argv = vec!["volley"];
        argv.extend_from_slice(list);
        crate::args::Cli::try_parse_from(argv).unwrap().run
    }

    fn err(list: &[&str]) -> String {
        build(&args(list), RUN_DEFAULTS).unwrap_err().0
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("10 parsecs"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn a_full_plan() {
        let p = build(
            &args(&[
                "--url",
                "http://localhost:8080/a?b=c",
                "--rps",
                "2.5",
                "--users",
                "4",
                "-d",
                "3s",
                "-H",
                "X-A: 1",
            ]),
            RUN_DEFAULTS,
        )
        .unwrap();
        assert_eq!(p.target.host, "localhost");
        assert_eq!(p.target.port, 8080);
        assert_eq!(p.target.path, "/a?b=c");
        assert_eq!(p.config.rate, Rate::Fixed { milli_rps: 2500 });
        assert_eq!(p.config.users, 4);
        assert_eq!(p.config.duration, Duration::from_secs(3));
        assert!(p.threads >= 1 && p.threads <= 4);
        let req = String::from_utf8(p.template.bytes().to_vec()).unwrap();
        assert!(
            req.starts_with("GET /a?b=c HTTP/1.1\r\nHost: localhost:8080\r\n"),
            "{req}"
        );
        assert!(req.contains("\r\nX-A: 1\r\n"));
    }

    #[test]
    fn positional_url_and_max() {
        let p = build(
            &args(&["http://127.0.0.1/", "--rps", "max", "-c", "2"]),
            RUN_DEFAULTS,
        )
        .unwrap();
        assert_eq!(p.config.rate, Rate::Max);
        assert_eq!(p.target.port, 80);
        assert_eq!(p.target.authority, "127.0.0.1");
    }

    #[test]
    fn refusals_name_the_flag() {
        let base = ["--url", "http://127.0.0.1:1/", "--users", "1"];
        let with = |extra: &[&str]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            err(&v)
        };
        assert!(with(&["--rps", "0"]).starts_with("--rps \"0\""));
        assert!(with(&["--rps", "-5"]).starts_with("--rps \"-5\""));
        assert!(with(&["--rps", "fast"]).starts_with("--rps \"fast\""));
        assert!(with(&["--rps", "1", "-d", "soon"]).starts_with("--duration \"soon\""));
        assert!(with(&["--rps", "1", "-H", "NoColon"]).starts_with("--header \"NoColon\""));
        assert!(with(&["--rps", "1", "--body-file", "/nonexistent/x"]).starts_with("--body-file"));
        assert!(with(&["--rps", "1", "--timeout", "0s"]).starts_with("--timeout \"0s\""));
        assert!(with(&["--rps", "1", "-m", "G T"]).starts_with("--method"));
        assert!(
            err(&["--url", "http://127.0.0.1/", "--rps", "1", "--users", "0"])
                .starts_with("--users \"0\"")
        );
        assert!(err(&["--url", "ftp://x/", "--rps", "1", "--users", "1"]).contains("scheme"));
        assert!(
            err(&["--url", "127.0.0.1:8080", "--rps", "1", "--users", "1"]).starts_with("--url")
        );
        assert!(err(&["--url", "http://:80/", "--rps", "1", "--users", "1"]).starts_with("--url"));
        assert!(err(&["--rps", "1", "--users", "1"]).starts_with("--url is required"));
        assert!(err(&["--url", "http://a/", "--users", "1"]).starts_with("--rps is required"));
        for e in [with(&["--rps", "0"]), err(&["--rps", "1", "--users", "1"])] {
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn ipv6_host() {
        let t = parse_url("http://[::1]:9000/x").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.authority, "[::1]:9000");
        assert_eq!(resolve(&t).unwrap(), "[::1]:9000".parse().unwrap());
    }
}
