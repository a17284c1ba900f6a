//! https targets from the command line: a rustls server on loopback with
//! certificates made at test time. Every run is short and bounded.

mod support;

use std::time::{Duration, Instant};

use support::{text, volley};
use volley_tests::tls::{BOTH, Behaviour, TlsServer, pki, self_signed, write_ca};

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
    let pki = self_signed(&["localhost"]);
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
    let other = self_signed(&["localhost"]);
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
