//! The engine over HTTP/2 in virtual time (SPEC §11): users are streams
//! over a few connections, against a scripted HTTP/2 server
//! ([`FakeH2`](volley_tests::fake_h2::FakeH2)) that reads the engine's
//! frames with core's codecs.
//!
//! Most tests send `GET /{{seq}}`, so that the server knows each request's
//! index in the schedule and can script it (and count its attempts)
//! whichever connection and stream it comes on. Unless a test says
//! otherwise, one user sends 10 requests a second for a second over one
//! connection, and the server answers in 1 ms: request 3 is due at 300 ms.

use std::collections::HashMap;
use std::time::Duration;

use volley_core::h2::ErrorCode;
use volley_core::{
    Config, ConnId, ErrorKind, Expect, Http2, Mix, Needle, Order, Outcome, Rate, RequestRecord,
    RequestSpec, RequestTemplate, Requests, Stats, StatusSet, Target,
};
use volley_tests::fake_h2::{Act, H2Request, H2Script};
use volley_tests::fake_server::Connect;
use volley_tests::h2_sim::H2Sim;
use volley_tests::{assert_accounted, assert_all_equivalent};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn errors(s: &Stats, kind: ErrorKind) -> u64 {
    s.errors[kind.index()]
}

fn example(s: &Stats, kind: ErrorKind) -> &str {
    s.examples.0[kind.index()].as_deref().unwrap_or("")
}

/// `METHOD /{{seq}}` on `sim.test`, with `body`.
fn numbered(method: &str, body: &[u8]) -> RequestTemplate {
    on_host("sim.test", method, "/{{seq}}", body)
}

/// `METHOD path` on `host`, with `body`.
fn on_host(host: &str, method: &str, path: &str, body: &[u8]) -> RequestTemplate {
    let spec = RequestSpec {
        method: method.into(),
        target: path.into(),
        host: host.into(),
        body: body.to_vec(),
        ..RequestSpec::default()
    };
    RequestTemplate::with_data(&spec, None).expect("valid request")
}

fn get() -> RequestTemplate {
    numbered("GET", b"")
}

/// The schedule index the request's path carries.
fn seq(r: &H2Request) -> u64 {
    r.path
        .trim_start_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("path {:?} is not /{{seq}}", r.path))
}

/// `users` users at `rps` for `duration` over `connections` HTTP/2
/// connections, every request logged.
fn h2(users: usize, rps: f64, duration: Duration, connections: usize) -> Config {
    let mut c = Config::new(users, Rate::per_second(rps).expect("rate"));
    c.duration = duration;
    c.record_requests = true;
    c.http2 = Some(Http2::new(connections, vec![false]));
    c
}

/// One user, 10 requests a second for a second, one connection.
fn ten() -> Config {
    h2(1, 10.0, Duration::from_secs(1), 1)
}

/// A responder scripted by schedule index and attempt (0 for the first
/// time the request reaches the server).
fn by_seq(
    mut f: impl FnMut(u64, u32) -> Vec<(Duration, Act)> + 'static,
) -> impl FnMut(&H2Request) -> Vec<(Duration, Act)> + 'static {
    let mut attempts: HashMap<u64, u32> = HashMap::new();
    move |r| {
        let k = seq(r);
        let n = attempts.entry(k).or_default();
        let acts = f(k, *n);
        *n += 1;
        acts
    }
}

/// `200 ok` after 1 ms for every request, except `acts` for request `k`.
fn all_ok_but(k: u64, mut acts: impl FnMut(u32) -> Vec<(Duration, Act)> + 'static) -> H2Script {
    H2Script::ok(ms(1)).responder(by_seq(move |j, attempt| {
        if j == k {
            acts(attempt)
        } else {
            vec![Act::ok().after(ms(1))]
        }
    }))
}

fn run(config: Config, template: RequestTemplate, script: H2Script) -> H2Sim {
    let mut sim = H2Sim::new(config, template, script);
    sim.tracing();
    sim.run_to_end();
    assert_accounted(sim.stats());
    sim
}

/// The log row of request `k`.
fn row(sim: &H2Sim, k: u64) -> RequestRecord {
    let rows: Vec<_> = sim.records.iter().filter(|r| r.index == k).collect();
    assert_eq!(rows.len(), 1, "request {k} has one row");
    *rows[0]
}

/// Every request of `0..n` has exactly one log row.
fn assert_one_row_each(records: &[RequestRecord], n: u64) {
    let mut seen = vec![0u32; n as usize];
    for r in records {
        assert!(r.index < n, "row for request {} of {n}", r.index);
        seen[r.index as usize] += 1;
    }
    let wrong: Vec<_> = (0..n).filter(|&k| seen[k as usize] != 1).collect();
    assert!(
        wrong.is_empty(),
        "requests without exactly one row: {wrong:?}"
    );
}

/// Asserts `(scheduled, sent, completed, failed, retries)`.
macro_rules! assert_counts {
    ($s:expr, $want:expr) => {{
        let s: &Stats = $s;
        assert_eq!(
            (s.scheduled, s.sent, s.completed, s.failed, s.retries),
            $want,
            "(scheduled, sent, completed, failed, retries); errors {:?}",
            s.errors
        );
    }};
}

