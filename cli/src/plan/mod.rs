//! The plan stage: the command line validated into a [`Plan`] before any
//! socket exists (ripgrep's low-level/high-level arguments split). Every
//! refusal is one line naming the flag, the value and what is accepted
//! (exit code 2).

pub(crate) mod data;
pub(crate) mod live;
pub(crate) mod parse;
pub(crate) mod requests;
pub(crate) mod shard;
pub(crate) mod status;
pub(crate) mod targets;
pub(crate) mod threshold;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use volley_core::{Config, Http2, Rate, Requests};

use crate::args::{MergeArgs, OutputFormat, RunArgs};
use crate::error::{UsageError, usage};
pub(crate) use parse::Target;
use shard::Shard;
use threshold::Rule;

/// Everything a run needs, validated.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Where requests go: the URL, or the origin of `--targets`.
    pub(crate) target: Target,
    /// The method of the one request; `*` for a list of targets.
    pub(crate) method: String,
    /// What the users send.
    pub(crate) requests: Requests,
    /// The targets of `--targets`, in order; empty for one request.
    pub(crate) targets: Vec<requests::TargetMeta>,
    /// The whole run, or its `--shard`, before the split across threads.
    pub(crate) config: Config,
    pub(crate) threads: usize,
    pub(crate) quiet: bool,
    /// Every origin requests go to, with its TLS setup when https: the
    /// URL's, or one for each origin of `--targets` (the first is
    /// `target`'s).
    pub(crate) origins: Vec<PlanOrigin>,
    /// Certificates are not verified (`--insecure`).
    pub(crate) insecure: bool,
    /// `--shard I/N`; `config` is already this shard's part.
    pub(crate) shard: Option<Shard>,
    /// `--log PATH`.
    pub(crate) log: Option<String>,
    /// What happens with the result.
    pub(crate) report: Report,
    /// Where connections go, when not to the URL's host.
    pub(crate) reach: Reach,
    /// `--start-at`: `t0` is held until this wall-clock time.
    pub(crate) start_at: Option<std::time::SystemTime>,
    /// The live views: metrics endpoint, `--live` lines, `--tui`.
    pub(crate) watch: live::Watch,
}

/// One origin of a plan.
#[derive(Clone, Debug)]
pub(crate) struct PlanOrigin {
    pub(crate) target: Target,
    pub(crate) tls: Option<volley_driver::Tls>,
}

/// `--connect-to`, `--unix-socket` and `--local-addr` (SPEC §9).
#[derive(Clone, Debug, Default)]
pub(crate) struct Reach {
    pub(crate) connect_to: Vec<parse::ConnectTo>,
    pub(crate) unix_socket: Option<PathBuf>,
    pub(crate) local: Vec<std::net::IpAddr>,
}

/// What to do with a result, a run's or a merge's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Report {
    /// The report's format on stdout; `None` when stdout carries the
    /// `--live` lines instead.
    pub(crate) output: Option<OutputFormat>,
    /// `--threshold` rules.
    pub(crate) thresholds: Vec<Rule>,
    /// `--save PATH`.
    pub(crate) save: Option<PathBuf>,
    /// `--html PATH`.
    pub(crate) html: Option<PathBuf>,
}

impl Report {
    fn build(
        output: Option<OutputFormat>,
        thresholds: &[String],
        save: Option<&str>,
        html: Option<&str>,
    ) -> Result<Self, UsageError> {
        Ok(Self {
            output,
            thresholds: threshold::parse_all(thresholds)?,
            save: save.map(|p| parse::output_path("--save", p)).transpose()?,
            html: html.map(|p| parse::output_path("--html", p)).transpose()?,
        })
    }
}

impl Plan {
    /// The name of the run's request in live views: `METHOD path` (as SPEC
    /// §10 names a target without a name), or `*` for a list of targets.
    pub(crate) fn target_name(&self) -> String {
        match self.targets.is_empty() {
            true => format!("{} {}", self.method, self.target.path),
            false => "*".into(),
        }
    }

