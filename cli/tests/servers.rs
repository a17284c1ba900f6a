//! Real servers as the judges: volley against nginx, apache2, lighttpd and
//! h2o from Debian's packages, each started by the test on loopback, with
//! volley's counts compared with the server's own access log.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{json, text, volley};
use volley_tests::httpd::{Httpd, KeepAlive, Kind, Resource};
use volley_tests::nginx::Nginx;

#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn nginx_logs_every_request_volley_counts() {
    let nginx = Nginx::start(
        "server { listen 127.0.0.1:{port}; keepalive_requests 50; location / { return 200 \"hello\\n\"; } }",
    );
    let url = format!("http://{}/", nginx.addr);
    let out = volley(&[
        &url, "--rps", "500", "-c", "10", "-n", "1000", "-q", "-o", "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["status"]["200"].as_u64(), Some(nginx.served(200)), "{v}");
    assert_eq!(nginx.served(200), 1000, "{}", nginx.error_log());
}

/// SPEC §8's trust rule against nginx serving certificates made here: a
/// certificate given to --cacert still has to be valid now and name the
/// host, unless --insecure.
#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn nginx_over_tls_is_trusted_only_as_spec_8_says() {
    use volley_tests::tls::{Pki, pki, self_signed, write_ca};
    let cases: [(&str, Pki, Option<&str>); 5] = [
        (
            "self-signed for localhost",
            self_signed(&["localhost"], false),
            None,
        ),
        ("CA-signed for localhost", pki(&["localhost"], false), None),
        (
            "self-signed for other.test",
            self_signed(&["other.test"], false),
            Some("not valid for the name \"localhost\""),
        ),
        (
            "self-signed, expired",
            self_signed(&["localhost"], true),
            Some("has expired"),
        ),
        (
            "CA-signed, expired",
            pki(&["localhost"], true),
            Some("has expired"),
        ),
    ];
    for (what, pki, refused) in cases {
        let nginx = Nginx::start_with(
            "server { listen 127.0.0.1:{port} ssl; ssl_certificate {dir}/cert.pem; \
             ssl_certificate_key {dir}/key.pem; location / { return 200 \"hello\\n\"; } }",
            &[
                ("cert.pem", pki.cert_pem.as_bytes()),
                ("key.pem", pki.key_pem.as_bytes()),
            ],
        );
        let ca = write_ca(&pki, "nginx");
        let url = format!("https://localhost:{}/", nginx.addr.port());
        let run = |flag: &[&str]| {
            let mut args = vec![
                url.as_str(),
                "--rps",
                "100",
                "-c",
                "4",
                "-d",
                "10",
                "-n",
                "100",
                "-q",
                "-o",
                "json",
            ];
            args.extend_from_slice(flag);
            let start = std::time::Instant::now();
            (volley(&args), start.elapsed())
        };
        let (out, took) = run(&["--cacert", ca.to_str().unwrap()]);
        match refused {
            None => {
                assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out.stderr));
                assert_eq!(json(&out)["status"]["200"].as_u64(), Some(100), "{what}");
            }
            Some(reason) => {
                let err = text(&out.stderr);
                assert_eq!(out.status.code(), Some(1), "{what}: {err}");
                assert!(
                    err.contains(reason) && err.lines().count() == 1,
                    "{what}: {err}"
                );
                assert!(
                    took < std::time::Duration::from_secs(3),
                    "{what}: took {took:?}"
                );
            }
        }
        let (out, _) = run(&["--insecure"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}, --insecure: {}",
            text(&out.stderr)
        );
        assert_eq!(json(&out)["run"]["insecure"], true, "{what}");
        let expected = if refused.is_some() { 100 } else { 200 };
        assert_eq!(nginx.served(200), expected, "{what}: nginx's log");
    }
}