#[test]
fn a_stream_limit_queues_users_in_waves_and_is_never_passed() {
    // 100 users as fast as they can over one connection, the server
    // allowing 10 streams: every request completes, 10 at a time.
    let mut c = h2(100, 1.0, Duration::from_secs(10), 1);
    c.rate = Rate::Max;
    c.max_requests = Some(1_000);
    let sim = run(c, get(), H2Script::ok(ms(1)).max_streams(10));
    let s = sim.stats();
    assert_counts!(s, (1_000, 1_000, 1_000, 0, 0));
    assert_eq!((s.connections, s.streams, s.goaways), (1, 1_000, 0));
    assert_eq!(sim.server.stats.max_open, 10);
    assert_eq!(sim.server.stats.over_limit, 0);
    assert_eq!(sim.server.stats.requests, 1_000);
    // 100 waves of 10, each 1 ms.
    assert_eq!(sim.elapsed(), ms(100));
    assert_one_row_each(&sim.records, 1_000);

    // 20 due at once: the first 10 are sent at once and answered at 1 ms;
    // the other 10 wait for a stream, are sent at 1 ms and answered at
    // 2 ms, and that wait counts in their latency.
    let mut c = h2(100, 1.0, Duration::from_secs(10), 1);
    c.rate = Rate::Max;
    c.max_requests = Some(20);
    let sim = run(c, get(), H2Script::ok(ms(1)).max_streams(10));
    let s = sim.stats();
    assert_counts!(s, (20, 20, 20, 0, 0));
    assert_eq!(sim.server.stats.max_open, 10);
    assert_one_row_each(&sim.records, 20);
    for k in 0..20 {
        let r = row(&sim, k);
        let (sent, done) = if k < 10 {
            (ms(0), ms(1))
        } else {
            (ms(1), ms(2))
        };
        assert_eq!(
            (r.intended, r.sent, r.done, r.outcome),
            (ms(0), Some(sent), done, Outcome::Completed(200)),
            "request {k}"
        );
    }
    assert_eq!(s.latency.count_between(1_000, 1_000), 10);
    assert_eq!(s.latency.count_between(2_000, 2_000), 10);
    // Service time is from the stream's write: 1 ms for every one.
    assert_eq!((s.service.min(), s.service.max()), (1_000, 1_000));

    // Paced: 20 due 50 µs apart, 10 streams at a time; request 10, due at
    // 500 µs, waits for stream 1's answer at 1 ms.
    let mut c = h2(100, 20_000.0, ms(1), 1);
    c.max_requests = Some(20);
    let sim = run(c, get(), H2Script::ok(ms(1)).max_streams(10));
    let s = sim.stats();
    assert_counts!(s, (20, 20, 20, 0, 0));
    assert_eq!(sim.server.stats.max_open, 10);
    let r = row(&sim, 10);
    assert_eq!((r.intended, r.sent, r.done), (us(500), Some(ms(1)), ms(2)));
    assert!(r.done - r.intended >= us(1_500));
}

#[test]
fn a_stream_refused_once_goes_again_keeping_its_due_time() {
    let sim = run(
        ten(),
        get(),
        all_ok_but(3, |attempt| match attempt {
            0 => vec![Act::Reset(ErrorCode::RefusedStream).after(ms(1))],
            _ => vec![Act::ok().after(ms(1))],
        }),
    );
    let s = sim.stats();
    // Sent once as far as the report goes; written twice.
    assert_counts!(s, (10, 10, 10, 0, 1));
    assert_eq!((s.streams, s.connections, s.goaways), (11, 1, 0));
    assert_eq!(sim.server.stats.requests, 11);
    assert!(s.examples.0.iter().all(Option::is_none));
    // Due at 300 ms, refused at 301, sent again at once on the same
    // connection and answered at 302: latency from the due time, service
    // time from the second write.
    let r = row(&sim, 3);
    assert_eq!(
        (r.intended, r.sent, r.done, r.outcome),
        (ms(300), Some(ms(301)), ms(302), Outcome::Completed(200))
    );
    assert_eq!(s.latency.count_between(2_000, 2_000), 1);
    assert_eq!(s.latency.count_between(1_000, 1_000), 9);
    assert_eq!((s.service.min(), s.service.max()), (1_000, 1_000));
    assert_one_row_each(&sim.records, 10);
}

#[test]
fn a_stream_refused_three_times_fails_as_refused_stream() {
    let sim = run(
        ten(),
        get(),
        all_ok_but(3, |_| {
            vec![Act::Reset(ErrorCode::RefusedStream).after(ms(1))]
        }),
    );
    let s = sim.stats();
    assert_counts!(s, (10, 10, 9, 1, 2));
    assert_eq!(errors(s, ErrorKind::RefusedStream), 1);
    assert!(
        example(s, ErrorKind::RefusedStream).contains("REFUSED_STREAM"),
        "{}",
        example(s, ErrorKind::RefusedStream)
    );
    assert_eq!(s.streams, 12);
    assert_eq!(sim.server.stats.requests, 12);
    let r = row(&sim, 3);
    assert_eq!(
        (r.intended, r.done, r.outcome),
        (ms(300), ms(303), Outcome::Failed(ErrorKind::RefusedStream))
    );
    assert_one_row_each(&sim.records, 10);
}

