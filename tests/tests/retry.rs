//! The keep-alive race in virtual time (SPEC §2): a request written on a
//! reused connection that the server closes or resets before any byte of
//! the answer goes once more on a new connection, if its method is
//! idempotent, keeping its due time. Any other close, a second one, or one
//! after response bytes is a failure as before.
//!
//! The scripts answer with a 1 ms latency and connect in 5 ms, one user at
//! 10 requests/s, so that every figure of the retried request is exact:
//! request 3 is due at 300 ms, and the server closes on it at 302 ms.

use std::time::Duration;

use volley_core::{Config, ErrorKind, Outcome, Rate, RequestRecord, RequestTemplate, Stats};
use volley_tests::fake_server::{Connect, OK, Pieces, Reply, Script};
use volley_tests::sim::{Sim, get, request};
use volley_tests::{assert_accounted, split_three_ways};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn errors(s: &Stats, kind: ErrorKind) -> u64 {
    s.errors[kind.index()]
}

/// Ten requests, 100 ms apart, from one user, with every request logged.
fn ten() -> Config {
    let mut c = Config::new(1, Rate::per_second(10.0).expect("rate"));
    c.duration = Duration::from_secs(1);
    c.record_requests = true;
    c
}

/// How the server ends a connection without answering.
#[derive(Clone, Copy, Debug)]
enum End {
    Close,
    Reset,
}

impl End {
    /// A reply of `bytes` and then this end, 2 ms after the request.
    fn after(self, bytes: &[u8]) -> Reply {
        match self {
            Self::Close => Reply::send_then_close(bytes),
            Self::Reset => Reply::send_then_reset(bytes),
        }
        .after(ms(2))
    }

    /// The kind a request fails with when this end is not retried.
    fn kind(self) -> ErrorKind {
        match self {
            Self::Close => ErrorKind::ClosedEarly,
            Self::Reset => ErrorKind::Reset,
        }
    }
}

/// A server that answers every request with `response`, except those it
/// received as numbers `unanswered`, which it ends with `end` after
/// sending `partial` of an answer (nothing, or some bytes).
fn script(
    response: &'static [u8],
    unanswered: &'static [u64],
    end: End,
    partial: &'static [u8],
) -> Script {
    Script::new(response, ms(1))
        .connect_latency(ms(5))
        .responder(move |r| {
            Some(if unanswered.contains(&r.index) {
                end.after(partial)
            } else {
                Reply::send(response)
            })
        })
}

fn run(config: Config, template: RequestTemplate, script: Script) -> (Sim, Vec<RequestRecord>) {
    let mut sim = Sim::new(config, template, script);
    sim.run_to_end();
    let records = std::iter::from_fn(|| sim.engine.poll_record()).collect();
    assert_accounted(sim.stats());
    (sim, records)
}

#[test]
fn a_request_the_server_closed_or_reset_on_unanswered_on_reuse_goes_once_more() {
    for end in [End::Close, End::Reset] {
        // The other responses' bytes arrive whole, bytewise and split.
        for pieces in split_three_ways(OK.len()) {
            let ctx = format!("{end:?}, {pieces:?}");
            let (sim, records) = run(
                ten(),
                get(),
                script(OK, &[3], end, b"").pieces(pieces.clone()),
            );
            let s = sim.stats();
            assert_eq!(
                (s.scheduled, s.sent, s.completed, s.failed, s.retries),
                (10, 10, 10, 0, 1),
                "{ctx}: {:?}",
                s.errors
            );
            assert!(s.examples.0.iter().all(Option::is_none), "{ctx}");
            // Written twice, received twice, on two connections.
            assert_eq!(sim.outputs.sends, 11, "{ctx}");
            assert_eq!(sim.server.stats.requests, 11, "{ctx}");
            assert_eq!(s.connections, 2, "{ctx}");
            assert_eq!(s.bytes_out, 11 * get().bytes().len() as u64, "{ctx}");
            // Due at 300 ms, closed on at 302, reconnected at 307, answered
            // at 308: latency from the due time, the rest from the retry's
            // write.
            assert_eq!(s.latency.count_between(8_000, 8_000), 1, "{ctx}");
            assert_eq!(s.latency.count_between(1_000, 1_000), 9, "{ctx}");
            assert_eq!((s.service.min(), s.service.max()), (1_000, 1_000), "{ctx}");
            assert_eq!((s.ttfb.min(), s.ttfb.max()), (1_000, 1_000), "{ctx}");
            assert_eq!(s.send_lag.len(), 10, "{ctx}");
            assert_eq!(s.send_lag.count_between(7_000, 7_000), 1, "{ctx}");
            // One log row for it, with its final outcome.
            assert_eq!(records.len(), 10, "{ctx}");
            let row = records.iter().find(|r| r.index == 3).expect("row 3");
            assert_eq!(
                (row.intended, row.sent, row.done, row.outcome),
                (ms(300), Some(ms(307)), ms(308), Outcome::Completed(200)),
                "{ctx}"
            );
        }
    }
}

