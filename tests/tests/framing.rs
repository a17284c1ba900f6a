//! Response framing through the whole engine (SPEC §8), and connection reuse.
//!
//! Every case of the table runs three ways (STYLE item 17): the response
//! arrives whole, one byte at a time, and in two pieces split at every
//! offset. Each way must give the same status counts, byte counts,
//! connection count and run time.

use std::time::Duration;

use volley_core::{Config, Rate, Stats};
use volley_tests::assert_all_equivalent;
use volley_tests::fake_server::{Pieces, Reply, Script};
use volley_tests::sim::{get, request, run, run_with};
use volley_tests::split_three_ways;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` requests from one closed-loop user.
fn one_user(n: u64) -> Config {
    let mut c = Config::new(1, Rate::Max);
    c.duration = Duration::from_secs(60);
    c.max_requests = Some(n);
    c
}

/// How many connections a case needs for its requests.
#[derive(Clone, Copy, Debug)]
enum Conns {
    /// One keep-alive connection carries every request.
    Reused,
    /// A new connection for every request.
    PerRequest,
}

fn no_errors(s: &Stats) -> bool {
    s.failed == 0 && s.errors.iter().all(|&n| n == 0) && s.examples.0.iter().all(Option::is_none)
}

/// Runs `N` requests of `method` against a server that answers each with
/// `response` (and closes after it if `server_closes`), three ways.
fn check(method: &str, response: &[u8], server_closes: bool, status: u16, conns: Conns) {
    const N: u64 = 3;
    let len = response.len() as u64;
    let ways = split_three_ways(response.len());
    assert_eq!(ways.len(), response.len() + 1);
    for pieces in ways {
        let bytes = response.to_vec();
        let script = Script::ok(ms(1))
            .responder(move |_| {
                let bytes = bytes.clone();
                Some(if server_closes {
                    Reply::send_then_close(bytes)
                } else {
                    Reply::send(bytes)
                })
            })
            .pieces(pieces.clone());
        let sim = run_with(one_user(N), request(method), script);
        let s = sim.stats();
        let ctx = format!("{pieces:?} of {:?}", String::from_utf8_lossy(response));
        assert!(s.identity_holds(), "{ctx}");
        assert!(
            no_errors(s),
            "{ctx}: errors {:?} {:?}",
            s.errors,
            s.examples
        );
        assert_eq!((s.scheduled, s.completed, s.unfinished), (N, N, 0), "{ctx}");
        assert_eq!(s.statuses().collect::<Vec<_>>(), vec![(status, N)], "{ctx}");
        assert_eq!(s.bytes_in, N * len, "{ctx}");
        assert_eq!(sim.server.stats.bytes_delivered, N * len, "{ctx}");
        let want = match conns {
            Conns::Reused => 1,
            Conns::PerRequest => N,
        };
        assert_eq!(s.connections, want, "{ctx}: connections");
        assert_eq!(
            sim.server.stats.connect_attempts, want,
            "{ctx}: connect attempts"
        );
        // Every response took exactly the 1 ms latency, reconnects are
        // instant here, and pieces of a reply arrive together.
        assert_eq!(sim.elapsed(), ms(N), "{ctx}: run time");
        assert_all_equivalent!(s.latency, 1000);
    }
}

/// One `#[test]` per row: name, method, response, whether the server
/// closes after it, the status expected, and the connections needed.
macro_rules! framing_cases {
    ($($name:ident: $method:literal $response:literal, closes: $closes:literal => $status:literal, $conns:ident;)*) => {
        $(
            #[test]
            fn $name() {
                check($method, $response, $closes, $status, Conns::$conns);
            }
        )*
    };
}

framing_cases! {
    content_length: "GET" b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        closes: false => 200, Reused;
    content_length_zero: "GET" b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        closes: false => 200, Reused;
    content_length_repeated_same: "GET" b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc",
        closes: false => 200, Reused;
    error_status_keeps_alive: "GET" b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
        closes: false => 503, Reused;
    chunked_with_extensions_and_trailers: "GET"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA;a;b=\"c d\"\r\n0123456789\r\n0;last\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n"
        , closes: false => 200, Reused;
    chunked_uppercase_hex_and_bare_lf: "GET" b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nB\n0123456789a\n0\n\n",
        closes: false => 200, Reused;
    chunked_wins_over_content_length: "GET"
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        closes: false => 200, Reused;
    head_ignores_content_length: "HEAD" b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
        closes: false => 200, Reused;
    head_ignores_chunked: "HEAD" b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        closes: false => 200, Reused;
    no_content_204: "GET" b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
        closes: false => 204, Reused;
    not_modified_304: "GET" b"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n",
        closes: false => 304, Reused;
    interim_1xx_then_final: "GET"
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew",
        closes: false => 201, Reused;
    http10_closes: "GET" b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        closes: true => 200, PerRequest;
    http10_closes_even_if_server_does_not: "GET" b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        closes: false => 200, PerRequest;
    http10_keep_alive: "GET" b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
        closes: false => 200, Reused;
    until_close: "GET" b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body runs until the server closes",
        closes: true => 200, PerRequest;
    until_close_http10: "GET" b"HTTP/1.0 200 OK\r\n\r\nold style",
        closes: true => 200, PerRequest;
    until_close_when_chunked_is_not_last: "GET" b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzzzz",
        closes: true => 200, PerRequest;
    until_close_empty_body: "GET" b"HTTP/1.1 200 OK\r\n\r\n",
        closes: true => 200, PerRequest;
    connection_close: "GET" b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        closes: true => 200, PerRequest;
    connection_close_server_lingers: "GET" b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 2\r\n\r\nok",
        closes: false => 200, PerRequest;
}

