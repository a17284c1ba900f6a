//! HTTP/2 against real servers (SPEC §11): nginx over h2c and over TLS
//! (ALPN h2), h2o, and nghttp2's nghttpd, each started here on loopback.
//! Each serves a small response, a 1 MiB file, and a response without a
//! content-length (HTTP/2's counterpart of chunked: a gzip-compressed page,
//! or a body h2o's mruby handler streams in pieces); volley's counts per
//! target must equal what the server logged, with nothing failed.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{assert_json_accounted, json, text, volley};
use volley_tests::daemon::{Daemon, Program};
use volley_tests::httpd::{Httpd, KeepAlive, Kind, Resource};
use volley_tests::nginx::Nginx;

/// The 1 MiB file every server serves.
fn mib() -> Vec<u8> {
    (0..1 << 20).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A page that compresses well: nginx sends it gzipped, without a length.
fn page() -> String {
    "line of text\n".repeat(2_000)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volley-h2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A vegeta-format file of GETs of `paths` under `base`, the gzip one
/// asking for gzip.
fn targets_file(dir: &Path, base: &str, paths: &[&str]) -> PathBuf {
    let file = dir.join("targets.txt");
    let body: String = paths
        .iter()
        .map(|p| match *p {
            "/chunked" => format!("GET {base}{p}\nAccept-Encoding: gzip\n\n"),
            _ => format!("GET {base}{p}\n\n"),
        })
        .collect();
    std::fs::write(&file, body).unwrap();
    file
}

/// The per-target entries of a JSON report, by name.
fn targets(v: &Value) -> BTreeMap<String, Value> {
    v["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("no targets: {v}"))
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t.clone()))
        .collect()
}

/// Runs volley with `--http2` and `args`, expecting success and the
/// accounting identity; returns the JSON report.
fn run_h2(args: &[&str]) -> Value {
    let mut all = vec!["--http2", "-q", "-o", "json"];
    all.extend_from_slice(args);
    let out = volley(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_json_accounted(&v);
    assert_eq!(v["run"]["protocol"], "h2", "{}", v["run"]);
    v
}

/// Every HTTP/2 identity of a run that retried nothing it should not: the
/// streams are the requests sent plus the retries.
fn assert_streams(v: &Value) {
    let c = &v["connections"];
    assert_eq!(
        c["streams"].as_u64().unwrap(),
        v["requests"]["sent"].as_u64().unwrap() + c["retried"].as_u64().unwrap(),
        "streams = sent + retried: {c}"
    );
}

const NGINX_SITE: &str = "keepalive_requests 1000; \
     location = /small { return 200 \"ok\\n\"; } \
     location = /big { alias {dir}/big.bin; } \
     location = /chunked { gzip on; gzip_min_length 1; gzip_types text/plain; alias {dir}/page.txt; }";

/// nginx over h2c and over TLS with ALPN h2: per target, volley's 200s
/// equal nginx's log, nothing fails, and nginx logged HTTP/2.0.
#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn nginx_h2c_and_h2_over_tls_count_what_nginx_logs() {
    use volley_tests::tls::{self_signed, write_ca};
    let pki = self_signed(&["localhost"], false);
    let (big, page) = (mib(), page());
    let files: [(&str, &[u8]); 4] = [
        ("big.bin", &big),
        ("page.txt", page.as_bytes()),
        ("cert.pem", pki.cert_pem.as_bytes()),
        ("key.pem", pki.key_pem.as_bytes()),
    ];
    for tls in [false, true] {
        let listen = match tls {
            false => "listen 127.0.0.1:{port} http2;".to_string(),
            true => "listen 127.0.0.1:{port} ssl http2; ssl_certificate {dir}/cert.pem; \
                     ssl_certificate_key {dir}/key.pem;"
                .to_string(),
        };
        let nginx = Nginx::start_with(
            &format!(
                "log_format h2 '$status $uri $server_protocol'; \
                 server {{ {listen} access_log {{dir}}/h2.log h2; {NGINX_SITE} }}"
            ),
            &files,
        );
        let base = match tls {
            false => format!("http://{}", nginx.addr),
            true => format!("https://localhost:{}", nginx.addr.port()),
        };
        let dir = scratch(if tls { "nginx-tls" } else { "nginx" });
        let file = targets_file(&dir, &base, &["/small", "/big", "/chunked"]);
        let ca = write_ca(&pki, "nginx-h2");
        let mut args = vec![
            "--targets",
            file.to_str().unwrap(),
            "--rps",
            "300",
            "-c",
            "10",
            "--connections",
            "2",
            "-n",
            "600",
        ];
        if tls {
            args.extend_from_slice(&["--cacert", ca.to_str().unwrap()]);
        }
        let v = run_h2(&args);
        assert_eq!(v["requests"]["failed"].as_u64(), Some(0), "{v}");
        assert_streams(&v);
        let t = targets(&v);
        let log = std::fs::read_to_string(nginx.dir().join("h2.log")).unwrap();
        for path in ["/small", "/big", "/chunked"] {
            let ours = t[&format!("GET {path}")]["status"]["200"].as_u64();
            let theirs = log
                .lines()
                .filter(|l| *l == format!("200 {path} HTTP/2.0"))
                .count() as u64;
            assert_eq!(
                ours,
                Some(theirs),
                "tls {tls}, {path}: {}",
                t[&format!("GET {path}")]
            );
            assert_eq!(
                theirs, 200,
                "tls {tls}, {path}: 600 requests over three targets"
            );
            eprintln!("nginx, tls {tls}, {path}: nginx logged {theirs}, volley counted {ours:?}");
        }
        eprintln!("nginx, tls {tls}: {}", v["connections"]);
        let received = v["bytes"]["received"].as_u64().unwrap();
        assert!(
            received > 200 * (1 << 20),
            "tls {tls}: the 1 MiB bodies arrived whole: {received} bytes"
        );
    }
}

/// nginx's periodic GOAWAY (`keepalive_requests 1000`) costs no request:
/// 20,000 requests over one connection at the highest rate, each GOAWAY's
/// unprocessed streams sent again, and the 200s equal nginx's log.
#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn nginx_periodic_goaway_costs_no_request() {
    let nginx = Nginx::start(
        "server { listen 127.0.0.1:{port} http2; keepalive_requests 1000; \
         location / { return 200 \"ok\\n\"; } }",
    );
    let url = format!("http://{}/", nginx.addr);
    let v = run_h2(&[
        &url,
        "--rps",
        "max",
        "-c",
        "100",
        "--connections",
        "1",
        "--threads",
        "1",
        "-n",
        "20000",
    ]);
    let c = &v["connections"];
    assert_eq!(v["requests"]["failed"].as_u64(), Some(0), "{v}");
    assert_eq!(v["requests"]["completed"].as_u64(), Some(20_000), "{v}");
    assert_eq!(v["status"]["200"].as_u64(), Some(nginx.served(200)), "{c}");
    // nginx ends each connection after 1,000 requests.
    let goaways = c["goaways"].as_u64().unwrap();
    assert!((19..=21).contains(&goaways), "{c}");
    assert!(c["opened"].as_u64().unwrap() >= 20, "{c}");
    assert_streams(&v);
    eprintln!("nginx keepalive_requests 1000, 20,000 requests: {c}");
}

