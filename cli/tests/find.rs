//! `volley find` (SPEC §14) against targets whose capacity is known: the
//! built-in server with --capacity (a FIFO queue before a fixed service
//! time), nginx with a real rate limit, and a service that too few users
//! cannot load. The steps are short (2 s) so that the three searches take
//! about a minute; they run one at a time.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::{json, text, volley};
use volley_server::{ServeConfig, Server};
use volley_tests::nginx::Nginx;

/// One search at a time: each measures latency, and two at once on two
/// cores would measure each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `volley find` and returns its JSON document.
fn find(url: &str, extra: &[&str]) -> (serde_json::Value, Duration) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = vec!["find", url, "--step", "2s", "-q", "-o", "json"];
    args.extend_from_slice(extra);
    let start = Instant::now();
    let out = volley(&args);
    let took = start.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    (json(&out), took)
}

fn answer(v: &serde_json::Value) -> f64 {
    v["answer_rps"]
        .as_f64()
        .unwrap_or_else(|| panic!("no answer: {v}"))
}

#[test]
fn finds_the_capacity_of_a_fifo_server() {
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        capacity: Some(2000.0),
        ..ServeConfig::default()
    })
    .unwrap();
    let page = std::env::temp_dir().join(format!("volley-find-{}.html", std::process::id()));
    let (v, took) = find(
        &format!("http://{}/", server.addr()),
        // 50 ms: above capacity the queue passes it within a step, while a
        // stall of the machine (25 ms was seen under CI) does not.
        &["--slo", "p99<50ms", "--html", page.to_str().unwrap()],
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let _ = std::fs::remove_file(&page);
    assert!(
        html.contains("<svg id=\"chart-find\"") && html.contains("sustains "),
        "the page"
    );
    assert!(
        !html.contains("src=") && !html.contains("<script"),
        "self-contained"
    );
    let rps = answer(&v);
    assert!(
        (1800.0..=2200.0).contains(&rps),
        "found {rps} req/s for a capacity of 2,000: {v:#}"
    );
    assert_eq!(v["confirmed"], true, "{v:#}");
    assert!(took < Duration::from_secs(180), "took {took:?}");
    // It rose geometrically, then bisected.
    let rates: Vec<f64> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rps"].as_f64().unwrap())
        .collect();
    assert_eq!(&rates[..5], [100.0, 200.0, 400.0, 800.0, 1600.0], "{v:#}");
}

#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn finds_nginxs_rate_limit() {
    // limit_req runs in a phase that `return` would skip: serve a file. It
    // counts in whole milliseconds, so without a burst two requests a
    // little closer than 1/1500 s would be refused far below the rate.
    let nginx = Nginx::start_with(
        "limit_req_zone $binary_remote_addr zone=volley:1m rate=1500r/s;\n  \
         server { listen 127.0.0.1:{port}; location / { limit_req zone=volley burst=50 nodelay; root {dir}; } }",
        &[("index.html", b"ok\n")],
    );
    let (v, _) = find(
        &format!("http://{}/", nginx.addr),
        &["--slo", "errors<1%", "--start-rps", "200"],
    );
    let rps = answer(&v);
    assert!(
        (1350.0..=1650.0).contains(&rps),
        "found {rps} req/s for limit_req rate=1500r/s: {v:#}"
    );
}

#[test]
fn raises_too_few_users_instead_of_reporting_them_as_the_capacity() {
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        delay: Duration::from_millis(10),
        ..ServeConfig::default()
    })
    .unwrap();
    // Two users of a 10 ms service can send at most 200 req/s.
    let (v, _) = find(
        &format!("http://{}/", server.addr()),
        &["--slo", "p99<50ms", "-c", "2", "--max-rps", "1600"],
    );
    assert_eq!(answer(&v), 1600.0, "{v:#}");
    assert_eq!(v["at_max_rps"], true);
    let notes = v["notes"].to_string();
    assert!(notes.contains("raised --users from 2"), "{notes}");
}

#[test]
fn max_time_ends_the_search_with_what_it_found() {
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .unwrap();
    // 1 s steps: 100, 200 and 400 req/s fit in 3.5 s, the next does not.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let url = format!("http://{}/", server.addr());
    let start = Instant::now();
    let out = volley(&[
        "find",
        &url,
        "--slo",
        "p99<1s",
        "--step",
        "1s",
        "--max-time",
        "3500ms",
        "-q",
        "-o",
        "json",
    ]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert!(
        v["stopped_early"]
            .as_str()
            .is_some_and(|s| s.contains("--max-time")),
        "{v:#}"
    );
    assert_eq!(v["confirmed"], false, "{v:#}");
    assert!(answer(&v) >= 100.0, "{v:#}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn bad_searches_are_refused_before_any_request() {
    for (args, expected) in [
        (vec!["find", "http://127.0.0.1:9/"], "--slo"),
        (
            vec!["find", "http://127.0.0.1:9/", "--slo", "p99<fast"],
            "--slo \"p99<fast\"",
        ),
        (
            vec![
                "find",
                "http://127.0.0.1:9/",
                "--slo",
                "p99<1s",
                "--rps",
                "10",
            ],
            "drop --rps",
        ),
        (
            vec![
                "find",
                "http://127.0.0.1:9/",
                "--slo",
                "p99<1s",
                "--step",
                "100ms",
            ],
            "--step",
        ),
        (
            vec![
                "find",
                "http://127.0.0.1:9/",
                "--slo",
                "p99<1s",
                "--max-rps",
                "x",
            ],
            "--max-rps \"x\"",
        ),
        (
            vec![
                "find",
                "http://127.0.0.1:9/",
                "--slo",
                "p99<1s",
                "--live",
                "/dev/null",
            ],
            "--live is for one run",
        ),
    ] {
        let out = volley(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(expected) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
}
