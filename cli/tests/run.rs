//! The `volley` binary as a user runs it: exit codes, one-line errors, the
//! report's sections and the JSON contract.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{text, volley, volley_bin};
use volley_server::{ServeConfig, Server};

fn target() -> volley_server::RunningServer {
    Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        statuses: vec![(200, 9), (503, 1)],
        ..ServeConfig::default()
    })
    .unwrap()
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--url", "http://127.0.0.1:1/", "--rps", "0", "--users", "5"],
            "--rps",
        ),
        (
            &[
                "--url",
                "http://127.0.0.1:1/",
                "--rps",
                "-3",
                "--users",
                "5",
            ],
            "--rps",
        ),
        (
            &[
                "--url",
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "0",
            ],
            "--users",
        ),
        (
            &[
                "--url",
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "-d",
                "soon",
            ],
            "--duration",
        ),
        (
            &["--url", "ftp://127.0.0.1/", "--rps", "10", "--users", "2"],
            "--url",
        ),
        (
            &[
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "--connections",
                "2",
            ],
            "--http2",
        ),
        (
            &[
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "--http2",
                "--connections",
                "3",
            ],
            "--connections 3 is more than --users 2",
        ),
        (
            &[
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "--http2",
                "--connections",
                "0",
            ],
            "--connections",
        ),
        (
            &[
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "--http2",
                "--no-keepalive",
            ],
            "--no-keepalive does not apply to --http2",
        ),
        (
            &["--url", "http://", "--rps", "10", "--users", "2"],
            "--url",
        ),
        (
            &[
                "--url",
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "-H",
                "nocolon",
            ],
            "--header",
        ),
        (
            &[
                "--url",
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "--body-file",
                "/no/such/file",
            ],
            "--body-file",
        ),
        (
            &[
                "--url",
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "--threads",
                "zero",
            ],
            "--threads",
        ),
        (
            &[
                "--url",
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "2",
                "--frobnicate",
            ],
            "--frobnicate",
        ),
        (&["--url", "http://127.0.0.1:1/", "--users", "2"], "--rps"),
        (
            &[
                "--url",
                "http://127.0.0.1:1/",
                "--rps",
                "10",
                "--users",
                "99999999999",
            ],
            "--users",
        ),
    ];
    for (args, flag) in cases {
        let out = volley(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("volley: "), "{err}");
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn unresolvable_host_exits_1_with_one_line() {
    let out = volley(&[
        "--url",
        "http://no-such-host.invalid/",
        "--rps",
        "10",
        "--users",
        "2",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no-such-host.invalid"), "{err}");
}

#[test]
fn closed_port_reports_refusals_and_exits_1_promptly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let start = Instant::now();
    let out = volley(&[
        "--url", &url, "--rps", "50", "--users", "3", "-d", "1", "-q",
    ]);
    // SPEC: ends within the duration plus a second; generous for a busy machine.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(report.contains("connect refused"), "{report}");
    assert!(report.contains("no request completed"), "{report}");
}

/// A Unix socket file nobody listens on (left by a server that died)
/// refuses each connect before the stream exists, not later as an event:
/// the run still ends on time and reports the refusals.
#[test]
fn a_unix_socket_nobody_listens_on_is_refused_promptly() {
    let dir = std::env::temp_dir().join(format!("volley-dead-socket-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dead.sock");
    let _ = std::fs::remove_file(&path);
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let mut child = Command::new(volley_bin())
        .args(["http://localhost/", "--unix-socket", path.to_str().unwrap()])
        .args(["--rps", "50", "--users", "3", "-d", "1", "-q"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {:?}", start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("connect refused"), "{report}");
    assert!(report.contains("no request completed"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_report_has_every_section_in_order() {
    let server = target();
    let url = format!("http://{}/x", server.addr());
    let out = volley(&[
        "--url", &url, "--rps", "400", "--users", "8", "-d", "1", "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let mut at = 0;
    for section in [
        "GET http://127.0.0.1",
        "400 req/s for 1s, 8 users",
        "\nRequests",
        "scheduled",
        "completed",
        "unsent",
        "achieved",
        "\nTimes",
        "latency",
        "service",
        "p99.9",
        "Latency histogram",
        "\nStatus codes",
        "200 OK",
        "503 Service Unavailable",
        "\nTransfer",
        "connections",
        "\nWarnings",
        "5xx",
    ] {
        let found = report[at..]
            .find(section)
            .unwrap_or_else(|| panic!("{section:?} missing after offset {at}:\n{report}"));
        at += found;
    }
    assert!(
        report.contains(" 360 ") && report.contains(" 40 "),
        "9:1 mix of 400:\n{report}"
    );
}

#[test]
fn json_report_keeps_the_contract() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let out = volley(&[
        &url, "--rps", "200", "--users", "4", "-d", "1", "-o", "json", "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for (section, keys) in [
        (
            "run",
            &[
                "method",
                "url",
                "duration_s",
                "target_rps",
                "users",
                "threads",
            ][..],
        ),
        (
            "requests",
            &[
                "scheduled",
                "sent",
                "completed",
                "failed",
                "unfinished",
                "unsent",
                "achieved_rps",
            ],
        ),
        (
            "latency_us",
            &[
                "mean", "stdev", "min", "p50", "p90", "p95", "p99", "p99_9", "max",
            ],
        ),
        (
            "service_time_us",
            &[
                "mean", "stdev", "min", "p50", "p90", "p95", "p99", "p99_9", "max",
            ],
        ),
        ("bytes", &["received", "sent"]),
    ] {
        for k in keys {
            assert!(!v[section][k].is_null(), "{section}.{k} missing: {v}");
        }
    }
    let r = &v["requests"];
    let n = |k: &str| r[k].as_u64().unwrap();
    assert_eq!(n("scheduled"), 200);
    assert_eq!(
        n("scheduled"),
        n("completed") + n("failed") + n("unfinished") + n("unsent")
    );
    assert_eq!(
        v["status"]["200"].as_u64().unwrap() + v["status"]["503"].as_u64().unwrap(),
        n("completed")
    );
    assert_eq!(v["errors"]["timeout"].as_u64(), Some(0));
    assert_eq!(v["errors"]["connect_refused"].as_u64(), Some(0));
    assert!(v["thresholds"].is_array());
    assert_eq!(v["run"]["target_rps"].as_f64(), Some(200.0));
    assert_eq!(v["run"]["method"], "GET");

    let out = volley(&[
        &url, "--rps", "max", "--users", "2", "-n", "50", "-o", "json", "-q",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["run"]["target_rps"].is_null());
    assert_eq!(v["requests"]["completed"].as_u64(), Some(50));
}

#[test]
fn post_with_body_and_headers_reaches_the_server() {
    let server = target();
    let url = format!("http://{}/submit", server.addr());
    let out = volley(&[
        &url,
        "--rps",
        "max",
        "-c",
        "1",
        "-n",
        "5",
        "-m",
        "post",
        "--body",
        "{\"a\":1}",
        "-H",
        "Content-Type: application/json",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("POST http://"));
    assert_eq!(server.stop().unwrap().requests, 5);
}

#[test]
fn demo_runs_a_full_report_in_one_command() {
    let out = volley(&["demo", "--duration", "1", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    for s in ["Requests", "Times", "Status codes", "200 OK", "Transfer"] {
        assert!(report.contains(s), "{s} missing:\n{report}");
    }
}

#[test]
fn interrupt_ends_early_and_still_reports() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let start = Instant::now();
    let child = Command::new(volley_bin())
        .args([&url, "--rps", "100", "--users", "2", "-d", "60s", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    // 60 s planned; stopping early is the point, the bound is generous.
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("Status codes") && report.contains("200 OK"),
        "{report}"
    );
}

#[test]
fn log_has_one_row_per_request_on_the_schedule() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let path = std::env::temp_dir().join(format!("volley-log-{}.csv", std::process::id()));
    let out = volley(&[
        &url,
        "--rps",
        "500",
        "-c",
        "6",
        "-d",
        "1",
        "--threads",
        "2",
        "-q",
        "-o",
        "json",
        "--log",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let csv = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "index,intended_us,sent_us,done_us,latency_us,service_us,status,bytes_in,error,target"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let r = &v["requests"];
    let ended = r["completed"].as_u64().unwrap()
        + r["failed"].as_u64().unwrap()
        + r["unfinished"].as_u64().unwrap();
    assert_eq!(rows.len() as u64, ended);
    // Every scheduled index once, each intended exactly index × 2 ms.
    let mut seen: Vec<u64> = rows.iter().map(|f| f[0].parse().unwrap()).collect();
    seen.sort();
    assert_eq!(seen, (0..ended).collect::<Vec<_>>());
    for f in &rows {
        let index: u64 = f[0].parse().unwrap();
        assert_eq!(f[1].parse::<u64>().unwrap(), index * 2000, "{f:?}");
        let (sent, done): (u64, u64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        assert!(sent >= index * 2000 && done >= sent, "{f:?}");
        assert_eq!(f[4].parse::<u64>().unwrap(), done - index * 2000);
        assert!(f[6] == "200" || f[6] == "503", "{f:?}");
        assert_eq!(f[9], "GET /", "the target column names the request");
    }
    let statuses_200 = rows.iter().filter(|f| f[6] == "200").count() as u64;
    assert_eq!(statuses_200, v["status"]["200"].as_u64().unwrap());
}

#[test]
fn url_user_info_is_basic_authentication_and_the_password_is_never_shown() {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    // Keeps every request head it reads, and answers 200.
    let heads = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&heads);
    let server = volley_tests::raw::RawServer::start(move |mut s| {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while s.read(&mut byte).is_ok_and(|n| n == 1) {
            head.push(byte[0]);
            if head.ends_with(b"\r\n\r\n") {
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                head.clear();
                if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    let dir = std::env::temp_dir().join(format!("volley-basic-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (save, html, log) = (dir.join("r.json"), dir.join("r.html"), dir.join("r.csv"));
    let url = format!("http://al%40ice:s3cr%3At@{}/private", server.addr);
    let mut outputs = Vec::new();
    for format in ["text", "json"] {
        let out = volley(&[
            &url,
            "--rps",
            "20",
            "-c",
            "2",
            "-n",
            "10",
            "-q",
            "-o",
            format,
            "--save",
            save.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        outputs.push(text(&out.stdout) + &text(&out.stderr));
    }
    // "al@ice:s3cr:t", percent-decoded, as curl sends it.
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 20);
    assert!(
        heads
            .iter()
            .all(|h| h.contains("\r\nAuthorization: Basic YWxAaWNlOnMzY3I6dA==\r\n")),
        "{}",
        heads[0]
    );
    assert!(
        heads[0].starts_with("GET /private HTTP/1.1\r\n"),
        "{}",
        heads[0]
    );
    for file in [&save, &html, &log] {
        outputs.push(std::fs::read_to_string(file).unwrap());
    }
    for shown in &outputs {
        assert!(
            shown.contains("/private") || shown.starts_with("index,"),
            "{shown}"
        );
        for secret in ["s3cr", "al%40ice", "al@ice", "YWxAaWNl"] {
            assert!(!shown.contains(secret), "{secret:?} shown in: {shown}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// SPEC §2's keep-alive race, made certain: the server answers the first
/// request on each connection and closes the connection on the second
/// without answering it. Each request after the first goes once more on a
/// new connection; the reports count the retries under connections, the
/// log has one row per request, and a merge adds them.
#[test]
fn requests_lost_to_the_keep_alive_race_are_retried_and_reported() {
    use volley_tests::raw::{RawServer, read_request};
    let server = RawServer::start(|mut s| {
        use std::io::Write;
        if read_request(&mut s)
            && s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_ok()
        {
            read_request(&mut s);
        }
    });
    let url = format!("http://{}/", server.addr);
    let dir = std::env::temp_dir().join(format!("volley-race-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (save, log) = (dir.join("r.json"), dir.join("r.csv"));
    let args = |format: &'static str| {
        vec![
            url.clone(),
            "--rps".into(),
            "max".into(),
            "-c".into(),
            "1".into(),
            "-n".into(),
            "20".into(),
            "-q".into(),
            "-o".into(),
            format.into(),
            "--save".into(),
            save.to_str().unwrap().into(),
            "--log".into(),
            log.to_str().unwrap().into(),
        ]
    };
    let run = |format| {
        let args = args(format);
        let out = volley(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out
    };
    let out = run("text");
    let report = text(&out.stdout);
    assert!(
        report.contains(
            "  retried             19   requests whose reused connection the server closed before answering"
        ),
        "{report}"
    );
    let v = support::json(&run("json"));
    assert_eq!(v["connections"]["retried"].as_u64(), Some(19), "{v}");
    assert_eq!(v["connections"]["opened"].as_u64(), Some(20), "{v}");
    for (k, n) in [("sent", 20), ("completed", 20), ("failed", 0)] {
        assert_eq!(v["requests"][k].as_u64(), Some(n), "{k}: {v}");
    }
    let csv = std::fs::read_to_string(&log).unwrap();
    assert_eq!(csv.lines().count(), 1 + 20, "{csv}");
    let out = volley(&[
        "merge",
        save.to_str().unwrap(),
        save.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        support::json(&out)["connections"]["retried"].as_u64(),
        Some(38)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--http2` against the built-in server over h2c, which ends each
/// connection with a GOAWAY after 100 streams: every request completes,
/// the server answered each once (its unprocessed streams were sent again
/// and counted), and the report names the protocol and its counts.
#[test]
fn http2_against_volley_serve_survives_its_goaways() {
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        http2: true,
        max_requests: Some(100),
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/", server.addr());
    let out = volley(&[
        &url,
        "--http2",
        "--rps",
        "max",
        "-c",
        "20",
        "--connections",
        "2",
        "--threads",
        "1",
        "-n",
        "1000",
        "-q",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stats = server.stop().unwrap();
    let (r, c) = (&v["requests"], &v["connections"]);
    assert_eq!(v["run"]["protocol"], "h2");
    assert_eq!(v["run"]["connections"], 2);
    assert_eq!(r["completed"], 1000, "{r}");
    assert_eq!(v["status"]["200"], 1000);
    assert_eq!(
        stats.responses, 1000,
        "the server answered each request once"
    );
    let goaways = c["goaways"].as_u64().unwrap();
    assert!(goaways >= 9, "one GOAWAY per 100 streams: {c}");
    assert_eq!(c["opened"].as_u64().unwrap(), stats.connections, "{c}");
    assert_eq!(
        c["streams"].as_u64().unwrap(),
        1000 + c["retried"].as_u64().unwrap(),
        "every stream is a request or a retry: {c}"
    );
}