/// An https server that does not select h2 in ALPN ends an --http2 run at
/// once with one line saying so.
#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn a_server_without_h2_ends_the_run_with_one_line() {
    use volley_tests::tls::{self_signed, write_ca};
    let pki = self_signed(&["localhost"], false);
    let nginx = Nginx::start_with(
        "server { listen 127.0.0.1:{port} ssl; ssl_certificate {dir}/cert.pem; \
         ssl_certificate_key {dir}/key.pem; location / { return 200 \"ok\\n\"; } }",
        &[
            ("cert.pem", pki.cert_pem.as_bytes()),
            ("key.pem", pki.key_pem.as_bytes()),
        ],
    );
    let ca = write_ca(&pki, "nginx-h1");
    let url = format!("https://localhost:{}/", nginx.addr.port());
    let start = std::time::Instant::now();
    let out = volley(&[
        &url,
        "--http2",
        "--cacert",
        ca.to_str().unwrap(),
        "--rps",
        "100",
        "-c",
        "4",
        "-d",
        "10",
        "-q",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("did not select HTTP/2 (ALPN h2)"), "{err}");
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    assert_eq!(nginx.served(200), 0);
}

/// h2o over h2c (prior knowledge): small, 1 MiB and streamed (mruby, no
/// length) responses, each counted as h2o logged it.
#[test]
#[ignore = "needs h2o (apt-get install h2o); CI installs it and runs it"]
fn h2o_logs_every_request_volley_counts() {
    let server = Httpd::start(
        Kind::H2o,
        KeepAlive {
            max_requests: 1000,
            idle_s: 10,
        },
    );
    for resource in [Resource::Small, Resource::Big, Resource::Chunked] {
        let url = server.url(resource);
        let v = run_h2(&[&url, "--rps", "200", "-c", "8", "-n", "200"]);
        assert_eq!(
            v["requests"]["failed"].as_u64(),
            Some(0),
            "{resource:?}: {v}"
        );
        assert_streams(&v);
        assert_eq!(
            v["status"]["200"].as_u64(),
            Some(server.served(200, resource)),
            "{resource:?}: {}",
            server.errors()
        );
        assert_eq!(v["status"]["200"].as_u64(), Some(200), "{resource:?}");
        eprintln!(
            "h2o {resource:?}: h2o logged {}, volley counted {}; {}",
            server.served(200, resource),
            v["status"]["200"],
            v["connections"]
        );
    }
}