#[test]
fn a_reset_after_the_response_head_is_a_stream_reset() {
    // REFUSED_STREAM after a head is not "unprocessed": the server had
    // begun answering.
    for code in [
        ErrorCode::InternalError,
        ErrorCode::Cancel,
        ErrorCode::RefusedStream,
    ] {
        for body in [&b""[..], b"o"] {
            let ctx = format!("{code}, {body:?}");
            let sim = run(
                ten(),
                get(),
                all_ok_but(3, move |_| {
                    let mut acts = vec![Act::Head(200).after(ms(1))];
                    if !body.is_empty() {
                        acts.push(Act::Data(body.to_vec(), false).after(ms(1)));
                    }
                    acts.push(Act::Reset(code).after(ms(2)));
                    acts
                }),
            );
            let s = sim.stats();
            assert_counts!(s, (10, 10, 9, 1, 0));
            assert_eq!(errors(s, ErrorKind::StreamReset), 1, "{ctx}");
            assert_eq!(
                example(s, ErrorKind::StreamReset),
                format!("stream reset by the server: {}", code.name()),
                "{ctx}"
            );
            let r = row(&sim, 3);
            assert_eq!(
                (r.done, r.bytes_in, r.outcome),
                (
                    ms(302),
                    body.len() as u64,
                    Outcome::Failed(ErrorKind::StreamReset)
                ),
                "{ctx}"
            );
            // The connection goes on.
            assert_eq!(s.connections, 1, "{ctx}");
        }
    }
}

#[test]
fn streams_above_a_goaways_last_stream_go_again_on_a_new_connection() {
    // Ten users, one request a millisecond for 10 ms, answered in 20 ms:
    // streams 1, 3, ..., 19 are open at 9 ms. At 10 ms the server sends
    // GOAWAY naming stream 9 (requests 0 to 4), answers those, and closes
    // after the last.
    let c = h2(10, 1_000.0, ms(10), 1);
    let script = H2Script::ok(ms(20)).responder(by_seq(|k, attempt| {
        let mut acts = vec![Act::ok().after(ms(20))];
        if (k, attempt) == (9, 0) {
            acts.push(Act::GoAway(9, ErrorCode::NoError).after(ms(1)));
            acts.push(Act::Eof.after(ms(15)));
        }
        acts
    }));
    let sim = run(c, get(), script);
    let s = sim.stats();
    assert_counts!(s, (10, 10, 10, 0, 5));
    assert_eq!((s.goaways, s.connections, s.streams), (1, 2, 15));
    assert_eq!(sim.server.stats.goaways, 1);
    assert_eq!(sim.server.stats.requests, 15);
    // The five went on the second connection (slot 1) at 10 ms, in the
    // order they were due, and were answered at 30 ms.
    let again: Vec<(u64, ConnId)> = sim.server.requests[10..]
        .iter()
        .map(|r| (seq(r), r.conn))
        .collect();
    assert_eq!(again, (5..10).map(|k| (k, ConnId(1))).collect::<Vec<_>>());
    for k in 0..10 {
        let r = row(&sim, k);
        let (sent, done) = if k < 5 {
            (ms(k), ms(k + 20))
        } else {
            (ms(10), ms(30))
        };
        assert_eq!(
            (r.intended, r.sent, r.done, r.outcome),
            (ms(k), Some(sent), done, Outcome::Completed(200)),
            "request {k}"
        );
    }
    // The draining connection closed once its last stream ended, before
    // the server's EOF.
    assert_eq!(sim.server.stats.eofs, 0);
}

#[test]
fn a_goaway_then_eof_with_streams_open_sends_them_all_again() {
    // As above, but the server closes right after its GOAWAY: streams 1
    // to 9 are lost unanswered (idempotent GETs: sent again, SPEC §2) and
    // 11 to 19 were not processed.
    let c = h2(10, 1_000.0, ms(10), 1);
    let script = H2Script::ok(ms(20)).responder(by_seq(|k, attempt| {
        let mut acts = vec![Act::ok().after(ms(20))];
        if (k, attempt) == (9, 0) {
            acts.push(Act::GoAway(9, ErrorCode::NoError).after(ms(1)));
            acts.push(Act::Eof.after(ms(1)));
        }
        acts
    }));
    let sim = run(c, get(), script);
    let s = sim.stats();
    assert_counts!(s, (10, 10, 10, 0, 10));
    assert_eq!((s.goaways, s.connections, s.streams), (1, 2, 20));
    assert_eq!(sim.server.stats.eofs, 1);
    for k in 0..10 {
        let r = row(&sim, k);
        assert_eq!(
            (r.sent, r.done, r.outcome),
            (Some(ms(10)), ms(30), Outcome::Completed(200)),
            "request {k}"
        );
    }
}

