//! The driver over real loopback sockets: against the built-in server and
//! against raw listeners that misbehave. Every run is bounded in time.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use volley_core::{Config, ErrorKind, Rate, RequestSpec, RequestTemplate, Stats};
use volley_driver::{Control, Endpoint, Origin, RunPlan};
use volley_server::{ServeConfig, Server};
use volley_tests::raw::{RawServer, answer_all, read_request};

fn template(addr: SocketAddr, close: bool) -> RequestTemplate {
    RequestTemplate::new(&RequestSpec {
        method: "GET".into(),
        target: "/t".into(),
        host: addr.to_string(),
        close,
        ..RequestSpec::default()
    })
    .unwrap()
}

fn run(addr: SocketAddr, config: Config, threads: usize) -> Stats {
    let engines = config.split(threads);
    let control = Arc::new(Control::new(engines.len()));
    let plan = RunPlan {
        origins: vec![Origin::new(Endpoint::tcp(addr), None)],
        requests: template(addr, !config.keep_alive).into(),
        log: None,
        engines,
        start_at: None,
    };
    volley_driver::run(plan, control).unwrap()
}

fn config(users: usize, rate: Rate, duration_ms: u64) -> Config {
    let mut c = Config::new(users, rate);
    c.duration = Duration::from_millis(duration_ms);
    c.timeout = Duration::from_secs(2);
    c.connect_timeout = Duration::from_secs(2);
    c
}

fn count(s: &Stats, kind: ErrorKind) -> u64 {
    s.errors[kind.index()]
}

fn serve(config: ServeConfig) -> volley_server::RunningServer {
    Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    })
    .unwrap()
}

#[test]
fn fixed_rate_against_the_builtin_server_is_exact() {
    let server = serve(ServeConfig::default());
    let stats = run(
        server.addr(),
        config(10, Rate::per_second(500.0).unwrap(), 1000),
        1,
    );
    assert_eq!(stats.scheduled, 500);
    assert_eq!(stats.completed, 500, "{stats:?}");
    assert_eq!(stats.failed + stats.unsent + stats.unfinished, 0);
    assert!(stats.identity_holds());
    assert_eq!(stats.statuses().collect::<Vec<_>>(), [(200, 500)]);
    assert_eq!(stats.connections, 10);
    assert_eq!(stats.latency.len(), 500);
    assert!(stats.latency.min() >= stats.service.min());
    let served = server.stop().unwrap();
    assert_eq!(served.requests, 500);
    assert_eq!(served.connections, 10);
}

#[test]
fn threads_split_the_schedule_exactly_and_merge() {
    let server = serve(ServeConfig {
        statuses: vec![(200, 3), (500, 1)],
        ..ServeConfig::default()
    });
    let stats = run(
        server.addr(),
        config(8, Rate::per_second(1000.0).unwrap(), 1000),
        2,
    );
    assert_eq!(stats.scheduled, 1000);
    assert_eq!(stats.completed, 1000, "{stats:?}");
    assert!(stats.identity_holds());
    assert_eq!(stats.statuses().map(|(_, n)| n).sum::<u64>(), 1000);
    assert_eq!(stats.connections, 8);
    assert_eq!(server.stop().unwrap().requests, 1000);
}

#[test]
fn max_rate_with_a_request_limit_stops_at_exactly_n() {
    let server = serve(ServeConfig::default());
    let mut c = config(7, Rate::Max, 10_000);
    c.max_requests = Some(1234);
    let stats = run(server.addr(), c, 2);
    assert_eq!(
        (stats.scheduled, stats.sent, stats.completed),
        (1234, 1234, 1234)
    );
    assert_eq!(server.stop().unwrap().requests, 1234);
}

#[test]
fn no_keepalive_opens_a_connection_per_request() {
    let server = serve(ServeConfig::default());
    let mut c = config(4, Rate::per_second(200.0).unwrap(), 500);
    c.keep_alive = false;
    let stats = run(server.addr(), c, 1);
    assert_eq!(stats.completed, 100, "{stats:?}");
    // The users' first connections were opened before t0, then one per request.
    assert!(
        stats.connections >= 100 && stats.connections <= 104,
        "{}",
        stats.connections
    );
    assert_eq!(server.stop().unwrap().requests, 100);
}

#[test]
fn closed_port_counts_connect_refused_and_ends_on_time() {
    // Bind then drop a listener: nothing listens on that port now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let start = std::time::Instant::now();
    let stats = run(addr, config(5, Rate::per_second(100.0).unwrap(), 1000), 1);
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(stats.completed, 0);
    assert!(count(&stats, ErrorKind::ConnectRefused) > 0, "{stats:?}");
    assert_eq!(stats.failed, count(&stats, ErrorKind::ConnectRefused));
    assert!(stats.identity_holds());
    assert_eq!(stats.scheduled, 100);
    // Backoff: 5 users cannot try more than ~5 × (1 + log2(1 s / 10 ms) + 1) times in 1 s.
    assert!(stats.connect_failures < 60, "{}", stats.connect_failures);
}