/// Mutual TLS against nginx with `ssl_verify_client on` (SPEC §9): without
/// a client certificate the run ends at once with one line naming the
/// refusal; with the one the server's CA signed, every request completes
/// and nginx logs them all.
#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn nginx_with_mutual_tls() {
    use volley_tests::tls::{pki, self_signed, write_ca};
    let server = self_signed(&["localhost"], false);
    let client = pki(&["volley client"], false);
    let nginx = Nginx::start_with(
        "server { listen 127.0.0.1:{port} ssl; ssl_certificate {dir}/cert.pem; ssl_certificate_key {dir}/key.pem; \
         ssl_client_certificate {dir}/clients.pem; ssl_verify_client on; location / { return 200 \"hello\\n\"; } }",
        &[
            ("cert.pem", server.cert_pem.as_bytes()),
            ("key.pem", server.key_pem.as_bytes()),
            ("clients.pem", client.ca_pem.as_bytes()),
        ],
    );
    let dir = std::env::temp_dir().join(format!("volley-mtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("client.pem"), dir.join("client.key"));
    std::fs::write(&cert, &client.cert_pem).unwrap();
    std::fs::write(&key, &client.key_pem).unwrap();
    let ca = write_ca(&server, "mtls");
    let url = format!("https://localhost:{}/", nginx.addr.port());
    let base = [
        url.as_str(),
        "--rps",
        "200",
        "-c",
        "4",
        "-d",
        "10",
        "-n",
        "200",
        "-q",
        "--cacert",
        ca.to_str().unwrap(),
    ];

    let start = std::time::Instant::now();
    let out = volley(&base);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}{}", text(&out.stdout));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("asked for a TLS client certificate") && err.contains("--cert"),
        "{err}"
    );

    let mut with_cert = base.to_vec();
    with_cert.extend([
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let out = volley(&with_cert);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["status"]["200"].as_u64(), Some(200));
    assert_eq!(nginx.served(200), 200, "nginx's log");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--unix-socket` (SPEC §9) against nginx listening on Unix sockets, for
/// http and https; the URL gives the Host header and the TLS name.
#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn nginx_over_a_unix_socket() {
    use volley_tests::tls::{self_signed, write_ca};
    let cert = self_signed(&["localhost"], false);
    let nginx = Nginx::start_with(
        "server { listen 127.0.0.1:{port}; listen unix:{dir}/http.sock; location / { return 200 \"$host\\n\"; } }\n\
         server { listen unix:{dir}/https.sock ssl; ssl_certificate {dir}/cert.pem; ssl_certificate_key {dir}/key.pem; \
         location / { return 200 \"tls\\n\"; } }",
        &[
            ("cert.pem", cert.cert_pem.as_bytes()),
            ("key.pem", cert.key_pem.as_bytes()),
        ],
    );
    let ca = write_ca(&cert, "unix");
    let socket = |name: &str| nginx.dir().join(name).to_str().unwrap().to_string();
    let (http, https) = (socket("http.sock"), socket("https.sock"));
    for (url, sock, extra) in [
        ("http://localhost/", &http, vec![]),
        (
            "https://localhost/",
            &https,
            vec!["--cacert", ca.to_str().unwrap()],
        ),
    ] {
        let mut args = vec![
            url,
            "--unix-socket",
            sock.as_str(),
            "--rps",
            "200",
            "-c",
            "4",
            "-n",
            "100",
            "-q",
            "-o",
            "json",
        ];
        args.extend(extra);
        let out = volley(&args);
        assert_eq!(out.status.code(), Some(0), "{url}: {}", text(&out.stderr));
        let v = json(&out);
        assert_eq!(v["status"]["200"], 100, "{url}: {v}");
        assert_eq!(
            v["connections"]["by_address"],
            serde_json::json!({ format!("unix:{sock}"): 4 }),
            "{url}: {v}"
        );
    }
    assert_eq!(nginx.served(200), 200, "nginx's log");
    let out = volley(&[
        "http://localhost/",
        "--unix-socket",
        "/no/such.sock",
        "--rps",
        "1",
        "-c",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--unix-socket \"/no/such.sock\""),
        "{}",
        text(&out.stderr)
    );
}

/// How a case loads the server, and when the server closes connections.
struct Case {
    name: &'static str,
    limits: KeepAlive,
    users: u64,
    /// volley's arguments besides the URL and the users.
    load: &'static [&'static str],
}

/// With a 1 s keep-alive timeout, each of 8 users sends every 1.33 s, so
/// every connection is closed while idle between two of its requests, and
/// some closes cross a request. Then the users send as fast as they can,
/// 150 requests each, through the servers' limit of 100 per connection.
const CASES: [Case; 2] = [
    Case {
        name: "closed while idle",
        limits: KeepAlive {
            max_requests: 100,
            idle_s: 1,
        },
        users: 8,
        load: &["--rps", "6", "-d", "3"],
    },
    Case {
        name: "closed after 100",
        limits: KeepAlive {
            max_requests: 100,
            idle_s: 5,
        },
        users: 4,
        load: &["--rps", "max", "-n", "600"],
    },
];

/// One server, case and resource, as measured.
#[derive(Debug)]
struct Row {
    server: Kind,
    case: &'static str,
    users: u64,
    resource: Resource,
    /// The 200s in volley's report.
    ok: u64,
    /// The 200s in the server's access log.
    logged: u64,
    completed: u64,
    failed: u64,
    unfinished: u64,
    retried: u64,
    opened: u64,
    report: String,
}

/// The head of the response to one GET of `resource` on a connection of
/// its own, lowercased: how the server frames it.
fn head_of(server: &Httpd, resource: Resource) -> String {
    let url = server.url(resource);
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Every case against `kind`: a server of its own per case, stopped
/// before its log is counted.
fn judge(kind: Kind) -> Vec<Row> {
    let mut rows = Vec::new();
    for case in &CASES {
        let mut server = Httpd::start(kind, case.limits);
        let head = head_of(&server, Resource::Chunked);
        assert!(
            head.contains("transfer-encoding: chunked"),
            "{kind}: the chunked resource is not chunked: {head}"
        );
        let mut measured = Vec::new();
        for resource in Resource::ALL {
            let url = server.url(resource);
            let users = case.users.to_string();
            let mut args = vec![url.as_str(), "-c", &users, "-q", "-o", "json"];
            args.extend_from_slice(case.load);
            let out = volley(&args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{kind} {}: {}",
                case.name,
                text(&out.stderr)
            );
            measured.push((resource, json(&out)));
        }
        server.stop();
        for (resource, v) in measured {
            let n = |section: &str, key: &str| v[section][key].as_u64().unwrap_or(0);
            rows.push(Row {
                server: kind,
                case: case.name,
                users: case.users,
                resource,
                ok: n("status", "200"),
                // Less the one GET that checked the transfer coding.
                logged: server.served(200, resource) - u64::from(resource == Resource::Chunked),
                completed: n("requests", "completed"),
                failed: n("requests", "failed"),
                unfinished: n("requests", "unfinished"),
                retried: n("connections", "retried"),
                opened: n("connections", "opened"),
                report: v.to_string(),
            });
        }
        if rows.iter().any(|r| r.logged != r.ok) {
            eprintln!("{kind}: {}", server.errors());
        }
    }
    rows
}

/// apache2, lighttpd and h2o each serve a small file, a 100 KiB file and a
/// chunked response while they close keep-alive connections, both while
/// idle and after 100 requests (h2o has no such limit): no request fails,
/// and volley's 200s are the server's.
#[test]
#[ignore = "needs apache2, lighttpd and h2o (apt-get install apache2 lighttpd h2o); CI installs them and runs it"]
fn apache_lighttpd_and_h2o_log_every_request_volley_counts() {
    // The servers run side by side: the idle case mostly waits.
    let rows: Vec<Row> = std::thread::scope(|s| {
        let runs: Vec<_> = Kind::ALL
            .into_iter()
            .map(|kind| s.spawn(move || judge(kind)))
            .collect();
        runs.into_iter()
            .flat_map(|run| run.join().expect("a server's run"))
            .collect()
    });
    eprintln!(
        "server    case               resource       volley 200s  server log  failed  retried  connections"
    );
    for r in &rows {
        eprintln!(
            "{:<9} {:<18} {:<14} {:>11} {:>11} {:>7} {:>8} {:>12}",
            r.server.to_string(),
            r.case,
            r.resource.name(),
            r.ok,
            r.logged,
            r.failed,
            r.retried,
            r.opened
        );
    }
    for r in &rows {
        let ctx = format!(
            "{} {} {}: {}",
            r.server,
            r.case,
            r.resource.name(),
            r.report
        );
        assert_eq!((r.failed, r.unfinished), (0, 0), "{ctx}");
        assert_eq!(r.ok, r.completed, "{ctx}");
        assert_eq!(r.ok, r.logged, "{ctx}");
        // The case did what it says: the server closed connections, so
        // users had to open more than one each.
        if r.case == CASES[0].name || r.server.limits_requests() {
            assert!(r.opened > r.users, "{ctx}");
        }
    }
}