#[test]
fn nginx_keepalive_requests_goaway_costs_no_request() {
    // nginx's keepalive_requests 100: GOAWAY naming the 100th stream of a
    // connection, then EOF once its streams are answered. 1,050 requests,
    // one a millisecond, answered in 5 ms, over one connection at a time.
    for (delay, retries) in [(ms(0), 0), (ms(2), 20)] {
        let ctx = format!("GOAWAY {delay:?} after the 100th request");
        let c = h2(10, 1_000.0, ms(1_050), 1);
        let script = H2Script::ok(ms(5)).goaway_after(100, delay);
        let sim = run(c, get(), script);
        let s = sim.stats();
        assert_eq!(
            (s.scheduled, s.sent, s.completed, s.failed, s.retries),
            (1_050, 1_050, 1_050, 0, retries),
            "{ctx}: {:?}",
            s.errors
        );
        // Ten connections served 100 each and were replaced; the eleventh
        // served the last 50.
        assert_eq!((s.goaways, s.connections), (10, 11), "{ctx}");
        assert_eq!(sim.server.stats.goaways, 10, "{ctx}");
        assert_eq!(sim.server.stats.requests, 1_050 + retries, "{ctx}");
        assert_one_row_each(&sim.records, 1_050);
    }
}

#[test]
fn after_a_goaway_the_origin_keeps_its_connections() {
    // Two connections, 20 users, a request a millisecond answered in
    // 5 ms; the server sends GOAWAY once, on the 101st request's
    // connection, naming its stream. Its replacement opens with the next
    // request, though the other connection has room to take every
    // stream, and the two share the rest of the run.
    let c = h2(20, 1_000.0, Duration::from_secs(1), 2);
    let script = H2Script::ok(ms(5)).responder(|r| {
        let mut acts = vec![Act::ok().after(ms(5))];
        if r.index == 100 {
            acts.push(Act::GoAway(r.stream, ErrorCode::NoError).after(ms(0)));
        }
        acts
    });
    let sim = run(c, get(), script);
    let s = sim.stats();
    assert_counts!(s, (1_000, 1_000, 1_000, 0, 0));
    assert_eq!((s.goaways, s.connections), (1, 3));
    let t0 = sim.t0().expect("started");
    let mut per_slot: HashMap<ConnId, u64> = HashMap::new();
    for (r, &at) in sim.server.requests.iter().zip(&sim.server.arrivals) {
        if at - t0 >= ms(200) {
            *per_slot.entry(r.conn).or_default() += 1;
        }
    }
    assert_eq!(per_slot.len(), 2, "{per_slot:?}");
    assert!(
        per_slot.values().all(|&n| (390..=410).contains(&n)),
        "{per_slot:?}"
    );
}

#[test]
fn a_graceful_shutdown_in_two_goaways_costs_no_request() {
    // RFC 9113 §6.8's graceful shutdown: GOAWAY with the highest stream
    // id (stop opening streams), then, once streams in flight have
    // arrived, GOAWAY with the real last stream. Ten users, a request a
    // millisecond answered in 20 ms: at 5 ms (request 5 arriving) the
    // server announces the shutdown; request 6 opens on a new connection.
    // At 15 ms it names stream 9 (request 4): request 5, stream 11, goes
    // again. Both GOAWAYs count.
    let c = h2(10, 1_000.0, ms(10), 1);
    let script = H2Script::ok(ms(20)).responder(by_seq(|k, attempt| {
        let mut acts = vec![Act::ok().after(ms(20))];
        if (k, attempt) == (5, 0) {
            acts.push(Act::GoAway((1 << 31) - 1, ErrorCode::NoError).after(ms(0)));
            acts.push(Act::GoAway(9, ErrorCode::NoError).after(ms(10)));
        }
        acts
    }));
    let sim = run(c, get(), script);
    let s = sim.stats();
    assert_counts!(s, (10, 10, 10, 0, 1));
    assert_eq!((s.goaways, s.connections), (2, 2));
    let r = row(&sim, 5);
    assert_eq!(
        (r.sent, r.done, r.outcome),
        (Some(ms(15)), ms(35), Outcome::Completed(200))
    );
    for k in 6..10 {
        assert_eq!(row(&sim, k).done, ms(k + 20), "request {k}");
    }
}

#[test]
fn a_protocol_error_ends_the_connection_and_its_streams() {
    // A DATA frame on stream 0 (RFC 9113 §6.1: PROTOCOL_ERROR): volley
    // sends GOAWAY and closes. Request 3's stream had no answer: a GET,
    // it goes again on a new connection. After a head, it fails as
    // malformed.
    let mut bad = Vec::new();
    volley_core::h2::frame::write_data(0, b"x", false, &mut bad);
    for answered in [false, true] {
        let ctx = format!("answered: {answered}");
        let bad = bad.clone();
        let sim = run(
            ten(),
            get(),
            all_ok_but(3, move |attempt| match (attempt, answered) {
                (0, false) => vec![Act::Raw(bad.clone()).after(ms(1))],
                (0, true) => vec![
                    Act::Head(200).after(ms(1)),
                    Act::Raw(bad.clone()).after(ms(2)),
                ],
                _ => vec![Act::ok().after(ms(1))],
            }),
        );
        let s = sim.stats();
        if answered {
            assert_counts!(s, (10, 10, 9, 1, 0));
            assert_eq!(errors(s, ErrorKind::Malformed), 1, "{ctx}");
        } else {
            assert_counts!(s, (10, 10, 10, 0, 1));
        }
        assert!(
            !example(s, ErrorKind::Malformed).is_empty(),
            "{ctx}: the protocol error is in the examples"
        );
        assert_eq!(sim.server.stats.client_goaways, 1, "{ctx}");
        assert_eq!(s.connections, 2, "{ctx}");
    }
}