#[test]
fn server_that_closes_without_answering_costs_closed_early() {
    let server = RawServer::start(|mut s| {
        let _ = read_request(&mut s);
    });
    let stats = run(
        server.addr,
        config(3, Rate::per_second(100.0).unwrap(), 500),
        1,
    );
    assert_eq!(stats.scheduled, 50);
    assert_eq!(stats.completed, 0);
    assert_eq!(
        count(&stats, ErrorKind::ClosedEarly) + count(&stats, ErrorKind::Reset),
        stats.failed
    );
    assert!(stats.failed > 0);
    assert!(stats.identity_holds(), "{stats:?}");
}

#[test]
fn garbage_is_a_malformed_response() {
    let server = RawServer::start(|s| answer_all(s, b"SSH-2.0-OpenSSH_9.2\r\n\r\n"));
    let stats = run(
        server.addr,
        config(2, Rate::per_second(100.0).unwrap(), 300),
        1,
    );
    assert_eq!(stats.completed, 0);
    assert_eq!(count(&stats, ErrorKind::Malformed), stats.failed);
    assert_eq!(
        stats.failed + stats.unsent + stats.unfinished,
        stats.scheduled
    );
    assert!(
        stats.examples.0[ErrorKind::Malformed.index()]
            .as_deref()
            .unwrap()
            .contains("invalid")
    );
}

#[test]
fn connection_close_after_each_response_reconnects() {
    let server = RawServer::start(|mut s| {
        if read_request(&mut s) {
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let stats = run(
        server.addr,
        config(2, Rate::per_second(100.0).unwrap(), 300),
        1,
    );
    assert_eq!(stats.completed, 30, "{stats:?}");
    assert!(stats.connections >= 30);
}

#[test]
fn chunked_and_close_delimited_bodies_complete() {
    let chunked = RawServer::start(|s| {
        answer_all(s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nwiki\r\n0\r\nX-T: 1\r\n\r\n")
    });
    let stats = run(
        chunked.addr,
        config(2, Rate::per_second(100.0).unwrap(), 200),
        1,
    );
    assert_eq!((stats.completed, stats.failed), (20, 0), "{stats:?}");

    let until_close = RawServer::start(|mut s| {
        if read_request(&mut s) {
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nbody until close");
        }
    });
    let stats = run(
        until_close.addr,
        config(2, Rate::per_second(100.0).unwrap(), 200),
        1,
    );
    assert_eq!((stats.completed, stats.failed), (20, 0), "{stats:?}");
}

#[test]
fn a_silent_server_times_out() {
    let server = RawServer::start(|mut s| while read_request(&mut s) {});
    let mut c = config(2, Rate::per_second(20.0).unwrap(), 300);
    c.timeout = Duration::from_millis(200);
    let stats = run(server.addr, c, 1);
    assert_eq!(stats.completed, 0);
    assert_eq!(count(&stats, ErrorKind::Timeout), stats.failed);
    assert!(stats.failed > 0);
    assert!(stats.identity_holds(), "{stats:?}");
}

#[test]
fn stop_ends_the_run_early_with_every_request_counted() {
    let server = serve(ServeConfig {
        delay: Duration::from_millis(5),
        ..ServeConfig::default()
    });
    let c = config(5, Rate::per_second(200.0).unwrap(), 30_000);
    let engines = c.split(1);
    let control = Arc::new(Control::new(engines.len()));
    let stopper = Arc::clone(&control);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        stopper.stop();
    });
    let start = std::time::Instant::now();
    let plan = RunPlan {
        origins: vec![Origin::new(Endpoint::tcp(server.addr()), None)],
        requests: template(server.addr(), false).into(),
        log: None,
        engines,
        start_at: None,
    };
    let stats = volley_driver::run(plan, control).unwrap();
    t.join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(25));
    assert!(
        stats.scheduled > 0 && stats.scheduled < 1000,
        "{}",
        stats.scheduled
    );
    assert!(stats.identity_holds(), "{stats:?}");
    assert_eq!(stats.failed, 0);
}

#[test]
fn two_stops_before_the_loop_looks_end_the_run_at_once() {
    // A silent server and a 30 s timeout: a single stop would await the
    // requests in flight for the whole drain (5 s). Two stops in a row,
    // which the loop finds together, end the run at once.
    let server = RawServer::start(|mut s| while read_request(&mut s) {});
    let mut c = config(2, Rate::per_second(50.0).unwrap(), 30_000);
    c.timeout = Duration::from_secs(30);
    let engines = c.split(1);
    let control = Arc::new(Control::new(engines.len()));
    let stopper = Arc::clone(&control);
    let t = std::thread::spawn(move || {
        let waited = std::time::Instant::now();
        while stopper.snapshot().in_flight < 2 && waited.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        stopper.stop();
        stopper.stop();
        std::time::Instant::now()
    });
    let plan = RunPlan {
        origins: vec![Origin::new(Endpoint::tcp(server.addr), None)],
        requests: template(server.addr, false).into(),
        log: None,
        engines,
        start_at: None,
    };
    let stats = volley_driver::run(plan, control).unwrap();
    let stopped = t.join().unwrap();
    let took = stopped.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "ended {took:?} after the stops"
    );
    assert_eq!((stats.completed, stats.unfinished), (0, 2), "{stats:?}");
    assert!(stats.identity_holds(), "{stats:?}");
}