const NGHTTPD: Program = Program {
    name: "nghttpd",
    binary: "/usr/sbin/nghttpd",
    package: "nghttp2-server",
};

/// nghttp2's own server over h2c: it keeps no access log, so its verbose
/// trace is the judge: one response HEADERS frame with `:status: 200` per
/// request volley counts.
#[test]
#[ignore = "needs nghttpd (apt-get install nghttp2-server); CI installs it and runs it"]
fn nghttpd_answers_every_request_volley_counts() {
    let (big, page) = (mib(), page());
    let daemon = Daemon::start(
        NGHTTPD,
        &[("big.bin", &big), ("page.txt", page.as_bytes())],
        |dir, port| {
            vec![
                "--no-tls".into(),
                "-v".into(),
                "--address=127.0.0.1".into(),
                format!("--htdocs={}", dir.display()),
                port.to_string(),
            ]
        },
    );
    let base = format!("http://{}", daemon.addr);
    let mut total = 0;
    for path in ["/page.txt", "/big.bin"] {
        let v = run_h2(&[
            &format!("{base}{path}"),
            "--rps",
            "100",
            "-c",
            "4",
            "-n",
            "100",
        ]);
        assert_eq!(v["requests"]["failed"].as_u64(), Some(0), "{path}: {v}");
        assert_eq!(v["status"]["200"].as_u64(), Some(100), "{path}: {v}");
        assert_streams(&v);
        total += 100;
    }
    // Its trace is written as it goes; give it a moment to reach the file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let served = loop {
        let trace = std::fs::read_to_string(daemon.dir.join("console.log")).unwrap_or_default();
        let n = trace.lines().filter(|l| l.trim() == ":status: 200").count();
        if n >= total || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(served, total, "nghttpd's trace");
    eprintln!(
        "nghttpd: its trace shows {served} responses with status 200; volley counted {total}"
    );
}