#[test]
fn a_timed_out_stream_is_cancelled_and_the_connection_stays() {
    let mut c = ten();
    c.timeout = ms(50);
    let sim = run(c, get(), all_ok_but(3, |_| Vec::new()));
    let s = sim.stats();
    assert_counts!(s, (10, 10, 9, 1, 0));
    assert_eq!(errors(s, ErrorKind::Timeout), 1);
    let r = row(&sim, 3);
    assert_eq!(
        (r.sent, r.done, r.outcome),
        (Some(ms(300)), ms(350), Outcome::Failed(ErrorKind::Timeout))
    );
    // Request 3 was stream 7; the server saw it cancelled.
    assert_eq!(
        sim.server.stats.client_resets,
        [(ConnId(0), 7, ErrorCode::Cancel)]
    );
    assert_eq!((s.connections, sim.outputs.connects), (1, 1));
    assert_eq!(sim.server.stats.requests, 10);
}

#[test]
fn a_refused_connect_fails_the_waiting_requests_and_the_run_recovers() {
    // Connects are refused at once. Attempt 0 (before the start) leaves
    // the slot backing off 10 ms; request 0 waits and fails with attempt
    // 1 at 10 ms; requests 1 and 2 fail with attempts 2 and 3; attempt 4,
    // for request 3 at 300 ms, is accepted.
    let script = H2Script::ok(ms(1)).connector(|attempt| {
        if attempt < 4 {
            Connect::Refuse
        } else {
            Connect::Accept
        }
    });
    let sim = run(ten(), get(), script);
    let s = sim.stats();
    assert_counts!(s, (10, 7, 7, 3, 0));
    assert_eq!(errors(s, ErrorKind::ConnectRefused), 3);
    assert_eq!((s.connect_failures, s.connections, s.unfinished), (4, 1, 0));
    let done: Vec<_> = (0..3).map(|k| row(&sim, k).done).collect();
    assert_eq!(done, [ms(10), ms(100), ms(200)]);
    let r = row(&sim, 3);
    assert_eq!(
        (r.sent, r.done, r.outcome),
        (Some(ms(300)), ms(301), Outcome::Completed(200))
    );

    // Refused for good, with ten users so that every request is taken by
    // one: every request fails, none is left unfinished. Backoffs of 10,
    // 20, 40, 80, 160, 320 and 640 ms: attempts at 0, 10, 100, 200, 300,
    // 460, 780 and 1,420 ms, the last failing requests 8 and 9 after the
    // end.
    let script = H2Script::ok(ms(1)).connector(|_| Connect::Refuse);
    let sim = run(h2(10, 10.0, Duration::from_secs(1), 1), get(), script);
    let s = sim.stats();
    assert_counts!(s, (10, 0, 0, 10, 0));
    assert_eq!(errors(s, ErrorKind::ConnectRefused), 10);
    assert_eq!((s.connect_failures, s.unfinished), (8, 0));
    let done: Vec<_> = (0..10).map(|k| row(&sim, k).done.as_millis()).collect();
    assert_eq!(done, [10, 100, 200, 300, 460, 780, 780, 780, 1_420, 1_420]);
    assert_eq!(sim.elapsed(), ms(1_420));

    // Connects that hang: the first times out before the start; the
    // second, at 10 ms, fails requests 0 and 1 (waiting for it) as
    // connect timeouts at 110 ms; the third, for request 2, is accepted.
    let script = H2Script::ok(ms(1)).connector(|attempt| {
        if attempt < 2 {
            Connect::Hang
        } else {
            Connect::Accept
        }
    });
    let mut c = h2(10, 10.0, Duration::from_secs(1), 1);
    c.connect_timeout = ms(100);
    let sim = run(c, get(), script);
    let s = sim.stats();
    assert_counts!(s, (10, 8, 8, 2, 0));
    assert_eq!(errors(s, ErrorKind::ConnectTimeout), 2);
    assert_eq!((s.connect_failures, s.connections), (2, 1));
    assert_eq!((row(&sim, 0).done, row(&sim, 1).done), (ms(110), ms(110)));
    assert_eq!(
        (row(&sim, 2).sent, row(&sim, 2).outcome),
        (Some(ms(200)), Outcome::Completed(200))
    );
}