    /// The URL reports name: the one request's, or for a run of targets
    /// their origins (`http://127.0.0.1:8080/`, comma-separated).
    pub(crate) fn url(&self) -> String {
        if self.targets.is_empty() {
            return self.target.url.clone();
        }
        let origins: Vec<String> = self
            .origins
            .iter()
            .map(|o| {
                let scheme = if o.target.https { "https" } else { "http" };
                format!("{scheme}://{}/", o.target.authority)
            })
            .collect();
        origins.join(", ")
    }

    /// The name of each target, in order: the one request's name for a run
    /// without `--targets` (what `--log`'s target column says).
    pub(crate) fn target_names(&self) -> Vec<String> {
        match self.targets.is_empty() {
            true => vec![self.target_name()],
            false => self.targets.iter().map(|t| t.name.clone()).collect(),
        }
    }

    /// The arrival rate this process is asked for: `--rps` (or the highest
    /// stage's), divided by N for a shard. `None` for `--rps max`.
    pub(crate) fn target_rps(&self) -> Option<f64> {
        self.config.rate.rps().map(|r| r / self.shards())
    }

    /// The load shape this process is asked for, as stages (SPEC §12):
    /// `--stages`, or `--ramp-up R` as its shorthand `R:RPS,(D−R):RPS`; the
    /// rates divided by N for a shard. Empty for a fixed rate or `max`.
    pub(crate) fn shape(&self) -> Vec<volley_core::Stage> {
        let c = &self.config;
        let mut stages = c.stages.clone();
        if let (true, false, Some(rps)) = (stages.is_empty(), c.ramp_up.is_zero(), c.rate.rps()) {
            stages = if c.ramp_up < c.duration {
                vec![
                    volley_core::Stage {
                        duration: c.ramp_up,
                        rps,
                    },
                    volley_core::Stage {
                        duration: c.duration - c.ramp_up,
                        rps,
                    },
                ]
            } else {
                let reached = rps * c.duration.as_secs_f64() / c.ramp_up.as_secs_f64();
                vec![volley_core::Stage {
                    duration: c.duration,
                    rps: reached,
                }]
            };
        }
        for st in &mut stages {
            st.rps /= self.shards();
        }
        stages
    }

    fn shards(&self) -> f64 {
        self.shard.map_or(1.0, |s| s.count as f64)
    }
}

