//! https targets: a rustls server on loopback with certificates made at
//! test time. Every run is short and bounded.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, SupportedProtocolVersion};
use support::volley_bin;
use volley_core::{Config, Rate, RequestSpec, RequestTemplate};
use volley_driver::{Control, RunPlan, Tls, TlsOptions};

/// A CA and a leaf certificate it signed.
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki(names: &[&str], expired: bool) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "volley test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    if expired {
        leaf.not_before = rcgen::date_time_ymd(2001, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(2002, 1, 1);
    }
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn write_ca(pki: &Pki, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volley-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    path
}

#[derive(Clone, Copy)]
enum Behaviour {
    /// Answer every request with 200 "ok".
    Answer,
    /// Read the ClientHello, then close without answering.
    CloseInHandshake,
}

/// A threaded rustls server on 127.0.0.1; stops when dropped.
struct TlsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TlsServer {
    fn start(
        pki: &Pki,
        versions: &[&'static SupportedProtocolVersion],
        behaviour: Behaviour,
    ) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(pki.chain.clone(), pki.key.clone_key())
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let config = Arc::clone(&config);
                        std::thread::spawn(move || serve(s, config, behaviour));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self {
            addr,
            stop,
            accept: Some(accept),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut sock: TcpStream, config: Arc<ServerConfig>, behaviour: Behaviour) {
    let _ = sock.set_nonblocking(false);
    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
    if let Behaviour::CloseInHandshake = behaviour {
        let mut hello = [0u8; 64];
        let _ = sock.read(&mut hello);
        return;
    }
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match tls.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
        if head.ends_with(b"\r\n\r\n") {
            head.clear();
            let close = false;
            if tls
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_err()
                || close
            {
                return;
            }
        }
    }
}

fn volley(args: &[&str]) -> Output {
    Command::new(volley_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run volley")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

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

    volley_bin();
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

/// A self-signed server certificate (itself a CA, as `openssl req -x509`
/// makes them), given to --cacert as it is.
fn self_signed(names: &[&str]) -> Pki {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    Pki {
        ca_pem: cert.pem(),
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
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

fn run_driver(
    addr: SocketAddr,
    ca: &std::path::Path,
    keep_alive: bool,
    requests: u64,
) -> volley_core::Stats {
    let tls = Tls::new(&TlsOptions {
        server_name: "localhost".into(),
        insecure: false,
        cacert: Some(ca.to_path_buf()),
    })
    .unwrap();
    let template = RequestTemplate::new(&RequestSpec {
        method: "GET".into(),
        target: "/".into(),
        host: format!("localhost:{}", addr.port()),
        close: !keep_alive,
        ..RequestSpec::default()
    })
    .unwrap();
    let mut c = Config::new(1, Rate::Max);
    c.max_requests = Some(requests);
    c.keep_alive = keep_alive;
    c.duration = Duration::from_secs(10);
    c.timeout = Duration::from_secs(5);
    let engines = c.split(1);
    let control = Arc::new(Control::new(engines.len()));
    volley_driver::run(
        RunPlan {
            addr,
            template,
            tls: Some(tls),
            log: None,
            engines,
        },
        control,
    )
    .unwrap()
}

#[test]
fn tls12_only_and_tls13_only_servers_work() {
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let pki = pki(&["localhost"], false);
        let ca = write_ca(&pki, "versions");
        let server = TlsServer::start(&pki, &[version], Behaviour::Answer);
        let stats = run_driver(server.addr, &ca, true, 20);
        assert_eq!(stats.completed, 20, "{version:?}: {stats:?}");
        assert_eq!(stats.tls_full + stats.tls_resumed, 1);
    }
}

#[test]
fn reconnects_resume_the_session() {
    let pki = pki(&["localhost"], false);
    let ca = write_ca(&pki, "resume");
    let server = TlsServer::start(&pki, BOTH, Behaviour::Answer);
    // No keep-alive: every request opens a new connection and handshakes.
    let stats = run_driver(server.addr, &ca, false, 10);
    assert_eq!(stats.completed, 10, "{stats:?}");
    assert_eq!(stats.tls_full + stats.tls_resumed, stats.connections);
    assert_eq!(
        stats.tls_full, 1,
        "only the first handshake is full: {stats:?}"
    );
    assert!(stats.tls_resumed >= 9);
}
