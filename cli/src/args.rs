//! The command line as clap sees it. The `///` comments are the `--help` text.
//! Values stay strings here; the plan stage validates them. Each default is
//! written once: the run defaults are `volley_core::Config`'s constants,
//! shown by clap, and `volley demo` sets its own below.

use clap::{Args, Parser, Subcommand, ValueEnum};
use volley_core::Config;

use crate::format::dur;

/// `volley demo`'s load unless told otherwise.
const DEMO_RPS: &str = "1000";
const DEMO_USERS: &str = "20";
const DEMO_DURATION: &str = "5s";
/// `volley find`'s users unless told otherwise: raised by Little's law when
/// they are too few.
const FIND_USERS: &str = "20";

/// volley: an HTTP load generator. It sends requests at a target rate from a
/// pool of concurrent users and reports latency (measured from when each
/// request was due, so server stalls are not hidden), service time, status
/// codes and errors.
#[derive(Debug, Parser)]
#[command(
    name = "volley",
    version,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
#[command(
    after_help = "Examples:\n  volley --url http://127.0.0.1:8080/ --rps 1000 --users 50 --duration 10\n  \
    volley http://127.0.0.1:8080/api --rps max --users 100 -d 30s -o json\n  \
    volley demo --duration 2"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub(crate) enum Command {
    /// Serve a small, fast HTTP/1.1 target, and HTTP/2 with --http2 (for
    /// trying volley out).
    Serve(ServeArgs),
    /// Start the built-in target on a free loopback port and run a load
    /// test against it.
    #[command(
        mut_arg("rps", |a| a.default_value(DEMO_RPS)),
        mut_arg("users", |a| a.default_value(DEMO_USERS)),
        mut_arg("duration", |a| a.default_value(DEMO_DURATION))
    )]
    Demo(RunArgs),
    /// Combine results saved with --save (the shards of one test, or runs
    /// on several machines) into one report, with the same thresholds.
    Merge(MergeArgs),
    /// Find the highest arrival rate the service sustains within its SLOs:
    /// steps that rise until one fails, bisection to 5%, a confirming hold.
    #[command(
        mut_arg("users", |a| a.default_value(FIND_USERS)),
        mut_arg("rps", |a| a.hide(true)),
        mut_arg("duration", |a| a.hide(true)),
        mut_arg("requests", |a| a.hide(true)),
        mut_arg("ramp_up", |a| a.hide(true)),
        mut_arg("stages", |a| a.hide(true)),
        mut_arg("thresholds", |a| a.hide(true)),
        mut_arg("save", |a| a.hide(true)),
        mut_arg("shard", |a| a.hide(true)),
        mut_arg("log", |a| a.hide(true))
    )]
    Find(FindArgs),
    /// Say whether NEW is faster or slower than BASE, and how sure that is:
    /// each metric's change with a 95% interval and a verdict.
    Compare(CompareArgs),
}

/// `--targets-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TargetsFormatArg {
    /// vegeta's http text format.
    Http,
    /// One JSON object per line.
    Jsonl,
}

/// `--targets-order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OrderArg {
    /// A fixed order that spreads each target evenly by its weight.
    Smooth,
    /// Each request's target drawn by weight from --seed.
    Random,
}

/// `--data-order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DataOrderArg {
    /// Request k takes row k mod n.
    Sequential,
    /// Each request's row drawn from --seed.
    Random,
}

/// Options of a load test.
#[derive(Debug, Args, Clone)]
pub(crate) struct RunArgs {
    /// Target URL (http://), instead of --url.
    #[arg(value_name = "URL")]
    pub(crate) url_positional: Option<String>,

    /// Target URL, e.g. http://127.0.0.1:8080/path?q=1
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// Target arrival rate for the whole run in requests per second
    /// (fractions allowed), or `max`: every user sends again as soon as its
    /// last response arrived.
    #[arg(long, value_name = "RATE", allow_negative_numbers = true)]
    pub(crate) rps: Option<String>,

    /// Concurrent users: each keeps one connection and has at most one
    /// request in flight.
    #[arg(long, short = 'c', value_name = "N", allow_negative_numbers = true)]
    pub(crate) users: Option<String>,

    /// How long to send: 10, 10s, 500ms, 2m, 1h
    #[arg(long, short = 'd', value_name = "DUR", default_value_t = dur(Config::DEFAULT_DURATION))]
    pub(crate) duration: String,

    /// Also stop after N requests were started.
    #[arg(long, short = 'n', value_name = "N")]
    pub(crate) requests: Option<String>,

