//! Watching a run live (SPEC §15): the Prometheus endpoint, scraped as
//! Prometheus would and by a real Prometheus.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use support::{text, volley, volley_bin};
use volley_server::{ServeConfig, Server};

fn target() -> volley_server::RunningServer {
    Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        statuses: vec![(200, 19), (503, 1)],
        ..ServeConfig::default()
    })
    .unwrap()
}

/// A volley started with piped output; its lines arrive on channels as
/// they are written. Killed (by its PID) if still running when dropped.
struct Running {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

fn lines_of<R: Read + Send + 'static>(r: R) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

impl Running {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(volley_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("JOB_COMPLETION_INDEX")
            .spawn()
            .expect("start volley");
        let out: ChildStdout = child.stdout.take().unwrap();
        let err: ChildStderr = child.stderr.take().unwrap();
        Self {
            child,
            stdout: lines_of(out),
            stderr: lines_of(err),
        }
    }

    /// The next stderr line that contains `what`, within `limit`.
    fn stderr_line(&self, what: &str, limit: Duration) -> String {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(e) => panic!("no stderr line with {what:?} within {limit:?}: {e}"),
            }
        }
    }

    /// The address of "metrics at http://ADDR/metrics".
    fn metrics_addr(&self) -> SocketAddr {
        let line = self.stderr_line("metrics at http://", Duration::from_secs(10));
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("{line}"));
        addr.parse().unwrap()
    }

    /// All of stdout up to the line `last`, within `limit`.
    fn stdout_until(&self, last: &str, limit: Duration) -> String {
        let end = Instant::now() + limit;
        let mut out = String::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    out.push_str(&line);
                    out.push('\n');
                    if line == last {
                        return out;
                    }
                }
                Err(e) => panic!("stdout did not reach {last:?} within {limit:?} ({e}): {out}"),
            }
        }
    }

    /// Waits for the exit, at most `limit`.
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < end, "volley still runs after {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn interrupt(&self) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: a signal to the child this test started, by its PID.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` over HTTP/1.1; the status code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {raw}"));
    (code, body.to_string())
}

/// The value of the one sample named `series` (name and labels as written).
fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in:\n{exposition}"))
        .parse()
        .unwrap()
}

fn report(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not the JSON report ({e}): {out}"))
}

#[test]
fn bad_metrics_addresses_are_refused_before_anything_is_sent() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    for args in [
        &["--metrics-listen", "9464"][..],
        &["--metrics-listen", "127.0.0.1:99999"],
        &["--metrics-listen", "example.test:9464"],
        &["--metrics-linger", "5s"],
        &[
            "--metrics-listen",
            "127.0.0.1:0",
            "--metrics-linger",
            "soon",
        ],
    ] {
        let mut all = vec![url.as_str(), "--rps", "100", "-c", "1", "-d", "1", "-q"];
        all.extend_from_slice(args);
        let out = volley(&all);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--metrics-l"), "{err}");
    }
    assert_eq!(server.stop().unwrap().requests, 0);
}

