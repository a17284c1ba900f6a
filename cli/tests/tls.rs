//! https targets from the command line: a rustls server on loopback with
//! certificates made at test time. Every run is short and bounded.

mod support;

use std::time::{Duration, Instant};

use support::{text, volley};
use volley_tests::tls::{BOTH, Behaviour, Pki, TlsServer, pki, self_signed, write_ca};

#[test]
fn trusted_with_cacert_and_refused_without() {
    let pki = pki(&["localhost"], false);
    let ca = write_ca(&pki, "trusted");
    let server = TlsServer::start(&pki, BOTH, Behaviour::Answer);
    let url = format!("https://localhost:{}/", server.addr.port());

    let out = volley(&[
        &url,
        "--rps",
        "100",
        "-c",
        "4",
        "-d",
        "1",
        "-q",
        "-o",
        "json",
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["requests"]["completed"].as_u64(), Some(100), "{v}");
    assert_eq!(v["status"]["200"].as_u64(), Some(100));
    // One shared session cache: a user that connects a moment after another
    // finished its handshake may resume it.
    let (full, resumed) = (
        v["connections"]["tls_full"].as_u64().unwrap(),
        v["connections"]["tls_resumed"].as_u64().unwrap(),
    );
    assert_eq!(full + resumed, 4, "{v}");
    assert!(full >= 1);
    assert_eq!(v["tls_handshake_us"]["count"].as_u64(), Some(4));
    assert_eq!(v["run"]["tls"], true);

    let start = Instant::now();
    let out = volley(&[&url, "--rps", "100", "-c", "4", "-d", "30", "-q"]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "a rejected certificate must end the run at once"
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("unknown issuer") && err.contains("--cacert") && err.contains("--insecure"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "no report of identical errors: {}",
        text(&out.stdout)
    );
}

#[test]
fn a_self_signed_certificate_given_to_cacert_is_trusted() {
    let pki = self_signed(&["localhost"], false);
    let ca = write_ca(&pki, "selfsigned");
    let server = TlsServer::start(&pki, BOTH, Behaviour::Answer);
    let url = format!("https://localhost:{}/", server.addr.port());
    let out = volley(&[
        &url,
        "--rps",
        "50",
        "-c",
        "2",
        "-d",
        "1",
        "-q",
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("200 OK"));
    // A different self-signed certificate is still refused.
    let other = self_signed(&["localhost"], false);
    let ca = write_ca(&other, "selfsigned-other");
    let out = volley(&[
        &url,
        "--rps",
        "50",
        "-c",
        "2",
        "-d",
        "1",
        "-q",
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn insecure_accepts_any_certificate_and_says_so() {
    let pki = pki(&["localhost"], false);
    let server = TlsServer::start(&pki, BOTH, Behaviour::Answer);
    let url = format!("https://localhost:{}/", server.addr.port());
    let out = volley(&[
        &url,
        "--rps",
        "50",
        "-c",
        "2",
        "-d",
        "1",
        "-q",
        "--insecure",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("NOT verified"), "{report}");
    assert!(report.contains("200 OK"), "{report}");
}

#[test]
fn wrong_host_name_and_expired_certificates_are_named() {
    let wrong = pki(&["example.test"], false);
    let ca = write_ca(&wrong, "wrong");
    let server = TlsServer::start(&wrong, BOTH, Behaviour::Answer);
    let url = format!("https://localhost:{}/", server.addr.port());
    let out = volley(&[
        &url,
        "--rps",
        "50",
        "-c",
        "2",
        "-d",
        "5",
        "-q",
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("not valid for the name \"localhost\""),
        "{err}"
    );

    let expired = pki(&["localhost"], true);
    let ca = write_ca(&expired, "expired");
    let server = TlsServer::start(&expired, BOTH, Behaviour::Answer);
    let url = format!("https://localhost:{}/", server.addr.port());
    let out = volley(&[
        &url,
        "--rps",
        "50",
        "-c",
        "2",
        "-d",
        "5",
        "-q",
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("expired"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_server_that_closes_mid_handshake_costs_connections_not_the_run() {
    let pki = pki(&["localhost"], false);
    let server = TlsServer::start(&pki, BOTH, Behaviour::CloseInHandshake);
    let url = format!("https://localhost:{}/", server.addr.port());
    let out = volley(&[
        &url,
        "--rps",
        "20",
        "-c",
        "2",
        "-d",
        "1",
        "-q",
        "-o",
        "json",
        "--insecure",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["requests"];
    let n = |k: &str| r[k].as_u64().unwrap();
    assert_eq!(n("completed"), 0);
    assert!(n("failed") > 0);
    assert_eq!(v["errors"]["tls"].as_u64(), Some(n("failed")), "{v}");
    // The server closes after reading part of the hello, which the kernel
    // reports as a close or, with the rest unread, as a reset.
    let example = v["error_examples"]["tls"].as_str().unwrap_or_default();
    assert!(
        example == "the server closed the connection during the TLS handshake"
            || example.starts_with("TLS handshake failed: "),
        "{example}"
    );
    assert_eq!(
        n("scheduled"),
        n("completed") + n("failed") + n("unfinished") + n("unsent")
    );
}

/// What a run against one server certificate must end in.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Every request completes (exit 0).
    Works,
    /// The run ends at once (exit 1) with one line holding this text.
    Refused(&'static str),
}

/// SPEC §8's rule, case by case: a certificate is accepted only if it is
/// valid now and names the host, whether it chains to a CA given to
/// --cacert or is the exact self-signed certificate given there; only
/// --insecure skips those checks (and says so).
#[test]
fn the_trust_matrix() {
    let cases: [(&str, Pki, Expect); 7] = [
        (
            "CA-signed, CA given",
            pki(&["localhost"], false),
            Expect::Works,
        ),
        (
            "CA-signed for another name",
            pki(&["other.test"], false),
            Expect::Refused("not valid for the name \"localhost\""),
        ),
        (
            "CA-signed, expired",
            pki(&["localhost"], true),
            Expect::Refused("has expired"),
        ),
        (
            "self-signed, given",
            self_signed(&["localhost"], false),
            Expect::Works,
        ),
        (
            "self-signed for another name, given",
            self_signed(&["other.test"], false),
            Expect::Refused("not valid for the name \"localhost\""),
        ),
        (
            "self-signed, expired, given",
            self_signed(&["localhost"], true),
            Expect::Refused("has expired"),
        ),
        (
            "self-signed for 127.0.0.1 only, given",
            self_signed(&[], false),
            Expect::Refused("not valid for the name \"localhost\""),
        ),
    ];
    for (what, pki, expect) in cases {
        let ca = write_ca(&pki, "matrix");
        let server = TlsServer::start(&pki, BOTH, Behaviour::Answer);
        let url = format!("https://localhost:{}/", server.addr.port());
        let run = |extra: &[&str]| {
            let mut args = vec![
                url.as_str(),
                "--rps",
                "50",
                "-c",
                "2",
                "-d",
                "10",
                "-n",
                "20",
                "-q",
            ];
            args.extend_from_slice(extra);
            let start = Instant::now();
            let out = volley(&args);
            (out, start.elapsed())
        };
        let (out, took) = run(&["--cacert", ca.to_str().unwrap()]);
        let err = text(&out.stderr);
        match expect {
            Expect::Works => {
                assert_eq!(out.status.code(), Some(0), "{what}: {err}");
                let report = text(&out.stdout);
                let completed = report
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("completed"))
                    .map(str::trim);
                assert_eq!(completed, Some("20"), "{what}: {report}");
            }
            Expect::Refused(reason) => {
                assert_eq!(
                    out.status.code(),
                    Some(1),
                    "{what}: {err}{}",
                    text(&out.stdout)
                );
                assert!(took < Duration::from_secs(3), "{what}: took {took:?}");
                assert_eq!(err.lines().count(), 1, "{what}: {err}");
                assert!(err.contains(reason), "{what}: {err}");
            }
        }
        let (out, _) = run(&["--insecure"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}, --insecure: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("TLS certificate NOT verified"),
            "{what}"
        );
    }
    // By IP address, the self-signed certificate for 127.0.0.1 names the host.
    let by_ip = self_signed(&[], false);
    let ca = write_ca(&by_ip, "by-ip");
    let server = TlsServer::start(&by_ip, BOTH, Behaviour::Answer);
    let url = format!("https://127.0.0.1:{}/", server.addr.port());
    let out = volley(&[
        &url,
        "--rps",
        "50",
        "-c",
        "2",
        "-n",
        "10",
        "-q",
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// --cert and --key are checked before the run: files that do not parse
/// and a key of another certificate are refused with exit code 2; they are
/// for https only.
#[test]
fn client_certificate_files_are_checked_before_the_run() {
    let dir = std::env::temp_dir().join(format!("volley-client-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (one, other) = (pki(&["client"], false), pki(&["client"], false));
    let file = |name: &str, contents: &str| {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (cert, key, other_key, junk) = (
        file("cert.pem", &one.cert_pem),
        file("key.pem", &one.key_pem),
        file("other.key", &other.key_pem),
        file("junk.pem", "not pem\n"),
    );
    // Nothing listens on port 9: a run would fail to connect, not exit 2.
    let run = |cert: &str, key: &str| {
        volley(&[
            "https://127.0.0.1:9/",
            "--rps",
            "1",
            "-c",
            "1",
            "-q",
            "--cert",
            cert,
            "--key",
            key,
        ])
    };
    for (c, k, expected) in [
        (
            &cert,
            &other_key,
            "does not match the certificate of --cert",
        ),
        (&junk, &key, "--cert"),
        (&cert, &junk, "--key"),
        (&cert, &"/no/such/key".to_string(), "--key"),
    ] {
        let out = run(c, k);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{c} {k}: {err}");
        assert!(
            err.contains(expected) && err.lines().count() == 1,
            "{c} {k}: {err}"
        );
    }
    let out = volley(&[
        "http://127.0.0.1:9/",
        "--rps",
        "1",
        "-c",
        "1",
        "--cert",
        &cert,
        "--key",
        &key,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--cert applies to https:// URLs only"),
        "{}",
        text(&out.stderr)
    );
    let out = volley(&[
        "https://127.0.0.1:9/",
        "--rps",
        "1",
        "-c",
        "1",
        "--cert",
        &cert,
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--cert needs --key: {}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--connect-to HOST:PORT:ADDR:PORT` sends the connections elsewhere and
/// keeps the URL's name for SNI and the certificate (and the Host header);
/// the report names where they went.
#[test]
fn connect_to_keeps_the_urls_name() {
    let pki = pki(&["example.test"], false);
    let ca = write_ca(&pki, "connect-to");
    let server = TlsServer::start(&pki, BOTH, Behaviour::Answer);
    let rule = format!("example.test:443:127.0.0.1:{}", server.addr.port());
    let base = [
        "https://example.test/",
        "--rps",
        "50",
        "-c",
        "2",
        "-n",
        "10",
        "-q",
        "--cacert",
        ca.to_str().unwrap(),
    ];
    let mut args = base.to_vec();
    args.extend(["--connect-to", &rule, "-o", "json"]);
    let out = volley(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["requests"]["completed"], 10, "{v}");
    let to = format!("127.0.0.1:{}", server.addr.port());
    assert_eq!(
        v["connections"]["by_address"],
        serde_json::json!({ &to: 2 }),
        "{v}"
    );
    let mut args = base.to_vec();
    args.extend(["--connect-to", &rule]);
    let report = text(&volley(&args).stdout);
    assert!(report.contains(&format!("connected to {to}")), "{report}");
    // A rule for another host does not apply: example.test does not resolve.
    let mut args = base.to_vec();
    args.extend(["--connect-to", "other.test:443:127.0.0.1:1"]);
    let out = volley(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot resolve host \"example.test\""),
        "{}",
        text(&out.stderr)
    );
}