    /// HTTP method.
    #[arg(long, short = 'm', value_name = "M", default_value = "GET")]
    pub(crate) method: String,

    /// Extra request header 'Name: value' (repeatable); a Host header
    /// replaces the default one.
    #[arg(long = "header", short = 'H', value_name = "K: V")]
    pub(crate) headers: Vec<String>,

    /// Request body (sets Content-Length).
    #[arg(long, value_name = "STR", conflicts_with = "body_file")]
    pub(crate) body: Option<String>,

    /// Read the request body from this file.
    #[arg(long, value_name = "PATH")]
    pub(crate) body_file: Option<String>,

    /// Send the requests listed in FILE instead of one (vegeta's http
    /// format, or JSON lines with name, method, url, header, body,
    /// body_file, weight, expect_status); each target gets its own results.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "url_positional", "body", "body_file"])]
    pub(crate) targets: Option<String>,

    /// The format of the --targets file; by default told from its content.
    #[arg(long, value_name = "FORMAT", requires = "targets")]
    pub(crate) targets_format: Option<TargetsFormatArg>,

    /// How targets follow one another: smooth (a fixed order spreading each
    /// target evenly by its weight) or random (drawn by weight from --seed).
    #[arg(
        long,
        value_name = "ORDER",
        default_value = "smooth",
        requires = "targets"
    )]
    pub(crate) targets_order: OrderArg,

    /// Seed of every random choice ({{rand:A-B}}, {{uuid}}, random orders):
    /// the same seed sends the same requests.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) seed: u64,

    /// CSV file (with a header row) whose columns {{row.NAME}} takes, row k
    /// mod n for request k.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<String>,

    /// Which data row a request takes: sequential (k mod n) or random.
    #[arg(
        long,
        value_name = "ORDER",
        default_value = "sequential",
        requires = "data"
    )]
    pub(crate) data_order: DataOrderArg,

    /// A response with any other status fails as unexpected_status:
    /// a list of codes or classes, e.g. 200,201,204 or 2xx.
    #[arg(long, value_name = "LIST")]
    pub(crate) expect_status: Option<String>,

    /// A response whose body does not contain TEXT fails as body_mismatch.
    #[arg(long, value_name = "TEXT")]
    pub(crate) expect_body: Option<String>,

    /// Per-request limit from the start of the write to the end of the
    /// response
    #[arg(long, value_name = "DUR", default_value_t = dur(Config::DEFAULT_TIMEOUT))]
    pub(crate) timeout: String,

    /// Limit for establishing a TCP connection
    #[arg(long, value_name = "DUR", default_value_t = dur(Config::DEFAULT_CONNECT_TIMEOUT))]
    pub(crate) connect_timeout: String,

    /// The rate rises linearly from 0 to --rps over this time, then holds.
    #[arg(long, value_name = "DUR")]
    pub(crate) ramp_up: Option<String>,

    /// A load shape instead of --rps and --duration: stages DUR:RATE, each
    /// moving the rate linearly from where the last ended (0 at first) to
    /// RATE over DUR, e.g. 30s:1000,2m:1000,30s:0
    #[arg(long, value_name = "DUR:RATE,...", conflicts_with_all = ["rps", "ramp_up", "duration"])]
    pub(crate) stages: Option<String>,

    /// Connect the users, then hold the start of the schedule until TIME
    /// (RFC 3339, Unix seconds, or +DUR from now), so that shards on several
    /// machines start one schedule together.
    #[arg(long, value_name = "TIME")]
    pub(crate) start_at: Option<String>,

    /// Open a new connection for every request (sends Connection: close).
    #[arg(long)]
    pub(crate) no_keepalive: bool,

    /// Speak HTTP/2: over https with ALPN h2, over http:// by prior
    /// knowledge (h2c). Users become streams over --connections.
    #[arg(long)]
    pub(crate) http2: bool,

    /// With --http2: the connections to each origin that the users' streams
    /// share [default: --threads]
    #[arg(long, value_name = "N", requires = "http2")]
    pub(crate) connections: Option<String>,

    /// Event-loop threads; users and rate are split evenly across them
    /// [default: CPU cores, at most --users]
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<String>,

    /// Accept any TLS certificate (https): no verification of issuer,
    /// expiry or name. The report says so.
    #[arg(long, short = 'k')]
    pub(crate) insecure: bool,

    /// Also trust the certificates in this PEM bundle (https), in addition
    /// to the built-in roots.
    #[arg(long, value_name = "PATH")]
    pub(crate) cacert: Option<String>,

    /// Connect to ADDR:PORT instead of the URL's HOST:PORT, keeping the Host
    /// header and TLS name of the URL (as curl's --connect-to); repeatable,
    /// the first that matches wins; an empty HOST or PORT matches any.
    #[arg(long = "connect-to", value_name = "HOST:PORT:ADDR:PORT")]
    pub(crate) connect_to: Vec<String>,

    /// Connect over this Unix domain socket instead of TCP; the URL still
    /// gives the Host header, the path and, for https, the TLS name.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["connect_to", "local_addr"])]
    pub(crate) unix_socket: Option<String>,

    /// Source address for outgoing connections, repeatable: users are
    /// spread evenly over them, so that one run can hold more connections
    /// to one destination than one address's local ports allow.
    #[arg(long = "local-addr", value_name = "IP")]
    pub(crate) local_addr: Vec<String>,

    /// TLS client certificate chain, PEM, for servers that require mutual
    /// TLS (https; with --key).
    #[arg(long, value_name = "PATH", requires = "key")]
    pub(crate) cert: Option<String>,

    /// Private key of --cert, PEM: PKCS#8, PKCS#1 RSA or SEC1 EC.
    #[arg(long, value_name = "PATH", requires = "cert")]
    pub(crate) key: Option<String>,

    /// Pass/fail rule METRIC OP VALUE, repeatable: METRIC is p50 p90 p95
    /// p99 p99.9 p99.99 mean max (latency, VALUE with a unit: 800us, 250ms,
    /// 1.5s), errors (a share 1% or a count 10) or rps (achieved req/s); OP
    /// is < <= > >=. TARGET:METRIC OP VALUE judges one target of
    /// --targets only (login:p99<200ms). A failed rule makes the exit code 3.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub(crate) thresholds: Vec<String>,

    /// Also write the full result as JSON, with every histogram, for
    /// `volley merge`.
    #[arg(long, value_name = "PATH")]
    pub(crate) save: Option<String>,

    /// Also write the report as one self-contained HTML page (charts of
    /// latency, rate and errors over time, the latency percentile curve,
    /// the tables); it loads nothing from the network.
    #[arg(long, value_name = "PATH")]
    pub(crate) html: Option<String>,

    /// Run shard I of N (counted from 0) of this test: 1/N of the users and
    /// every N-th request of the schedule. auto/N reads I from
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job).
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<String>,

    /// Stream one CSV row per request that ended to this file: index,
    /// intended, sent and done times (µs since the start), latency, service
    /// time, status, bytes in, error kind.
    #[arg(long, value_name = "PATH")]
    pub(crate) log: Option<String>,

    /// Serve Prometheus metrics at http://ADDR/metrics while the run goes
    /// and --metrics-linger after it: requests by outcome, status and error
    /// kind, bytes, connections, rates, latency histograms. ADDR is IP:PORT,
    /// localhost:PORT or :PORT (every interface); port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_listen: Option<String>,

    /// How long the final metrics stay served after the report (Ctrl-C
    /// ends the wait).
    #[arg(
        long,
        value_name = "DUR",
        default_value = "15s",
        requires = "metrics_listen"
    )]
    pub(crate) metrics_linger: String,

    /// Append one JSON line per second of the run to PATH (- for stdout,
    /// with the report going to --save or --html instead): that second's
    /// completed, errors, p50, p99 and max, and the counts so far; a last
    /// line with "final": true holds the report's counts.
    #[arg(long, value_name = "PATH")]
    pub(crate) live: Option<String>,

    /// A full-screen live view on the terminal instead of the progress
    /// line: rates, latency p50/p99 over time, status and error mix,
    /// requests in flight. q or Ctrl-C ends the run as Ctrl-C does; the
    /// report follows.
    #[arg(long, conflicts_with = "quiet")]
    pub(crate) tui: bool,

    /// Report format on stdout [default: text]
    #[arg(long, short = 'o', value_enum)]
    pub(crate) output: Option<OutputFormat>,

    /// No live progress line.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned text for people.
    #[default]
    Text,
    /// One JSON object with stable field names.
    Json,
}

