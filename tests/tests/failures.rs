//! Failures in virtual time: malformed and oversized responses, early EOF,
//! timeouts, refused and hanging connects with backoff, Ctrl-C, the drain
//! cap, and a clock that goes backwards. Every scheduled request must be
//! accounted for exactly once (SPEC §2) in each case.

use std::time::Duration;
use volley_tests::assert_accounted;

use volley_core::{Config, ConnId, ErrorKind, MAX_HEAD_BYTES, MAX_HEADERS, Rate, Stats, Stop};
use volley_tests::fake_server::{Connect, OK, Pieces, Reply, Script};
use volley_tests::sim::{Sim, get, run};
use volley_tests::{assert_all_equivalent, split_three_ways};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` requests from one closed-loop user.
fn one_user(n: u64) -> Config {
    let mut c = Config::new(1, Rate::Max);
    c.duration = secs(60);
    c.max_requests = Some(n);
    c
}

fn config(users: usize, rate: Rate, duration: Duration) -> Config {
    let mut c = Config::new(users, rate);
    c.duration = duration;
    c
}

fn rps(r: f64) -> Rate {
    Rate::per_second(r).expect("positive rate")
}

fn errors(s: &Stats, kind: ErrorKind) -> u64 {
    s.errors[kind.index()]
}

fn example(s: &Stats, kind: ErrorKind) -> Option<&str> {
    s.examples.0[kind.index()].as_deref()
}

/// Five requests from one user; the server answers the second with `bad`
/// (cut into `pieces`) and the rest with a good 200. The bad one must fail
/// as `kind`, the user reconnect, and the other four succeed.
fn bad_second_response(bad: &[u8], pieces: Pieces, kind: ErrorKind) {
    let bad = bad.to_vec();
    let script = Script::ok(ms(1))
        .responder(move |r| {
            Some(Reply::send(if r.index == 1 {
                bad.clone()
            } else {
                OK.to_vec()
            }))
        })
        .pieces(pieces.clone());
    let sim = run(one_user(5), script);
    let s = sim.stats();
    assert_accounted(s);
    let ctx = format!("{pieces:?}");
    assert_eq!((s.completed, s.failed), (4, 1), "{ctx}");
    assert_eq!(errors(s, kind), 1, "{ctx}: {:?}", s.errors);
    assert_eq!(s.statuses().collect::<Vec<_>>(), vec![(200, 4)], "{ctx}");
    // The bad response's connection was closed and a new one made.
    assert_eq!(s.connections, 2, "{ctx}");
    assert_eq!(sim.elapsed(), ms(5), "{ctx}");
}

#[test]
fn malformed_responses_fail_and_the_user_reconnects() {
    let mut too_many = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..=MAX_HEADERS {
        too_many.push_str(&format!("X-{i}: v\r\n"));
    }
    too_many.push_str("Content-Length: 0\r\n\r\n");
    let table: &[&[u8]] = &[
        b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTPT/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"<html>not http</html>\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        too_many.as_bytes(),
    ];
    for bad in table {
        for pieces in split_three_ways(bad.len()) {
            bad_second_response(bad, pieces, ErrorKind::Malformed);
        }
    }
}

/// A head of exactly `len` bytes.
fn head_of(len: usize) -> Vec<u8> {
    let start = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: ";
    let end = b"\r\n\r\n";
    let mut h = start.to_vec();
    h.resize(len - end.len(), b'a');
    h.extend_from_slice(end);
    assert_eq!(h.len(), len);
    h
}

/// Ways to cut a large head: byte-at-a-time would cost O(n²) reparsing in
/// a debug build, so large pieces, small pieces, and splits around the cap.
fn large_ways(len: usize) -> Vec<Pieces> {
    let mut ways = vec![
        Pieces::Whole,
        Pieces::Chunks(1000),
        Pieces::Chunks(8192),
        Pieces::Chunks(MAX_HEAD_BYTES),
    ];
    for at in [
        1,
        100,
        MAX_HEAD_BYTES - 1,
        MAX_HEAD_BYTES,
        MAX_HEAD_BYTES + 1,
        len - 1,
    ] {
        ways.push(Pieces::SplitAt(at));
    }
    ways
}

#[test]
fn oversized_head_is_malformed() {
    for len in [MAX_HEAD_BYTES + 1, MAX_HEAD_BYTES + 4, 70_000] {
        let bad = head_of(len);
        for pieces in large_ways(len) {
            bad_second_response(&bad, pieces, ErrorKind::Malformed);
        }
    }
    // Without an end in sight: the server just keeps sending header bytes.
    let mut endless = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    endless.resize(100_000, b'a');
    for pieces in [
        Pieces::Whole,
        Pieces::Chunks(1000),
        Pieces::Chunks(MAX_HEAD_BYTES),
    ] {
        bad_second_response(&endless, pieces, ErrorKind::Malformed);
    }
}

#[test]
fn head_at_the_cap_is_accepted() {
    let len = MAX_HEAD_BYTES;
    for pieces in large_ways(len) {
        let script = Script::new(head_of(len), ms(1)).pieces(pieces.clone());
        let sim = run(one_user(3), script);
        let s = sim.stats();
        assert_accounted(s);
        assert_eq!(
            (s.completed, s.failed, s.connections),
            (3, 0, 1),
            "{pieces:?}"
        );
        assert_eq!(s.bytes_in, 3 * len as u64);
    }
}

#[test]
fn eof_mid_response_is_closed_early() {
    let full: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    let chunked: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    // Every proper prefix of a framed response, from one byte to one byte
    // short, then EOF. (With nothing at all, on this reused connection, it
    // is the keep-alive race, and the request goes again: see retry.rs.)
    for response in [full, chunked] {
        for cut in 1..response.len() {
            let truncated = response[..cut].to_vec();
            for pieces in [Pieces::Whole, Pieces::Bytewise] {
                let t = truncated.clone();
                let script = Script::ok(ms(1))
                    .responder(move |r| {
                        Some(if r.index == 1 {
                            Reply::send_then_close(t.clone())
                        } else {
                            Reply::send(OK)
                        })
                    })
                    .pieces(pieces.clone());
                let sim = run(one_user(5), script);
                let s = sim.stats();
                let ctx = format!("{pieces:?} cut at {cut}");
                assert_accounted(s);
                assert_eq!((s.completed, s.failed), (4, 1), "{ctx}");
                assert_eq!(
                    errors(s, ErrorKind::ClosedEarly),
                    1,
                    "{ctx}: {:?}",
                    s.errors
                );
                assert_eq!((s.connections, s.retries), (2, 0), "{ctx}");
            }
        }
    }
}

#[test]
fn no_response_times_out() {
    // A server that never answers; 1 s timeout; one closed-loop user for
    // 3.5 s: requests at 0, 1, 2 and 3 s each time out 1 s later, the last
    // one during the drain.
    let mut c = config(1, Rate::Max, ms(3500));
    c.timeout = secs(1);
    let sim = run(c, Script::ok(ms(1)).responder(|_| None));
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.scheduled, s.sent, s.completed, s.failed, s.unfinished),
        (4, 4, 0, 4, 0)
    );
    assert_eq!(errors(s, ErrorKind::Timeout), 4);
    assert!(
        example(s, ErrorKind::Timeout).is_some_and(|m| m.contains("1s")),
        "{:?}",
        example(s, ErrorKind::Timeout)
    );
    // Each timeout closed the connection: one new connection per request.
    assert_eq!(s.connections, 4);
    assert_eq!(s.elapsed, secs(4));
    assert_eq!(sim.elapsed(), secs(4));
    assert_eq!(
        s.timeline
            .iter()
            .map(|r| (r.second, r.errors))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, 1), (3, 1), (4, 1)]
    );
}

#[test]
fn partial_response_times_out() {
    // The head and 3 of 10 body bytes arrive, then nothing: a timeout, not
    // an early close.
    let mut c = one_user(2);
    c.timeout = ms(500);
    let script = Script::ok(ms(1)).responder(|_| {
        Some(Reply::send(
            &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..],
        ))
    });
    let sim = run(c, script);
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.completed, s.failed, errors(s, ErrorKind::Timeout)),
        (0, 2, 2)
    );
    assert_eq!(sim.elapsed(), ms(1000));
}

#[test]
fn refused_connects_back_off() {
    // A dead server at max rate, 10 users, 2 s. Each user's attempts are
    // spaced by the backoff, 10 ms doubling to 1 s: 0 (before t0), 10, 30,
    // 70, 150, 310, 630 and 1270 ms; the next would be at 2270 ms. That is
    // 8 attempts per user, 7 of them carrying a request.
    let sim = run(
        config(10, Rate::Max, secs(2)),
        Script::ok(ms(1)).connect(Connect::Refuse),
    );
    let s = sim.stats();
    assert_accounted(s);
    // The generous bound first (what SPEC cares about: no connect storm),
    // then the exact count virtual time gives.
    let attempts = sim.server.stats.connect_attempts;
    assert!(attempts <= 10 * 12, "{attempts} connect attempts in 2 s");
    assert_eq!(attempts, 80);
    assert_eq!(s.connect_failures, 80);
    assert_eq!(
        (s.scheduled, s.failed, errors(s, ErrorKind::ConnectRefused)),
        (70, 70, 70)
    );
    assert_eq!((s.completed, s.connections, s.sent), (0, 0, 0));
    assert!(example(s, ErrorKind::ConnectRefused).is_some());
    assert_eq!(sim.elapsed(), secs(2));
}

#[test]
fn refused_then_accepted_recovers() {
    // The first three connects are refused: the warm-up one, then the ones
    // for requests 0 (at 10 ms) and 1 (at 30 ms). Request 2 connects at
    // 70 ms; the user then keeps its connection for requests 3 and 4.
    let script = Script::ok(ms(1)).connector(|n| {
        if n < 3 {
            Connect::Refuse
        } else {
            Connect::Accept
        }
    });
    let sim = run(one_user(5), script);
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.completed, s.failed, errors(s, ErrorKind::ConnectRefused)),
        (3, 2, 2)
    );
    assert_eq!((s.connections, s.connect_failures), (1, 3));
    assert_eq!(sim.elapsed(), ms(73));
    // The connect happened inside request 2's time: its latency counts
    // from its intended time, which for a closed loop is its start.
    assert_all_equivalent!(s.latency, 1000);
}

#[test]
fn connect_timeout() {
    // Connects never complete; 1 s connect timeout. Warm-up gives up at
    // 1 s (= t0). Then, relative to t0: request 0 connects at 10 ms and
    // fails at 1.010 s, request 1 at 1.030 → 2.030 s, request 2 at
    // 2.070 → 3.070 s, during the drain after the 3 s run.
    let mut c = config(1, Rate::Max, secs(3));
    c.connect_timeout = secs(1);
    let sim = run(c, Script::ok(ms(1)).connect(Connect::Hang));
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(sim.t0().map(|t0| t0 - sim.epoch()), Some(secs(1)));
    assert_eq!(
        (s.scheduled, s.failed, errors(s, ErrorKind::ConnectTimeout)),
        (3, 3, 3)
    );
    assert_eq!((s.connect_failures, s.connections), (4, 0));
    assert_eq!(sim.elapsed(), ms(3070));
    assert!(example(s, ErrorKind::ConnectTimeout).is_some());
}

#[test]
fn slow_connect_counts_in_the_request_time() {
    // Connection: close on every response, 5 ms connects, 1 ms responses,
    // 10 requests/s: every request after the first waits for a connect,
    // and that wait is part of its latency and not of its service time.
    let script = Script::ok(ms(1))
        .close_after(1, true)
        .connect_latency(ms(5));
    let sim = run(config(1, rps(10.0), secs(1)), script);
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!((s.completed, s.connections), (10, 10));
    assert_eq!(s.latency.count_between(1000, 1000), 1);
    assert_eq!(s.latency.count_between(6000, 6000), 9);
    assert_all_equivalent!(s.service, 1000);
    assert_all_equivalent!(s.connect, 5000);
}

#[test]
fn ctrl_c_drains_in_flight_requests() {
    // 1000/s, 50 users, 10 ms responses, a 10 s run stopped at 1.5005 s:
    // requests 0..=1500 were due; the ten in flight finish, the last at
    // 1.510 s.
    let mut sim = Sim::new(config(50, rps(1000.0), secs(10)), get(), Script::ok(ms(10)));
    sim.stop_at(Duration::from_micros(1_500_500));
    sim.run_to_end();
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.scheduled, s.completed, s.failed, s.unfinished, s.unsent),
        (1501, 1501, 0, 0, 0)
    );
    assert_eq!(s.duration, Duration::from_micros(1_500_500));
    assert_eq!(sim.elapsed(), ms(1510));
}

#[test]
fn second_ctrl_c_ends_at_once() {
    // As above, and a second Ctrl-C at 1.505 s: requests 1496..=1500 are
    // still in flight (1495's response, due at 1.505 s, got in first).
    let mut sim = Sim::new(config(50, rps(1000.0), secs(10)), get(), Script::ok(ms(10)));
    sim.stop_at(Duration::from_micros(1_500_500))
        .stop_at(ms(1505));
    sim.run_to_end();
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.scheduled, s.completed, s.unfinished, s.unsent),
        (1501, 1496, 5, 0)
    );
    assert_eq!(sim.elapsed(), ms(1505));
}

#[test]
fn two_ctrl_c_at_one_instant_end_at_once() {
    // Both at 1.5005 s, before the engine hears of either: it is handed
    // the level they reached, and requests 1491..=1500 are unfinished.
    let mut sim = Sim::new(config(50, rps(1000.0), secs(10)), get(), Script::ok(ms(10)));
    sim.stop_at(Duration::from_micros(1_500_500))
        .stop_at(Duration::from_micros(1_500_500));
    sim.run_to_end();
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.scheduled, s.completed, s.unfinished, s.unsent),
        (1501, 1491, 10, 0)
    );
    assert_eq!(s.duration, Duration::from_micros(1_500_500));
    assert_eq!(sim.elapsed(), Duration::from_micros(1_500_500));
}

#[test]
fn ctrl_c_while_awaiting_the_last_responses_ends_at_once() {
    // A 1 s run against a server that takes 3 s: at the end five requests
    // are awaited; a Ctrl-C 1 s into that wait ends the run there.
    let mut sim = Sim::new(config(5, rps(10.0), secs(1)), get(), Script::ok(secs(3)));
    sim.stop_at(secs(2));
    sim.run_to_end();
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!((s.completed, s.unfinished), (0, 5));
    assert_eq!(sim.elapsed(), secs(2));
}

#[test]
fn the_same_stop_level_twice_is_one_stop() {
    let mut sim = Sim::new(config(50, rps(1000.0), secs(10)), get(), Script::ok(ms(10)));
    sim.run_until(ms(500));
    let at = sim.now();
    sim.poke(at, |e, at| e.handle_stop(at, Stop::Drain));
    sim.poke(at, |e, at| e.handle_stop(at, Stop::Drain));
    assert!(!sim.engine.is_finished(), "a repeated level ended the run");
    sim.run_to_end();
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!((s.failed, s.unfinished), (0, 0));
}

#[test]
fn ctrl_c_before_the_start() {
    // Connects take 1 s; Ctrl-C at 0.5 s, before t0: nothing was scheduled.
    let mut sim = Sim::new(
        config(5, rps(100.0), secs(10)),
        get(),
        Script::ok(ms(1)).connect_latency(secs(1)),
    );
    sim.stop_at(ms(500));
    sim.run_to_end();
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!((s.scheduled, s.sent), (0, 0));
    assert_eq!(sim.now() - sim.epoch(), ms(500));
}

#[test]
fn drain_is_capped_at_five_seconds() {
    // A silent server, 30 s timeout, 10/s with 5 users for 1 s: five
    // requests go out and never come back, five more wait for a user.
    let sim = run(
        config(5, rps(10.0), secs(1)),
        Script::ok(ms(1)).responder(|_| None),
    );
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (
            s.scheduled,
            s.sent,
            s.completed,
            s.failed,
            s.unfinished,
            s.unsent
        ),
        (10, 5, 0, 0, 5, 5)
    );
    // The run ends 5 s after its end, not 30 s after the last send.
    assert_eq!(sim.elapsed(), secs(6));
    assert_eq!(volley_core::MAX_DRAIN, secs(5));
}

#[test]
fn drain_waits_only_for_the_timeout_when_shorter() {
    // As above with a 2 s timeout: the five time out at 2.0 .. 2.4 s, during
    // the drain, and count as failed rather than unfinished.
    let mut c = config(5, rps(10.0), secs(1));
    c.timeout = secs(2);
    let sim = run(c, Script::ok(ms(1)).responder(|_| None));
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.scheduled, s.failed, s.unfinished, s.unsent),
        (10, 5, 0, 5)
    );
    assert_eq!(errors(s, ErrorKind::Timeout), 5);
    assert_eq!(sim.elapsed(), ms(2400));
}

#[test]
fn extra_bytes_after_a_response_close_the_connection() {
    // The server sends each response twice. Within one read the extra
    // bytes are trailing garbage; in a later read they arrive on an idle
    // connection. Either way the connection is dropped and no request
    // fails; the second way leaves an example message.
    let twice = [OK, OK].concat();
    for (pieces, noted) in [(Pieces::Whole, false), (Pieces::SplitAt(OK.len()), true)] {
        let script = Script::new(twice.clone(), ms(1))
            .pieces(pieces.clone())
            .piece_gap(ms(1));
        let sim = run(config(1, rps(100.0), secs(1)), script);
        let s = sim.stats();
        assert_accounted(s);
        assert_eq!(
            (s.completed, s.failed, s.connections),
            (100, 0, 100),
            "{pieces:?}"
        );
        assert_eq!(
            example(s, ErrorKind::Malformed).is_some(),
            noted,
            "{pieces:?}"
        );
    }
}

#[test]
fn does_not_panic_on_bad_instant() {
    // Every other `now` the engine sees lies 3 ms in the past, across a run
    // with reconnects, a stall, timeouts and a stop.
    let script = Script::ok(ms(2))
        .close_after(7, false)
        .stall(ms(300)..ms(900));
    let mut c = config(8, rps(500.0), secs(2));
    c.timeout = ms(400);
    let mut sim = Sim::new(c, get(), script);
    sim.skew(ms(3)).stop_at(ms(1500));
    sim.run_to_end();
    assert_accounted(sim.stats());
    assert!(sim.stats().completed > 0);

    // And handlers called directly with instants from before the run
    // started, even before t0.
    let script = Script::ok(ms(5)).connect_latency(ms(100));
    let mut sim = Sim::new(config(4, rps(100.0), secs(2)), get(), script);
    sim.run_until(ms(500));
    let before = sim.epoch();
    sim.poke(before, |e, at| e.handle_timeout(at));
    sim.poke(before, |e, at| e.handle_start(at));
    sim.poke(before, |e, at| e.handle_connected(ConnId(3), at));
    sim.poke(before, |e, at| {
        e.handle_error(ConnId(2), at, ErrorKind::ConnectRefused, &"late")
    });
    sim.poke(before, |e, at| {
        e.handle_error(ConnId(1), at, ErrorKind::Reset, &"reset")
    });
    sim.poke(before, |e, at| e.handle_eof(ConnId(0), at));
    sim.poke(before + ms(1), |e, at| e.handle_stop(at, Stop::Drain));
    sim.run_to_end();
    assert_accounted(sim.stats());
    // Out-of-range slots are ignored.
    sim.poke(before, |e, at| {
        e.handle_data(ConnId(99), at, OK);
        e.handle_eof(ConnId(99), at);
        e.handle_connected(ConnId(99), at);
        e.handle_error(ConnId(99), at, ErrorKind::Reset, &"x");
        e.handle_stop(at, Stop::Now);
        e.handle_timeout(at);
    });
    assert!(sim.engine.is_finished());
}

/// xorshift64*: a tiny deterministic generator, so the random runs below
/// are the same on every machine.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random reply: mostly fine, sometimes broken in one of many ways.
fn random_reply(rng: &mut Rng) -> Option<Reply> {
    let r = rng.below(100);
    Some(match r {
        0..=54 => Reply::send(OK),
        // Closed or reset with no answer: on a reused connection, the
        // keep-alive race.
        55..=57 => Reply::send_then_close(&b""[..]),
        58..=59 => Reply::send_then_reset(&b""[..]),
        60..=64 => Reply::send(&b"HTTP/1.1 2x0 OK\r\n\r\n"[..]),
        65..=69 => Reply::send_then_close(&OK[..OK.len() - 1]),
        70..=74 => return None,
        75..=79 => Reply::send_then_close(&b"HTTP/1.1 200 OK\r\n\r\nuntil close"[..]),
        80..=84 => Reply::send(&b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"[..]),
        85..=89 => Reply::send(&b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[..]),
        90..=94 => Reply::send(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x\r\nok\r\n0\r\nT: 1\r\n\r\n"[..],
        ),
        // Not a reply sent twice: a server that sends more than it was asked
        // for desyncs its count of answered requests from the engine's, and
        // the fake server would report pipelining.
        _ => Reply::send(&b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"[..]),
    }
    .after(ms(rng.below(20))))
}

#[test]
fn every_request_is_accounted_for_under_random_faults() {
    let mut retried = 0;
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let users = 1 + rng.below(8) as usize;
        let rate = if rng.chance(25) {
            Rate::Max
        } else {
            rps((50 + rng.below(2000)) as f64)
        };
        let duration = ms(50 + rng.below(700));
        let mut c = config(users, rate, duration);
        c.timeout = ms(5 + rng.below(300));
        c.connect_timeout = ms(5 + rng.below(100));
        c.keep_alive = rng.chance(80);
        if rng.chance(20) {
            c.max_requests = Some(rng.below(300));
        }
        if rng.chance(20) {
            c.ramp_up = ms(rng.below(500));
        }
        let mut replies = rng.clone();
        let mut connects = Rng(rng.next() | 1);
        let mut script = Script::ok(ms(1))
            .responder(move |_| random_reply(&mut replies))
            .connector(move |_| match connects.below(100) {
                0..=84 => Connect::Accept,
                85..=94 => Connect::Refuse,
                _ => Connect::Hang,
            })
            .connect_latency(ms(rng.below(10)))
            .pieces(match rng.below(4) {
                0 => Pieces::Whole,
                1 => Pieces::Bytewise,
                2 => Pieces::SplitAt(1 + rng.below(40) as usize),
                _ => Pieces::Chunks(1 + rng.below(10) as usize),
            })
            .piece_gap(Duration::from_micros(rng.below(500)));
        if rng.chance(30) {
            script = script.close_after(1 + rng.below(5), rng.chance(50));
        }
        if rng.chance(30) {
            let start = ms(rng.below(400));
            script = script.stall(start..start + ms(rng.below(400)));
        }
        let mut sim = Sim::new(c.clone(), get(), script);
        let skew = if rng.chance(20) {
            ms(1 + rng.below(5))
        } else {
            Duration::ZERO
        };
        sim.skew(skew);
        if rng.chance(20) {
            sim.stop_at(ms(rng.below(800)));
        }
        sim.run_to_end();
        let s = sim.stats();
        let ctx = format!("seed {seed}: {c:?}");
        assert!(
            s.identity_holds(),
            "{ctx}: {} != {} + {} + {} + {}",
            s.scheduled,
            s.completed,
            s.failed,
            s.unfinished,
            s.unsent
        );
        assert_eq!(
            s.completed,
            s.statuses().map(|(_, n)| n).sum::<u64>(),
            "{ctx}"
        );
        assert_eq!(s.failed, s.errors.iter().sum::<u64>(), "{ctx}");
        assert_eq!(s.connections, sim.server.stats.accepted, "{ctx}");
        assert_eq!(s.bytes_in, sim.server.stats.bytes_delivered, "{ctx}");
        // A request counts once in `sent`; a retry writes it again, unless
        // the retry's connect failed.
        assert!(
            s.sent <= sim.outputs.sends && sim.outputs.sends <= s.sent + s.retries,
            "{ctx}: sent {} + retries {} vs {} writes",
            s.sent,
            s.retries,
            sim.outputs.sends
        );
        assert!(s.retries <= s.sent, "{ctx}");
        retried += s.retries;
        assert_eq!(s.bytes_out, sim.server.stats.bytes_received, "{ctx}");
        assert_eq!(
            sim.outputs.connects, sim.server.stats.connect_attempts,
            "{ctx}"
        );
        assert!(s.sent <= s.scheduled, "{ctx}");
        if let Some(limit) = c.max_requests {
            assert!(s.scheduled <= limit, "{ctx}");
        }
        // The run ends at most one drain after its end.
        let drain = c.timeout.min(volley_core::MAX_DRAIN);
        if let Some(t0) = sim.t0() {
            let end = t0 + duration + drain + skew;
            assert!(
                sim.now() <= end,
                "{ctx}: ended {:?} after t0",
                sim.now() - t0
            );
        }
    }
    // The runs took the keep-alive race's path, not only the others.
    assert!(retried > 0, "no request was retried in 300 runs");
}
