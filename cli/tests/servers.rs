//! Real servers as the judges: volley against nginx from Debian's package,
//! started by the test on loopback, with volley's counts compared with the
//! server's own access log.

mod support;

use support::{json, text, volley};
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
    let socket = |name: &str| nginx.dir.join(name).to_str().unwrap().to_string();
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