#[test]
fn eof_with_a_stream_open() {
    // With no stream open, an EOF costs nothing: the next request opens
    // a new connection.
    let sim = run(
        ten(),
        get(),
        all_ok_but(3, |_| vec![Act::ok().after(ms(1)), Act::Eof.after(ms(50))]),
    );
    let s = sim.stats();
    assert_counts!(s, (10, 10, 10, 0, 0));
    assert_eq!((s.connections, sim.server.stats.eofs), (2, 1));
    assert!(s.examples.0.iter().all(Option::is_none));

    // After part of its response: the server saw it; closed early.
    let sim = run(
        ten(),
        get(),
        all_ok_but(3, |_| {
            vec![
                Act::Head(200).after(ms(1)),
                Act::Data(b"o".to_vec(), false).after(ms(1)),
                Act::Eof.after(ms(2)),
            ]
        }),
    );
    let s = sim.stats();
    assert_counts!(s, (10, 10, 9, 1, 0));
    assert_eq!(errors(s, ErrorKind::ClosedEarly), 1);
    assert_eq!(s.connections, 2);
    let r = row(&sim, 3);
    assert_eq!(
        (r.done, r.bytes_in, r.outcome),
        (ms(302), 1, Outcome::Failed(ErrorKind::ClosedEarly))
    );

    // Before any of it, for a GET: sent again on a new connection.
    let sim = run(
        ten(),
        get(),
        all_ok_but(3, |attempt| match attempt {
            0 => vec![Act::Eof.after(ms(1))],
            _ => vec![Act::ok().after(ms(1))],
        }),
    );
    let s = sim.stats();
    assert_counts!(s, (10, 10, 10, 0, 1));
    assert_eq!(s.connections, 2);
    let r = row(&sim, 3);
    assert_eq!(
        (r.intended, r.sent, r.done, r.outcome),
        (ms(300), Some(ms(301)), ms(302), Outcome::Completed(200))
    );

    // Every time: it goes three times in all, then fails.
    let sim = run(ten(), get(), all_ok_but(3, |_| vec![Act::Eof.after(ms(1))]));
    let s = sim.stats();
    assert_counts!(s, (10, 10, 9, 1, 2));
    assert_eq!(errors(s, ErrorKind::ClosedEarly), 1);
    assert_eq!(s.connections, 4);
    assert_eq!(row(&sim, 3).done, ms(303));
}

#[test]
fn a_post_lost_unanswered_fails_but_a_refused_one_goes_again() {
    let post = || numbered("POST", b"hello");
    // EOF before any answer: the server may have processed it.
    let sim = run(
        ten(),
        post(),
        all_ok_but(3, |_| vec![Act::Eof.after(ms(1))]),
    );
    let s = sim.stats();
    assert_counts!(s, (10, 10, 9, 1, 0));
    assert_eq!(errors(s, ErrorKind::ClosedEarly), 1);
    assert!(
        sim.server
            .requests
            .iter()
            .all(|r| r.method == "POST" && r.body_len == 5)
    );
    assert_eq!(sim.server.stats.requests, 10);

    // REFUSED_STREAM says it was not processed: safe to send again.
    let sim = run(
        ten(),
        post(),
        all_ok_but(3, |attempt| match attempt {
            0 => vec![Act::Reset(ErrorCode::RefusedStream).after(ms(1))],
            _ => vec![Act::ok().after(ms(1))],
        }),
    );
    let s = sim.stats();
    assert_counts!(s, (10, 10, 10, 0, 1));
    assert_eq!(sim.server.stats.requests, 11);
}

#[test]
fn split_engines_each_keep_one_connection_and_share_the_schedule() {
    let mut plan = h2(30, 300.0, Duration::from_secs(1), 3);
    plan.http2 = Some(Http2::new(3, vec![false]));
    let parts = plan.split(3);
    assert_eq!(parts.len(), 3);
    let mut records = Vec::new();
    let mut completed = 0;
    for part in parts {
        assert_eq!(part.http2.as_ref().map(|h| h.connections), Some(1));
        let sim = run(part, get(), H2Script::ok(ms(2)));
        let s = sim.stats();
        assert_eq!(sim.engine.connection_slots(), 2);
        assert_eq!((s.connections, s.failed, s.scheduled), (1, 0, 100));
        assert_eq!(sim.server.stats.accepted, 1);
        completed += s.completed;
        // Each engine's server saw exactly the requests of its share.
        let phase = sim.server.requests.first().map_or(0, seq) % 3;
        assert!(sim.server.requests.iter().all(|r| seq(r) % 3 == phase));
        records.extend(sim.records);
    }
    assert_eq!(completed, 300);
    assert!(records.iter().all(|r| r.outcome == Outcome::Completed(200)));
    assert_one_row_each(&records, 300);
}

#[test]
fn streams_spread_over_the_connections() {
    // 20 users as fast as they can over two connections of 10 streams
    // each: 20 requests a millisecond.
    let mut c = h2(20, 1.0, Duration::from_secs(10), 2);
    c.rate = Rate::Max;
    c.max_requests = Some(200);
    let sim = run(c, get(), H2Script::ok(ms(1)).max_streams(10));
    let s = sim.stats();
    assert_counts!(s, (200, 200, 200, 0, 0));
    assert_eq!((s.connections, s.streams), (2, 200));
    assert_eq!(sim.engine.connection_slots(), 4);
    assert_eq!(sim.server.stats.max_open, 10);
    assert_eq!(sim.elapsed(), ms(10));
    let on = |c| sim.server.requests.iter().filter(|r| r.conn == c).count();
    assert_eq!((on(ConnId(0)), on(ConnId(1))), (100, 100));
}