#[test]
fn a_close_after_any_byte_of_the_answer_is_a_failure() {
    // Every proper prefix of the response, then the end; and an interim
    // response alone. The server had seen the request: no retry.
    let mut partials: Vec<&'static [u8]> = (1..OK.len()).map(|n| &OK[..n]).collect();
    partials.push(b"HTTP/1.1 100 Continue\r\n\r\n");
    for end in [End::Close, End::Reset] {
        for &partial in &partials {
            for pieces in split_three_ways(partial.len()) {
                let ctx = format!(
                    "{end:?} after {:?}, {pieces:?}",
                    String::from_utf8_lossy(partial)
                );
                let (sim, records) = run(
                    ten(),
                    get(),
                    script(OK, &[3], end, partial).pieces(pieces.clone()),
                );
                let s = sim.stats();
                assert_eq!(
                    (s.completed, s.failed, errors(s, end.kind()), s.retries),
                    (9, 1, 1, 0),
                    "{ctx}: {:?}",
                    s.errors
                );
                assert_eq!((sim.outputs.sends, s.connections), (10, 2), "{ctx}");
                let row = records.iter().find(|r| r.index == 3).expect("row 3");
                assert_eq!(row.outcome, Outcome::Failed(end.kind()), "{ctx}");
            }
        }
    }
}

#[test]
fn a_retry_goes_once_and_fails_as_any_request_when_it_fails() {
    // The server ends the retry (its request 4) unanswered too: on a new
    // connection, so that is a failure, and there is no third write.
    for end in [End::Close, End::Reset] {
        let (sim, records) = run(ten(), get(), script(OK, &[3, 4], end, b""));
        let s = sim.stats();
        assert_eq!(
            (s.completed, s.failed, errors(s, end.kind()), s.retries),
            (9, 1, 1, 1),
            "{end:?}: {:?}",
            s.errors
        );
        assert_eq!((s.sent, sim.outputs.sends), (10, 11), "{end:?}");
        let row = records.iter().find(|r| r.index == 3).expect("row 3");
        assert_eq!(
            (row.sent, row.done, row.outcome),
            (Some(ms(307)), ms(309), Outcome::Failed(end.kind())),
            "{end:?}"
        );
    }
    // The retry's connect is refused: it fails as that.
    let refuse_second = Script::ok(ms(1))
        .connect_latency(ms(5))
        .connector(|n| {
            if n == 1 {
                Connect::Refuse
            } else {
                Connect::Accept
            }
        })
        .responder(|r| {
            Some(if r.index == 3 {
                End::Close.after(b"")
            } else {
                Reply::send(OK)
            })
        });
    let (sim, _) = run(ten(), get(), refuse_second);
    let s = sim.stats();
    assert_eq!(
        (
            s.completed,
            s.failed,
            errors(s, ErrorKind::ConnectRefused),
            s.retries
        ),
        (9, 1, 1, 1)
    );
    assert_eq!((s.sent, sim.outputs.sends), (10, 10));
}

/// A response that also ends a HEAD request (no body), for every method.
const EMPTY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

#[test]
fn only_idempotent_methods_go_again() {
    for (method, retried) in [
        ("GET", true),
        ("HEAD", true),
        ("PUT", true),
        ("DELETE", true),
        ("OPTIONS", true),
        ("TRACE", true),
        ("POST", false),
        ("PATCH", false),
    ] {
        for end in [End::Close, End::Reset] {
            let (sim, _) = run(ten(), request(method), script(EMPTY, &[3], end, b""));
            let s = sim.stats();
            let want = if retried { (10, 0, 1) } else { (9, 1, 0) };
            assert_eq!(
                (s.completed, s.failed, s.retries),
                want,
                "{method} {end:?}: {:?}",
                s.errors
            );
            assert_eq!(
                errors(s, end.kind()),
                u64::from(!retried),
                "{method} {end:?}"
            );
            assert_eq!(
                sim.server.stats.requests,
                10 + u64::from(retried),
                "{method}"
            );
        }
    }
}

#[test]
fn a_connection_on_its_first_request_has_no_race_to_lose() {
    for end in [End::Close, End::Reset] {
        // The first request of the run, on the connection made before t0.
        let (sim, _) = run(ten(), get(), script(OK, &[0], end, b""));
        let s = sim.stats();
        assert_eq!(
            (s.completed, s.failed, errors(s, end.kind()), s.retries),
            (9, 1, 1, 0),
            "first of the run, {end:?}"
        );
        // The first request on a connection made after `Connection: close`.
        let closing = script(OK, &[3], end, b"").close_after(3, true);
        let (sim, _) = run(ten(), get(), closing);
        let s = sim.stats();
        assert_eq!(
            (s.completed, s.failed, errors(s, end.kind()), s.retries),
            (9, 1, 1, 0),
            "first after a reconnect, {end:?}"
        );
        // Without keep-alive every connection is new.
        let mut c = ten();
        c.keep_alive = false;
        let (sim, _) = run(c, get(), script(OK, &[3], end, b""));
        let s = sim.stats();
        assert_eq!(
            (s.completed, s.failed, errors(s, end.kind()), s.retries),
            (9, 1, 1, 0),
            "--no-keepalive, {end:?}"
        );
    }
}

#[test]
fn a_retry_after_the_end_completes_in_the_drain() {
    // The last request, due at 900 ms, is closed on at 1050 ms, after the
    // sending window: its retry still runs, within the drain.
    let script = Script::ok(ms(1))
        .connect_latency(ms(5))
        .responder(|r| {
            Some(if r.index == 9 {
                Reply::send_then_close(&b""[..]).after(ms(150))
            } else {
                Reply::send(OK)
            })
        })
        .pieces(Pieces::Whole);
    let (sim, _) = run(ten(), get(), script);
    let s = sim.stats();
    assert_eq!(
        (s.completed, s.failed, s.unfinished, s.retries),
        (10, 0, 0, 1)
    );
    assert_eq!(sim.elapsed(), ms(1056));
    assert!(
        s.latency.equivalent(s.latency.max(), 156_000),
        "{}",
        s.latency.max()
    );
}