/// Options of `volley find`: the request options of a run, and the search.
#[derive(Debug, Args)]
pub(crate) struct FindArgs {
    #[command(flatten)]
    pub(crate) run: RunArgs,

    /// A service level the rate must keep, as a threshold (METRIC OP VALUE,
    /// e.g. p99<50ms, errors<0.1%), repeatable; at least one.
    #[arg(long = "slo", value_name = "EXPR", required = true)]
    pub(crate) slos: Vec<String>,

    /// How long each step runs; its first fifth (at most 2 s) is a warm-up
    /// that is not judged.
    #[arg(long, value_name = "DUR", default_value = "10s")]
    pub(crate) step: String,

    /// The first rate tried, req/s.
    #[arg(long, value_name = "RATE", default_value = "100")]
    pub(crate) start_rps: String,

    /// Never try more than this many req/s.
    #[arg(long, value_name = "RATE")]
    pub(crate) max_rps: Option<String>,

    /// Bound on the whole search; the answer says if it stopped early.
    #[arg(long, value_name = "DUR", default_value = "10m")]
    pub(crate) max_time: String,
}

/// Options of `volley compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Results saved with --save: the base runs.
    #[arg(value_name = "BASE.json", required = true)]
    pub(crate) base: Vec<String>,

    /// Results saved with --save: the new runs.
    #[arg(long, value_name = "NEW.json", required = true, num_args = 1..)]
    pub(crate) to: Vec<String>,

    /// A change that is significant and past this tolerance fails (exit
    /// code 4), e.g. p99:+10% or rps:+5%; repeatable.
    #[arg(long = "max-regression", value_name = "METRIC:+X%")]
    pub(crate) max_regression: Vec<String>,

    /// Seed of the bootstrap's generator: the same seed, the same intervals.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<String>,

    /// Report format on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,

    /// Also write the comparison as one self-contained HTML page.
    #[arg(long, value_name = "PATH")]
    pub(crate) html: Option<String>,
}