/// Validates `args` (everything but resolving the host).
pub(crate) fn build(args: &RunArgs) -> Result<Plan, UsageError> {
    let stages = args
        .stages
        .as_deref()
        .map(parse::stages)
        .transpose()?
        .unwrap_or_default();
    let rate = match (&args.rps, stages.iter().map(|st| st.rps).reduce(f64::max)) {
        (_, Some(peak)) => Rate::per_second(peak).ok_or_else(|| {
            UsageError(format!(
                "--stages: the highest rate, {peak} req/s, must be at least 0.001"
            ))
        })?,
        (None, None) => {
            return usage(
                "--rps is required: a rate in requests per second such as 1000 or 0.5, or max (or --stages)",
            );
        }
        (Some(s), None) => parse::rate(s)?,
    };
    let users = match &args.users {
        None => return usage("--users is required: the number of concurrent users, at least 1"),
        Some(s) => parse::count("--users", s, 1)? as usize,
    };
    let duration = match stages.is_empty() {
        true => parse::duration_flag("--duration", &args.duration)?,
        false => stages.iter().map(|st| st.duration).sum(),
    };
    let timeout = parse::duration_flag("--timeout", &args.timeout)?;
    let connect_timeout = parse::duration_flag("--connect-timeout", &args.connect_timeout)?;
    let ramp_up = match &args.ramp_up {
        Some(s) => parse::duration_or_zero("--ramp-up", s)?,
        None => Duration::ZERO,
    };
    if !ramp_up.is_zero() && rate == Rate::Max {
        return usage("--ramp-up needs a fixed --rps; with --rps max there is no rate to ramp");
    }
    let max_requests = args
        .requests
        .as_deref()
        .map(|s| parse::count("--requests", s, 1))
        .transpose()?;
    let threads = match &args.threads {
        Some(s) => parse::count("--threads", s, 1)? as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
    .min(users);

    let headers = args
        .headers
        .iter()
        .map(|h| parse::header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let built = requests::build(args, &headers)?;
    if built.origins.iter().all(|o| !o.https) {
        let tls_flags = [
            ("--insecure", args.insecure),
            ("--cacert", args.cacert.is_some()),
            ("--cert", args.cert.is_some()),
        ];
        if let Some((flag, _)) = tls_flags.iter().find(|(_, given)| *given) {
            return usage(format!(
                "{flag} applies to https:// URLs only; the URL is {:?}",
                built.origins[0].url
            ));
        }
    }
    let origins = built
        .origins
        .iter()
        .map(|target| {
            let tls = target.https.then(|| {
                let options = volley_driver::TlsOptions {
                    server_name: target.host.clone(),
                    insecure: args.insecure,
                    cacert: args.cacert.as_ref().map(PathBuf::from),
                    client_cert: args
                        .cert
                        .as_ref()
                        .zip(args.key.as_ref())
                        .map(|(c, k)| (PathBuf::from(c), PathBuf::from(k))),
                    http2: args.http2,
                };
                volley_driver::Tls::new(&options).map_err(|e| UsageError(e.to_string()))
            });
            Ok(PlanOrigin {
                target: target.clone(),
                tls: tls.transpose()?,
            })
        })
        .collect::<Result<Vec<_>, UsageError>>()?;
    let target = built.origins[0].clone();
    // Each loop divides its users among the origins, at least one each.
    let threads = threads.min((users / origins.len()).max(1));
    if users < origins.len() {
        return usage(format!(
            "--users {users}: the targets name {} origins, and each needs a user of its own; give at least {}",
            origins.len(),
            origins.len()
        ));
    }

    let mut config = Config::new(users, rate);
    config.duration = duration;
    config.max_requests = max_requests;
    config.ramp_up = ramp_up;
    config.stages = stages;
    config.timeout = timeout;
    config.connect_timeout = connect_timeout;
    config.keep_alive = !args.no_keepalive;
    let threads = match http2(args, threads, users)? {
        Some(plan) => {
            // Each loop keeps at least one connection.
            let threads = threads.min(plan.connections);
            config.http2 = Some(Http2::new(
                plan.connections,
                built.origins.iter().map(|o| o.https).collect(),
            ));
            threads
        }
        None => threads,
    };
    let reach = Reach {
        connect_to: args
            .connect_to
            .iter()
            .map(|r| parse::connect_to(r))
            .collect::<Result<_, _>>()?,
        unix_socket: args.unix_socket.as_deref().map(unix_socket).transpose()?,
        local: args
            .local_addr
            .iter()
            .map(|a| parse::local_addr(a))
            .collect::<Result<_, _>>()?,
    };
    let watch = live::build(args)?;
    let output = (!watch.takes_stdout()).then(|| args.output.unwrap_or_default());
    let report = Report::build(
        output,
        &args.thresholds,
        args.save.as_deref(),
        args.html.as_deref(),
    )?;
    let names: Vec<String> = built.targets.iter().map(|t| t.name.clone()).collect();
    threshold::check_scopes(&report.thresholds, &names)?;
    let shard = shard::apply(args.shard.as_deref(), &mut config)?;
    let threads = threads.min((config.users / origins.len()).max(1));
    config.record_requests = args.log.is_some();
    // Saved results (format 2) carry every second's histograms.
    config.keep_seconds = report.save.is_some();
    Ok(Plan {
        log: args.log.clone(),
        target,
        method: built.method,
        requests: built.requests,
        targets: built.targets,
        config,
        threads,
        quiet: args.quiet,
        origins,
        insecure: args.insecure,
        shard,
        report,
        reach,
        start_at: args.start_at.as_deref().map(parse::start_at).transpose()?,
        watch,
    })
}

/// What `--http2` and `--connections` ask for.
struct Http2Plan {
    connections: usize,
}

/// `--http2` and `--connections N` (SPEC §11): N connections to each
/// origin, by default one per thread; never more than the users, who are
/// the streams that keep them busy.
fn http2(args: &RunArgs, threads: usize, users: usize) -> Result<Option<Http2Plan>, UsageError> {
    if !args.http2 {
        return Ok(None);
    }
    if args.no_keepalive {
        return usage(
            "--no-keepalive does not apply to --http2: its streams share long-lived connections (see --connections)",
        );
    }
    let connections = match &args.connections {
        Some(s) => parse::count("--connections", s, 1)? as usize,
        None => threads,
    };
    if connections > users {
        return usage(format!(
            "--connections {connections} is more than --users {users}: each connection needs a user to keep a stream on it; give at most {users}"
        ));
    }
    Ok(Some(Http2Plan { connections }))
}

/// `--unix-socket PATH`: it must be a socket already.
fn unix_socket(path: &str) -> Result<PathBuf, UsageError> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Ok(m) if m.file_type().is_socket() => Ok(PathBuf::from(path)),
        Ok(_) => usage(format!("--unix-socket {path:?}: is not a socket")),
        Err(e) => usage(format!("--unix-socket {path:?}: {e}")),
    }
}