#[test]
fn streams_open_at_the_end_are_unfinished() {
    // Nothing is ever answered: each stream is open until the run ends,
    // 5 s after its last second (SPEC §2), and counts as unfinished.
    let sim = run(
        h2(10, 10.0, Duration::from_secs(1), 1),
        get(),
        H2Script::ok(ms(1)).responder(|_| Vec::new()),
    );
    let s = sim.stats();
    assert_counts!(s, (10, 10, 0, 0, 0));
    assert_eq!((s.unfinished, s.unsent), (10, 0));
    assert_eq!(sim.elapsed(), Duration::from_secs(6));
    assert!(sim.records.iter().all(|r| r.outcome == Outcome::Unfinished));
    assert_one_row_each(&sim.records, 10);
    // The engine closed its connection.
    assert_eq!(sim.outputs.closes, 1);
}

#[test]
fn a_draining_connection_whose_last_stream_times_out_closes() {
    // Two users, timeout 200 ms. The server sends GOAWAY naming request
    // 1's stream and never answers it: the timeout cancels it at 300 ms,
    // which leaves the draining connection (slot 0) with no stream, so it
    // closes. Request 2 went on a new connection (slot 1) at 200 ms; the
    // server sends GOAWAY on that one too with request 5, answered only at
    // 650 ms. Request 6, due at 600 ms, needs a third connection: slot 0
    // is free for it, and it is answered at 601 ms (not at 651, once slot
    // 1 has drained).
    let mut c = h2(2, 10.0, Duration::from_secs(1), 1);
    c.timeout = ms(200);
    let script = H2Script::ok(ms(1)).responder(|r| match seq(r) {
        1 => vec![Act::GoAway(r.stream, ErrorCode::NoError).after(ms(1))],
        5 => vec![
            Act::GoAway(r.stream, ErrorCode::NoError).after(ms(0)),
            Act::ok().after(ms(150)),
        ],
        _ => vec![Act::ok().after(ms(1))],
    });
    let sim = run(c, get(), script);
    let s = sim.stats();
    assert_counts!(s, (10, 10, 9, 1, 0));
    assert_eq!(errors(s, ErrorKind::Timeout), 1);
    assert_eq!((s.goaways, s.connections), (2, 3));
    assert_eq!(
        sim.server.stats.client_resets,
        [(ConnId(0), 3, ErrorCode::Cancel)]
    );
    let r = row(&sim, 6);
    assert_eq!(
        (r.sent, r.done, r.outcome),
        (Some(ms(600)), ms(601), Outcome::Completed(200))
    );
    let on_slot_0: Vec<u64> = sim
        .server
        .requests
        .iter()
        .filter(|r| r.conn == ConnId(0))
        .map(seq)
        .collect();
    assert_eq!(on_slot_0, [0, 1, 6, 7, 8, 9]);
}

#[test]
fn each_origin_has_its_own_connections_and_scheme() {
    // Two targets on two origins, every other request: http://a.test and
    // https://b.test, whose server answers in 20 ms, not 1. One connection
    // each, in slots 0-1 and 2-3; each request goes on its origin's, with
    // its scheme and authority; the slow origin does not slow the other.
    let target = |host: &str| Target {
        template: on_host(host, "GET", "/{{seq}}", b""),
        expect: Expect::default(),
    };
    let requests = Requests::new(
        vec![target("a.test"), target("b.test")],
        Mix::new(&[1, 1], Order::Smooth).expect("mix"),
        0,
        None,
    )
    .with_origins(vec![0, 1]);
    let mut c = h2(4, 100.0, Duration::from_secs(1), 1);
    c.http2 = Some(Http2::new(1, vec![false, true]));
    let script = H2Script::ok(ms(1)).responder(|r| {
        let latency = if r.authority == "b.test" {
            ms(20)
        } else {
            ms(1)
        };
        vec![Act::ok().after(latency)]
    });
    let mut sim = H2Sim::new(c, requests, script);
    assert_eq!(sim.engine.connection_slots(), 4);
    let origins: Vec<usize> = (0..4).map(|s| sim.engine.origin_of(ConnId(s))).collect();
    assert_eq!(origins, [0, 0, 1, 1]);
    sim.run_to_end();
    let s = sim.stats();
    assert_accounted(s);
    assert_counts!(s, (100, 100, 100, 0, 0));
    assert_eq!(s.connections, 2);
    for r in &sim.server.requests {
        let want = if seq(r).is_multiple_of(2) {
            (ConnId(0), "http", "a.test")
        } else {
            (ConnId(2), "https", "b.test")
        };
        assert_eq!((r.conn, r.scheme.as_str(), r.authority.as_str()), want);
    }
    let (a, b) = (&s.targets[0], &s.targets[1]);
    assert_eq!((a.completed, b.completed), (50, 50));
    assert_all_equivalent!(a.latency, 1_000);
    assert_all_equivalent!(b.latency, 20_000);
}