#[test]
fn an_address_in_use_is_one_line_and_exit_1_before_any_connection() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = target();
    let out = volley(&[
        &format!("http://{}/", server.addr()),
        "--rps",
        "100",
        "-c",
        "2",
        "-d",
        "1",
        "-q",
        "--metrics-listen",
        &taken.local_addr().unwrap().to_string(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("volley: --metrics-listen 127.0.0.1:") && err.contains("in use"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(server.stop().unwrap().connections, 0);
}

/// Scraped during the run, the counters move; after the report, the
/// endpoint lingers with the report's own counts until Ctrl-C.
#[test]
fn scrapes_see_the_run_and_then_the_report() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let mut v = Running::start(&[
        &url,
        "--rps",
        "200",
        "-c",
        "5",
        "-d",
        "3",
        "-q",
        "-o",
        "json",
        "--metrics-listen",
        "127.0.0.1:0",
        "--metrics-linger",
        "60s",
    ]);
    let addr = v.metrics_addr();
    let completed = r#"volley_requests_total{shard="0/1",target="GET /",outcome="completed"}"#;
    std::thread::sleep(Duration::from_millis(1_800));
    let (code, during) = get(addr, "/metrics");
    assert_eq!(code, 200);
    let so_far = sample(&during, completed);
    assert!(so_far > 100.0 && so_far < 600.0, "{so_far}");
    assert_eq!(sample(&during, r#"volley_run_finished{shard="0/1"}"#), 0.0);
    assert_eq!(
        sample(&during, r#"volley_target_requests_per_second{shard="0/1"}"#),
        200.0
    );
    assert_eq!(get(addr, "/").0, 404);

    let json = report(&v.stdout_until("}", Duration::from_secs(15)));
    v.stderr_line("the final metrics stay at", Duration::from_secs(5));
    let (_, after) = get(addr, "/metrics");
    assert_eq!(sample(&after, r#"volley_run_finished{shard="0/1"}"#), 1.0);
    let n = |k: &str| json["requests"][k].as_f64().unwrap();
    assert_eq!(sample(&after, completed), n("completed"));
    for outcome in ["failed", "unfinished", "unsent"] {
        let series =
            format!(r#"volley_requests_total{{shard="0/1",target="GET /",outcome="{outcome}"}}"#);
        assert_eq!(sample(&after, &series), n(outcome), "{outcome}");
    }
    for (code, count) in json["status"].as_object().unwrap() {
        let series =
            format!(r#"volley_responses_total{{shard="0/1",target="GET /",code="{code}"}}"#);
        assert_eq!(sample(&after, &series), count.as_f64().unwrap());
    }
    assert_eq!(
        sample(
            &after,
            r#"volley_latency_seconds_count{shard="0/1",target="GET /"}"#
        ),
        n("completed")
    );
    assert_eq!(
        sample(&after, r#"volley_received_bytes_total{shard="0/1"}"#),
        json["bytes"]["received"].as_f64().unwrap()
    );
    // Ctrl-C ends the wait at once.
    let asked = Instant::now();
    v.interrupt();
    assert_eq!(v.wait(Duration::from_secs(5)).code(), Some(0));
    assert!(asked.elapsed() < Duration::from_secs(3));
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private Prometheus on loopback: its own configuration, storage and
/// port in a directory of this test's; killed by its PID when dropped.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";

impl Prometheus {
    /// A Prometheus scraping `scrape`; `name` keeps its directory apart
    /// from another test's.
    fn start(name: &str, scrape: SocketAddr) -> Self {
        for tool in [PROMETHEUS, PROMTOOL] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: apt-get install prometheus"
            );
        }
        let dir =
            std::env::temp_dir().join(format!("volley-prometheus-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: volley\n    static_configs:\n      - targets: [\"{scrape}\"]\n"
            ),
        )
        .unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {PROMETHEUS}: {e}"));
        let p = Self { child, dir, addr };
        let end = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&p.addr, Duration::from_millis(200)).is_err()
            || get(p.addr, "/-/ready").0 != 200
        {
            assert!(Instant::now() < end, "prometheus is not ready: {}", p.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// The one value an instant query returns, if it returns one.
    fn query(&self, promql: &str) -> Option<f64> {
        let encoded: String = promql
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let (code, body) = get(self.addr, &format!("/api/v1/query?query={encoded}"));
        assert_eq!(code, 200, "{promql}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let result = v["data"]["result"].as_array()?;
        assert!(result.len() <= 1, "{promql}: {body}");
        result.first()?["value"][1].as_str()?.parse().ok()
    }
}

impl Prometheus {
    /// Waits until Prometheus has scraped the final values.
    fn await_the_end(&self) {
        let end = Instant::now() + Duration::from_secs(20);
        while self.query("volley_run_finished") != Some(1.0) {
            assert!(
                Instant::now() < end,
                "prometheus never saw the end: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// `promtool check metrics` finds nothing to say of `exposition`.
fn promtool_accepts(exposition: &str) {
    let mut promtool = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success() && checked.stdout.is_empty() && checked.stderr.is_empty(),
        "promtool check metrics: {}{}",
        text(&checked.stdout),
        text(&checked.stderr)
    );
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The fixed bounds, seconds, as the README lists them.
const BOUNDS_S: [f64; 20] = [
    0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
    2.0, 5.0, 10.0, 20.0, 50.0, 60.0,
];

/// A real Prometheus scrapes a 20 s run every second: afterwards its
/// completed count is the report's, and its p99 from the histogram lies
/// in the bucket that holds the report's p99. promtool accepts the text.
#[test]
#[ignore = "needs prometheus and promtool (apt-get install prometheus); CI installs them and runs it"]
fn prometheus_scrapes_the_report_s_counts() {
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        statuses: vec![(200, 49), (503, 1)],
        delay: Duration::from_millis(3),
        ..ServeConfig::default()
    })
    .unwrap();
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let prometheus = Prometheus::start("run", metrics);
    let mut v = Running::start(&[
        &format!("http://{}/", server.addr()),
        "--rps",
        "300",
        "-c",
        "10",
        "-d",
        "20",
        "-q",
        "-o",
        "json",
        "--metrics-listen",
        &metrics.to_string(),
        "--metrics-linger",
        "60s",
    ]);
    let json = report(&v.stdout_until("}", Duration::from_secs(40)));
    v.stderr_line("the final metrics stay at", Duration::from_secs(5));

    promtool_accepts(&get(metrics, "/metrics").1);
    prometheus.await_the_end();
    let completed = json["requests"]["completed"].as_f64().unwrap();
    assert!(completed > 5_000.0, "{json}");
    assert_eq!(
        prometheus.query(r#"volley_requests_total{outcome="completed"}"#),
        Some(completed)
    );
    assert_eq!(
        prometheus.query(r#"sum(volley_responses_total)"#),
        Some(completed)
    );
    let p99_s = json["latency_us"]["p99"].as_f64().unwrap() / 1e6;
    let promql_p99 = prometheus
        .query("histogram_quantile(0.99, sum by (le) (volley_latency_seconds_bucket))")
        .unwrap();
    // The bucket that holds the report's p99, widened below by HDR's
    // resolution (a value just past a bound may count under it).
    let upper = BOUNDS_S.iter().copied().find(|&b| b >= p99_s).unwrap();
    let lower = BOUNDS_S
        .iter()
        .copied()
        .rev()
        .find(|&b| b < p99_s / 1.001)
        .unwrap_or(0.0);
    assert!(
        (lower..=upper).contains(&promql_p99),
        "report p99 {p99_s}s, Prometheus {promql_p99}s, bucket {lower}..{upper}"
    );
    eprintln!(
        "report: completed {completed}, p99 {p99_s}s; prometheus: completed {:?}, p99 {promql_p99}s (bucket {lower}..{upper}s)",
        prometheus.query(r#"volley_requests_total{outcome="completed"}"#)
    );
    v.interrupt();
    assert_eq!(v.wait(Duration::from_secs(5)).code(), Some(0));
}

/// A targets file of three against `addr`: `home` (weight 3), `strict`
/// (which takes only 200, so the server's 503s are its failures) and one
/// whose name needs escaping in a label. They repeat every 5 requests.
fn targets_file(name: &str, addr: SocketAddr) -> PathBuf {
    let path = scratch(name);
    std::fs::write(
        &path,
        format!(
            "{{\"name\": \"home\", \"url\": \"http://{addr}/\", \"weight\": 3}}\n\
             {{\"name\": \"strict\", \"url\": \"http://{addr}/x\", \"expect_status\": [200]}}\n\
             {{\"name\": \"say \\\"hi\\\"\", \"url\": \"http://{addr}/q\"}}\n"
        ),
    )
    .unwrap();
    path
}

/// A target's name as a label value (and a PromQL string) writes it.
fn label(name: &str) -> String {
    name.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// With `--targets`, the request counters have a series for each target,
/// and after the run each holds that target's figures of the report.
#[test]
fn scrapes_count_each_target() {
    // A 503 every 7th response, so that each target gets some.
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        statuses: vec![(200, 6), (503, 1)],
        ..ServeConfig::default()
    })
    .unwrap();
    let file = targets_file("scrape-targets.jsonl", server.addr());
    let mut v = Running::start(&[
        "--targets",
        file.to_str().unwrap(),
        "--rps",
        "200",
        "-c",
        "5",
        "-d",
        "2",
        "-q",
        "-o",
        "json",
        "--metrics-listen",
        "127.0.0.1:0",
        "--metrics-linger",
        "60s",
    ]);
    let addr = v.metrics_addr();
    let json = report(&v.stdout_until("}", Duration::from_secs(15)));
    v.stderr_line("the final metrics stay at", Duration::from_secs(5));
    let (_, after) = get(addr, "/metrics");
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3, "{json}");
    for t in targets {
        let name = label(t["name"].as_str().unwrap());
        let series = |metric: &str, extra: &str| {
            format!(r#"{metric}{{shard="0/1",target="{name}"{extra}}}"#)
        };
        let n = |k: &str| t["requests"][k].as_f64().unwrap();
        for outcome in ["completed", "failed", "unfinished", "unsent"] {
            let s = series("volley_requests_total", &format!(r#",outcome="{outcome}""#));
            assert_eq!(sample(&after, &s), n(outcome), "{s}");
        }
        let s = series("volley_requests_sent_total", "");
        assert_eq!(sample(&after, &s), n("sent"), "{s}");
        for (code, count) in t["status"].as_object().unwrap() {
            let s = series("volley_responses_total", &format!(r#",code="{code}""#));
            assert_eq!(sample(&after, &s), count.as_f64().unwrap(), "{s}");
        }
        for (kind, count) in t["errors"].as_object().unwrap() {
            let s = series("volley_request_errors_total", &format!(r#",kind="{kind}""#));
            assert_eq!(sample(&after, &s), count.as_f64().unwrap(), "{s}");
        }
    }
    let strict = targets.iter().find(|t| t["name"] == "strict").unwrap();
    assert!(
        strict["errors"]["unexpected_status"].as_u64() > Some(0),
        "{json}"
    );
    assert!(after.contains(r#"target="say \"hi\"""#), "{after}");
    // The histograms are the run's.
    assert_eq!(
        sample(
            &after,
            r#"volley_latency_seconds_count{shard="0/1",target="*"}"#
        ),
        json["requests"]["completed"].as_f64().unwrap()
    );
    v.interrupt();
    assert_eq!(v.wait(Duration::from_secs(5)).code(), Some(0));
}

/// A real Prometheus scrapes a run of three targets: afterwards each
/// target's completed and failed counts, by its label, are the report's,
/// and they add up to the run's.
#[test]
#[ignore = "needs prometheus and promtool (apt-get install prometheus); CI installs them and runs it"]
fn prometheus_counts_each_target() {
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        statuses: vec![(200, 6), (503, 1)],
        delay: Duration::from_millis(3),
        ..ServeConfig::default()
    })
    .unwrap();
    let file = targets_file("prometheus-targets.jsonl", server.addr());
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let prometheus = Prometheus::start("targets", metrics);
    let mut v = Running::start(&[
        "--targets",
        file.to_str().unwrap(),
        "--rps",
        "300",
        "-c",
        "10",
        "-d",
        "6",
        "-q",
        "-o",
        "json",
        "--metrics-listen",
        &metrics.to_string(),
        "--metrics-linger",
        "60s",
    ]);
    let json = report(&v.stdout_until("}", Duration::from_secs(30)));
    v.stderr_line("the final metrics stay at", Duration::from_secs(5));
    promtool_accepts(&get(metrics, "/metrics").1);
    prometheus.await_the_end();

    let mut seen = 0.0;
    for t in json["targets"].as_array().unwrap() {
        let name = label(t["name"].as_str().unwrap());
        let n = |k: &str| t["requests"][k].as_f64().unwrap();
        assert!(n("completed") > 100.0, "{json}");
        for outcome in ["completed", "failed"] {
            let promql = format!(r#"volley_requests_total{{target="{name}",outcome="{outcome}"}}"#);
            assert_eq!(prometheus.query(&promql), Some(n(outcome)), "{promql}");
        }
        let promql = format!(r#"sum(volley_responses_total{{target="{name}"}})"#);
        assert_eq!(prometheus.query(&promql), Some(n("completed")), "{promql}");
        let promql =
            format!(r#"volley_request_errors_total{{target="{name}",kind="unexpected_status"}}"#);
        let unexpected = t["errors"]["unexpected_status"].as_f64().unwrap();
        assert_eq!(unexpected > 0.0, t["name"] == "strict", "{json}");
        assert_eq!(prometheus.query(&promql), Some(unexpected), "{promql}");
        seen += n("completed");
    }
    let completed = json["requests"]["completed"].as_f64().unwrap();
    assert_eq!(seen, completed);
    assert_eq!(
        prometheus.query(r#"sum(volley_requests_total{outcome="completed"})"#),
        Some(completed)
    );
    assert_eq!(
        prometheus.query(r#"volley_latency_seconds_count{target="*"}"#),
        Some(completed)
    );
    eprintln!(
        "report: completed {completed}; prometheus: {:?} over {} targets",
        prometheus.query(r#"sum(volley_requests_total{outcome="completed"})"#),
        json["targets"].as_array().unwrap().len()
    );
    v.interrupt();
    assert_eq!(v.wait(Duration::from_secs(5)).code(), Some(0));
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A test's own scratch file.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volley-live-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The `--live` file is read as it is written: every line parses, each
/// second's line comes within 1.5 s of that second's end, the rows are the
/// report's timeline, and the last line's counts are the report's.
#[test]
fn live_lines_follow_the_run_and_end_with_the_report() {
    let server = target();
    let path = scratch("follow.jsonl");
    let _ = std::fs::remove_file(&path);
    let mut v = Running::start(&[
        &format!("http://{}/", server.addr()),
        "--rps",
        "200",
        "-c",
        "5",
        "-d",
        "4",
        "-q",
        "-o",
        "json",
        "--live",
        path.to_str().unwrap(),
    ]);
    // (line, when it was read, Unix seconds)
    let mut lines: Vec<(serde_json::Value, f64)> = Vec::new();
    let mut pending = String::new();
    let mut read = 0;
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let exited = v.child.try_wait().unwrap().is_some();
        let bytes = std::fs::read(&path).unwrap_or_default();
        pending.push_str(&String::from_utf8_lossy(&bytes[read.min(bytes.len())..]));
        read = bytes.len();
        while let Some(at) = pending.find('\n') {
            let line: String = pending.drain(..=at).collect();
            let value = serde_json::from_str(line.trim_end())
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            lines.push((value, unix_now()));
        }
        if exited {
            break;
        }
        assert!(Instant::now() < end, "the run did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(pending.is_empty(), "a line without its newline: {pending}");
    let json = report(&v.stdout_until("}", Duration::from_secs(5)));
    let rows: Vec<&serde_json::Value> = lines
        .iter()
        .map(|(l, _)| l)
        .filter(|l| l.get("second").is_some())
        .collect();
    let seconds: Vec<u64> = rows.iter().map(|r| r["second"].as_u64().unwrap()).collect();
    assert_eq!(seconds, (0..seconds.len() as u64).collect::<Vec<_>>());
    assert!(seconds.len() >= 4, "{seconds:?}");
    for (line, at) in &lines {
        if let Some(unix_s) = line["unix_s"].as_f64() {
            let late = at - (unix_s + 1.0);
            assert!(
                late < 1.5,
                "second {} came {late:.2}s after its end",
                line["second"]
            );
        }
    }
    let timeline: Vec<_> = json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["second"].clone(),
                r["completed"].clone(),
                r["p99_us"].clone(),
            )
        })
        .collect();
    let from_lines: Vec<_> = rows
        .iter()
        .filter(|r| r["completed"] != 0 || r["errors"] != 0)
        .map(|r| {
            (
                r["second"].clone(),
                r["completed"].clone(),
                r["p99_us"].clone(),
            )
        })
        .collect();
    assert_eq!(from_lines, timeline);
    let (last, _) = lines.last().unwrap();
    assert_eq!(last["final"], true, "{last}");
    for section in ["status", "errors", "bytes"] {
        assert_eq!(last["total"][section], json[section], "{section}");
    }
    assert_eq!(last["total"]["requests"], json["requests"]);
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|(l, _)| l.get("final").is_none())
    );
    // During the run the counts grow and are never more than at the end.
    let completed: Vec<u64> = rows
        .iter()
        .map(|r| r["total"]["requests"]["completed"].as_u64().unwrap())
        .collect();
    assert!(completed.windows(2).all(|w| w[0] <= w[1]), "{completed:?}");
    assert!(*completed.last().unwrap() <= json["requests"]["completed"].as_u64().unwrap());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn live_lines_on_stdout_need_the_report_in_a_file() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let saved = scratch("stdout.json");
    let base = [url.as_str(), "--rps", "100", "-c", "2", "-d", "2", "-q"];
    let refused = |extra: &[&str], says: &str| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = volley(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
    };
    refused(&["--live", "-"], "--save PATH or --html PATH");
    refused(
        &[
            "--live",
            "-",
            "--save",
            saved.to_str().unwrap(),
            "-o",
            "json",
        ],
        "-o json",
    );
    refused(&["--live", "/no/such/dir/live.jsonl"], "does not exist");

    let mut args = base.to_vec();
    args.extend_from_slice(&["--live", "-", "--save", saved.to_str().unwrap()]);
    let out = volley(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 3, "{lines:?}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let last = lines.last().unwrap();
    assert_eq!(last["final"], true);
    assert_eq!(last["total"]["requests"], doc["requests"]);
    let _ = std::fs::remove_file(&saved);
}

#[test]
fn tui_needs_a_terminal() {
    for extra in [&["--tui"][..], &["--tui", "-q"]] {
        let mut args = vec!["http://127.0.0.1:1/", "--rps", "10", "-c", "1", "-d", "1"];
        args.extend_from_slice(extra);
        let out = volley(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--tui"), "{err}");
    }
}

const TMUX: &str = "/usr/bin/tmux";

/// A tmux server of this test's own (its own socket), with one window of
/// `cols` × `rows`; killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(cols: u16, rows: u16) -> Self {
        assert!(
            Path::new(TMUX).exists(),
            "{TMUX} is missing: apt-get install tmux"
        );
        let t = Self {
            socket: format!("volley-test-{}", std::process::id()),
        };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            "volley",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
            "env PS1='tui-test$ ' TERM=xterm-256color bash --norc --noprofile",
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(TMUX)
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{TMUX}: {e}"));
        assert!(out.status.success(), "tmux {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "volley"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// The screen, with the scrollback, as text.
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-t", "volley", "-p", "-S", "-300"])
    }

    /// Waits until the screen shows every one of `texts`, at most `limit`.
    fn wait_for(&self, texts: &[&str], limit: Duration) -> String {
        let end = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                Instant::now() < end,
                "the screen did not show {texts:?} within {limit:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new(TMUX)
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// In a real terminal (tmux): the view shows the rate, the p99 and the
/// status mix; `q` ends the run, the report follows, and the terminal is
/// back in its normal mode.
#[test]
#[ignore = "needs tmux (apt-get install tmux); CI installs it and runs it"]
fn tui_in_a_terminal_shows_the_run_and_q_ends_it() {
    let server = target();
    let tmux = Tmux::start(110, 40);
    tmux.wait_for(&["tui-test$"], Duration::from_secs(10));
    let command = format!(
        "{} http://{}/ --rps 300 -c 10 -d 60 --tui; echo EXIT=$?",
        volley_bin().display(),
        server.addr()
    );
    tmux.keys(&[&command, "Enter"]);
    let live = tmux.wait_for(
        &[
            "running",
            "target 300 req/s",
            "achieved 300 req/s last second",
            "p99 ",
            "200 OK",
            "503 Service Unavailable",
            "latency p50 / p99",
        ],
        Duration::from_secs(20),
    );
    eprintln!("the live view:\n{live}");
    tmux.keys(&["q"]);
    let after = tmux.wait_for(&["EXIT=0"], Duration::from_secs(15));
    for part in ["Requests", "scheduled", "Status codes", "200 OK"] {
        assert!(after.contains(part), "{part:?} not in the report:\n{after}");
    }
    assert!(
        !after.contains("latency p50 / p99"),
        "the view is still on the screen:\n{after}"
    );
    // The marker is computed, so that the typed command line cannot match.
    tmux.keys(&["stty -a; echo STTY-$((6*7))-DONE", "Enter"]);
    let stty = tmux.wait_for(&["STTY-42-DONE"], Duration::from_secs(10));
    let modes: Vec<&str> = stty.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(
            modes.contains(&mode),
            "{mode} is off after the view:\n{stty}"
        );
    }
}