/// Validates the options of `volley merge`.
pub(crate) fn merge(args: &MergeArgs) -> Result<Report, UsageError> {
    Report::build(
        Some(args.output),
        &args.thresholds,
        args.save.as_deref(),
        args.html.as_deref(),
    )
}

/// Where the connections go: the Unix socket, or the addresses the URL's
/// host (or the `--connect-to` rule that matches it) resolves to, IPv4
/// first, of the family of the `--local-addr` sources if any. A host that
/// does not resolve means the run cannot happen (exit 1); sources of no
/// resolved address's family are a bad command line (exit 2).
/// Where each origin of `plan` connects, resolved.
pub(crate) fn resolve_origins(plan: &Plan) -> anyhow::Result<Vec<volley_driver::Endpoint>> {
    plan.origins
        .iter()
        .map(|o| resolve(&o.target, &plan.reach))
        .collect()
}

pub(crate) fn resolve(target: &Target, reach: &Reach) -> anyhow::Result<volley_driver::Endpoint> {
    if let Some(path) = &reach.unix_socket {
        return Ok(volley_driver::Endpoint::Unix(path.clone()));
    }
    let rule = reach
        .connect_to
        .iter()
        .find(|r| r.applies(&target.host, target.port));
    let (host, port) = rule.map_or((target.host.as_str(), target.port), |r| {
        (r.to_host.as_str(), r.to_port)
    });
    let mut addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| anyhow::anyhow!("cannot resolve host {host:?}: {e}"))?
        .collect();
    // IPv4 first, each family in the resolver's order; no address twice.
    addrs.sort_by_key(|a| a.is_ipv6());
    addrs.dedup();
    if let Some(first) = reach.local.first() {
        let family = |ip: &std::net::IpAddr| ip.is_ipv4();
        if reach.local.iter().any(|ip| family(ip) != family(first)) {
            return Err(UsageError(
                "--local-addr: give source addresses of one family, IPv4 or IPv6".into(),
            )
            .into());
        }
        addrs.retain(|a| a.is_ipv4() == first.is_ipv4());
        if addrs.is_empty() {
            return Err(UsageError(format!(
                "--local-addr {first}: {host:?} resolved to no {} address to connect to from it",
                if first.is_ipv4() { "IPv4" } else { "IPv6" }
            ))
            .into());
        }
    }
    if addrs.is_empty() {
        anyhow::bail!("host {host:?} resolved to no address");
    }
    Ok(volley_driver::Endpoint::Tcp {
        addrs,
        local: reach.local.clone(),
    })
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
        build(&args(list)).unwrap_err().0
    }

    #[test]
    fn a_full_plan() {
        let p = build(&args(&[
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
        ]))
        .unwrap();
        assert_eq!(p.target.host, "localhost");
        assert_eq!(p.target.port, 8080);
        assert_eq!(p.target.path, "/a?b=c");
        assert_eq!(p.config.rate, Rate::Fixed { milli_rps: 2500 });
        assert_eq!(p.config.users, 4);
        assert_eq!(p.config.duration, Duration::from_secs(3));
        assert!(p.threads >= 1 && p.threads <= 4);
        let req = String::from_utf8(p.requests.targets()[0].template.bytes().to_vec()).unwrap();
        assert!(
            req.starts_with("GET /a?b=c HTTP/1.1\r\nHost: localhost:8080\r\n"),
            "{req}"
        );
        assert!(req.contains("\r\nX-A: 1\r\n"));
    }

    #[test]
    fn defaults_are_the_cores() {
        let p = build(&args(&["http://127.0.0.1/", "--rps", "1", "-c", "1"])).unwrap();
        let core = Config::new(1, p.config.rate);
        assert_eq!(
            (
                p.config.duration,
                p.config.timeout,
                p.config.connect_timeout
            ),
            (core.duration, core.timeout, core.connect_timeout)
        );
    }

    #[test]
    fn positional_url_and_max() {
        let p = build(&args(&["http://127.0.0.1/", "--rps", "max", "-c", "2"])).unwrap();
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
    fn user_info_becomes_basic_authentication_unless_a_header_says_otherwise() {
        let request = |list: &[&str]| {
            let p = build(&args(list)).unwrap();
            (
                String::from_utf8(p.requests.targets()[0].template.bytes().to_vec()).unwrap(),
                p.target.url,
            )
        };
        let (req, url) = request(&["http://bob:s3cret@127.0.0.1/", "--rps", "1", "-c", "1"]);
        assert!(
            req.contains("\r\nAuthorization: Basic Ym9iOnMzY3JldA==\r\n"),
            "{req}"
        );
        assert!(!url.contains("s3cret") && !url.contains("bob"), "{url}");
        let (req, _) = request(&[
            "http://bob:s3cret@127.0.0.1/",
            "--rps",
            "1",
            "-c",
            "1",
            "-H",
            "authorization: Bearer t",
        ]);
        assert!(
            req.contains("\r\nauthorization: Bearer t\r\n") && !req.contains("Basic"),
            "{req}"
        );
    }

    #[test]
    fn where_connections_go() {
        let tcp = |addrs: &[&str]| volley_driver::Endpoint::Tcp {
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            local: Vec::new(),
        };
        let t = parse::url("http://[::1]:9000/x").unwrap();
        assert_eq!(
            resolve(&t, &Reach::default()).unwrap(),
            tcp(&["[::1]:9000"])
        );
        let t = parse::url("https://example.test/").unwrap();
        let reach = Reach {
            connect_to: vec![
                parse::connect_to("other.test:443:127.0.0.9:1").unwrap(),
                parse::connect_to("example.test:443:127.0.0.1:8443").unwrap(),
                parse::connect_to("::127.0.0.2:2").unwrap(),
            ],
            ..Reach::default()
        };
        assert_eq!(
            resolve(&t, &reach).unwrap(),
            tcp(&["127.0.0.1:8443"]),
            "the first rule that matches"
        );
        let from_v4 = Reach {
            local: vec!["127.0.0.2".parse().unwrap()],
            ..Reach::default()
        };
        let e = resolve(&parse::url("http://[::1]:9000/").unwrap(), &from_v4).unwrap_err();
        assert!(
            e.downcast_ref::<UsageError>()
                .is_some_and(|u| u.0.contains("no IPv4 address")),
            "{e}"
        );
        let e = resolve(
            &parse::url("http://no-such-host.invalid/").unwrap(),
            &Reach::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot resolve host"), "{e}");
    }
}
