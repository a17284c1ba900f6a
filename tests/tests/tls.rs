//! https targets through the driver: a rustls server on loopback with
//! certificates made at test time. Every run is short and bounded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use volley_core::{Config, Rate, RequestSpec, RequestTemplate};
use volley_driver::{Control, Endpoint, Origin, RunPlan, Tls, TlsOptions};
use volley_tests::tls::{BOTH, Behaviour, TlsServer, pki, write_ca};

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
        client_cert: None,
        http2: false,
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
            origins: vec![Origin::new(Endpoint::tcp(addr), Some(tls))],
            requests: template.into(),
            log: None,
            engines,
            start_at: None,
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