impl OutputFormat {
    /// As written on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

/// Options of `volley merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Results written by --save.
    #[arg(value_name = "RESULT.json", required = true)]
    pub(crate) files: Vec<String>,

    /// Report format on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,

    /// Pass/fail rule, repeatable, as for a run (e.g. p99<250ms, errors<1%,
    /// rps>=990); a failed rule makes the exit code 3.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub(crate) thresholds: Vec<String>,

    /// Write the merged result, which can be merged again.
    #[arg(long, value_name = "PATH")]
    pub(crate) save: Option<String>,

    /// Also write the merged report as one self-contained HTML page.
    #[arg(long, value_name = "PATH")]
    pub(crate) html: Option<String>,
}

/// Options of the built-in target.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,

    /// Hold every response this long.
    #[arg(long, value_name = "DUR", default_value = "0ms")]
    pub(crate) delay: String,

    /// Status codes with weights, e.g. 200:95,500:5
    #[arg(long, value_name = "MIX", default_value = "200")]
    pub(crate) status: String,

    /// Response body size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    pub(crate) body_size: usize,

    /// Serve requests one at a time, each taking 1/RATE s, in arrival order
    /// over all connections: a target whose latency stays low below RATE
    /// req/s and grows without bound above it.
    #[arg(long, value_name = "RATE")]
    pub(crate) capacity: Option<String>,

    /// Also speak HTTP/2 over cleartext by prior knowledge (h2c): a
    /// connection that opens with the HTTP/2 preface is served as HTTP/2,
    /// any other as HTTP/1.1.
    #[arg(long)]
    pub(crate) http2: bool,

    /// End each connection after N requests, as nginx's keepalive_requests:
    /// HTTP/1.1 answers the last with Connection: close, HTTP/2 sends
    /// GOAWAY after its stream.
    #[arg(long, value_name = "N")]
    pub(crate) max_requests_per_conn: Option<u64>,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_come_from_one_place() {
        let run = Cli::try_parse_from(["volley"]).unwrap().run;
        assert_eq!(
            (
                run.duration.clone(),
                run.timeout.clone(),
                run.connect_timeout.clone()
            ),
            (
                dur(Config::DEFAULT_DURATION),
                dur(Config::DEFAULT_TIMEOUT),
                dur(Config::DEFAULT_CONNECT_TIMEOUT)
            )
        );
        assert_eq!((run.rps, run.users), (None, None));
        let Some(Command::Demo(demo)) = Cli::try_parse_from(["volley", "demo"]).unwrap().command
        else {
            panic!("demo")
        };
        assert_eq!(
            (
                demo.rps.as_deref(),
                demo.users.as_deref(),
                demo.duration.as_str()
            ),
            (Some(DEMO_RPS), Some(DEMO_USERS), DEMO_DURATION)
        );
        assert_eq!(demo.timeout, run.timeout);
        let Some(Command::Demo(given)) =
            Cli::try_parse_from(["volley", "demo", "-d", "2", "--rps", "10"])
                .unwrap()
                .command
        else {
            panic!("demo")
        };
        assert_eq!(
            (given.duration.as_str(), given.rps.as_deref()),
            ("2", Some("10"))
        );
    }
}