#[test]
fn keep_alive_reuses_one_connection() {
    let sim = run(one_user(100), Script::ok(ms(1)));
    let s = sim.stats();
    assert!(s.identity_holds() && no_errors(s));
    assert_eq!((s.completed, s.connections), (100, 1));
    assert_eq!(sim.server.stats.connect_attempts, 1);
    assert_eq!(s.bytes_in, 100 * volley_tests::fake_server::OK.len() as u64);
    assert_eq!(s.bytes_out, 100 * get().bytes().len() as u64);
    assert_eq!(sim.server.stats.bytes_received, s.bytes_out);
}

#[test]
fn connection_close_reconnects_per_request() {
    let script = Script::new(
        &b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"[..],
        ms(1),
    );
    let sim = run(one_user(100), script.close_after(1, false));
    let s = sim.stats();
    assert!(s.identity_holds() && no_errors(s));
    assert_eq!((s.completed, s.connections), (100, 100));
    assert_eq!(sim.server.stats.connect_attempts, 100);
}

#[test]
fn no_keep_alive_config_reconnects_per_request() {
    let mut c = one_user(100);
    c.keep_alive = false;
    let sim = run(c, Script::ok(ms(1)));
    let s = sim.stats();
    assert!(s.identity_holds() && no_errors(s));
    assert_eq!((s.completed, s.connections), (100, 100));
    // The engine closed every connection itself; the server never did.
    assert_eq!(sim.server.stats.eofs, 0);
    assert_eq!(sim.outputs.closes, 100);
}

#[test]
fn connection_close_request_header_is_sent() {
    let spec = volley_core::RequestSpec {
        method: "GET".into(),
        target: "/".into(),
        host: "sim.test".into(),
        close: true,
        ..Default::default()
    };
    let template = volley_core::RequestTemplate::new(&spec).expect("valid");
    let mut c = one_user(5);
    c.keep_alive = false;
    let sim = run_with(c, template, Script::ok(ms(1)).close_after(1, true));
    assert!(
        String::from_utf8_lossy(&sim.server.last_request).contains("\r\nConnection: close\r\n")
    );
    assert_eq!((sim.stats().completed, sim.stats().connections), (5, 5));
}

#[test]
fn announced_close_after_n_responses() {
    let sim = run(one_user(100), Script::ok(ms(1)).close_after(10, true));
    let s = sim.stats();
    assert!(s.identity_holds() && no_errors(s));
    assert_eq!((s.completed, s.connections), (100, 10));
}

#[test]
fn unannounced_close_between_paced_requests_is_harmless() {
    // The server closes after every 10th response without saying so; at
    // 100/s the EOF arrives before the next request is due, so the user
    // just reconnects for it.
    let mut c = Config::new(1, Rate::per_second(100.0).expect("rate"));
    c.duration = Duration::from_secs(1);
    let sim = run(c, Script::ok(ms(1)).close_after(10, false));
    let s = sim.stats();
    assert!(s.identity_holds() && no_errors(s));
    assert_eq!((s.completed, s.connections), (100, 10));
    assert_eq!(sim.server.stats.eofs, 10);
}

#[test]
fn unannounced_close_races_a_closed_loop_user() {
    // At max rate the user writes its next request before it reads the
    // server's unannounced EOF (the keep-alive race every HTTP/1.1 client
    // has). The server never saw that request, so it goes again on a new
    // connection (SPEC §2): each connection serves 10, and the first
    // request of each after the first one is a retry.
    let sim = run(one_user(100), Script::ok(ms(1)).close_after(10, false));
    let s = sim.stats();
    assert!(s.identity_holds() && no_errors(s));
    assert_eq!((s.completed, s.failed, s.retries), (100, 0, 9));
    assert_eq!(s.connections, 10);
    assert_eq!(sim.server.stats.requests, 100);
    // Nine requests were written twice; `sent` counts each request once.
    assert_eq!((s.sent, sim.outputs.sends), (100, 109));
}

#[test]
fn ttfb_and_service_time_with_a_slow_body() {
    // The response trickles in one byte per millisecond after 5 ms.
    let len = volley_tests::fake_server::OK.len() as u64;
    let script = Script::ok(ms(5)).pieces(Pieces::Bytewise).piece_gap(ms(1));
    let sim = run(one_user(4), script);
    let s = sim.stats();
    assert!(s.identity_holds() && no_errors(s));
    assert_eq!(s.completed, 4);
    assert_all_equivalent!(s.ttfb, 5_000);
    assert_all_equivalent!(s.service, 1000 * (5 + len - 1));
    assert_eq!(sim.elapsed(), ms(4 * (5 + len - 1)));
}