#[test]
fn status_and_body_checks_apply_to_http2_responses() {
    // Expect 200 and a body containing "ok" (which arrives cut in two
    // DATA frames for request 3): request 4's 201 is an unexpected status,
    // request 5's body "no" a mismatch.
    let target = Target {
        template: get(),
        expect: Expect {
            status: Some(StatusSet::from_ranges(&[(200, 200)])),
            body: Needle::new(b"ok"),
        },
    };
    let requests = Requests::new(vec![target], Mix::single(), 0, None);
    let script = H2Script::ok(ms(1)).responder(|r| match seq(r) {
        3 => vec![
            Act::Head(200).after(ms(1)),
            Act::Data(b"o".to_vec(), false).after(ms(1)),
            Act::Data(b"k".to_vec(), true).after(ms(2)),
        ],
        4 => vec![Act::Respond(201, b"ok".to_vec()).after(ms(1))],
        5 => vec![Act::Respond(200, b"no".to_vec()).after(ms(1))],
        _ => vec![Act::ok().after(ms(1))],
    });
    let mut sim = H2Sim::new(ten(), requests, script);
    sim.run_to_end();
    let s = sim.stats();
    assert_accounted(s);
    assert_counts!(s, (10, 10, 8, 2, 0));
    assert_eq!(errors(s, ErrorKind::UnexpectedStatus), 1);
    assert_eq!(errors(s, ErrorKind::BodyMismatch), 1);
    assert_eq!(row(&sim, 3).outcome, Outcome::Completed(200));
    assert_eq!(row(&sim, 3).done, ms(302));
    assert_eq!(
        row(&sim, 4).outcome,
        Outcome::Failed(ErrorKind::UnexpectedStatus)
    );
    assert_eq!(
        row(&sim, 5).outcome,
        Outcome::Failed(ErrorKind::BodyMismatch)
    );
}

#[test]
fn a_reconnect_opens_no_more_streams_than_the_server_last_allowed() {
    // 100 users as fast as they can, the server allowing 10 streams and
    // ending each connection after 100 requests. A new connection opens
    // streams before the server's SETTINGS arrive; it assumes the limit
    // the last connection heard, not RFC 9113's 100, so the server
    // refuses none (it would refuse 90 on every reconnect).
    let mut c = h2(100, 1.0, Duration::from_secs(10), 1);
    c.rate = Rate::Max;
    c.max_requests = Some(1_000);
    let script = H2Script::ok(ms(1)).max_streams(10).goaway_after(100, ms(0));
    let sim = run(c, get(), script);
    let s = sim.stats();
    assert_counts!(s, (1_000, 1_000, 1_000, 0, 0));
    assert_eq!(s.goaways, 10);
    assert_eq!(sim.server.stats.over_limit, 0);
    assert_eq!(sim.server.stats.max_open, 10);
    assert_one_row_each(&sim.records, 1_000);
}

#[test]
fn slow_draining_connections_take_more_slots_and_stall_nothing() {
    // 400 users, 1,000 requests a second answered in 300 ms, the server
    // ending each connection after 100 requests: a connection lives
    // 100 ms and drains for 300 ms more, so three drain beside the open
    // one. With a fixed two slots the replacements waited for a drained
    // slot (max latency 799 ms, 100 requests unsent); the origin now
    // takes more slots and every request is answered in its 300 ms.
    let c = h2(400, 1_000.0, Duration::from_secs(2), 1);
    let script = H2Script::ok(ms(300)).goaway_after(100, ms(0));
    let sim = run(c, get(), script);
    let s = sim.stats();
    assert_counts!(s, (2_000, 2_000, 2_000, 0, 0));
    assert_eq!(s.unsent, 0);
    assert!(
        s.latency.max() < 302_000,
        "max latency {} us",
        s.latency.max()
    );
    assert!(
        sim.engine.connection_slots() > 2,
        "{}",
        sim.engine.connection_slots()
    );
    assert!(sim.engine.connection_slots() <= sim.engine.max_connection_slots());
    assert_one_row_each(&sim.records, 2_000);
}

#[test]
fn a_refused_stream_goes_again_on_another_connection_when_one_has_room() {
    // Two connections; request 3 refused on its first arrival. SPEC §11:
    // it is sent again on another connection, keeping its due time.
    let arrivals = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = std::rc::Rc::clone(&arrivals);
    let mut attempts: HashMap<u64, u32> = HashMap::new();
    let script = H2Script::ok(ms(1)).responder(move |r| {
        let k = seq(r);
        let n = attempts.entry(k).or_default();
        seen.borrow_mut().push((k, *n, r.conn));
        *n += 1;
        match (k, *n - 1) {
            (3, 0) => vec![Act::Reset(ErrorCode::RefusedStream).after(ms(1))],
            _ => vec![Act::ok().after(ms(1))],
        }
    });
    let sim = run(h2(2, 10.0, Duration::from_secs(1), 2), get(), script);
    let s = sim.stats();
    assert_counts!(s, (10, 10, 10, 0, 1));
    let arrivals = arrivals.borrow();
    let on = |attempt| {
        arrivals
            .iter()
            .find(|&&(k, n, _)| k == 3 && n == attempt)
            .map(|&(_, _, c)| c)
    };
    let (first, second) = (on(0).unwrap(), on(1).unwrap());
    assert_ne!(
        first, second,
        "the retry went to the connection that refused it"
    );
    let r = row(&sim, 3);
    assert_eq!((r.intended, r.done), (ms(300), ms(302)));
}
