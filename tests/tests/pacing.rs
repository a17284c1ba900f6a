//! Pacing in virtual time: the open-model schedule, closed-loop `max`,
//! ramp-up, `--requests`, coordinated omission under a stall, and a backlog
//! when there are too few users. Virtual time makes every count exact.

use std::time::Duration;
use volley_tests::assert_accounted;

use volley_core::{Config, Rate, Stats};
use volley_tests::assert_all_equivalent;
use volley_tests::fake_server::Script;
use volley_tests::sim::{Sim, get, run};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn rps(r: f64) -> Rate {
    Rate::per_second(r).expect("positive rate")
}

fn config(users: usize, rate: Rate, duration: Duration) -> Config {
    let mut c = Config::new(users, rate);
    c.duration = duration;
    c
}

/// Microseconds as the histograms hold them.
fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

#[test]
fn fixed_rate_is_exact() {
    let sim = run(
        config(50, rps(1000.0), Duration::from_secs(2)),
        Script::ok(ms(1)),
    );
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!((s.scheduled, s.sent, s.completed), (2000, 2000, 2000));
    assert_eq!((s.failed, s.unfinished, s.unsent), (0, 0, 0));
    assert_eq!(s.statuses().collect::<Vec<_>>(), vec![(200, 2000)]);
    // Every request left exactly on schedule and took exactly 1 ms.
    assert_eq!(s.send_lag.max(), 0);
    assert_eq!((s.latency.min(), s.latency.max()), (1000, 1000));
    assert_eq!(s.latency, s.service);
    // All 50 users connected once, before t0.
    assert_eq!(s.connections, 50);
    assert_eq!(sim.server.stats.requests, 2000);
    let arrivals = sim.arrivals();
    assert!(
        arrivals.iter().enumerate().all(|(k, &t)| t == ms(k as u64)),
        "request k arrives at k ms"
    );
    assert_eq!(s.duration, Duration::from_secs(2));
    assert_eq!(s.achieved_rps(), 1000.0);
    // Request k is intended at k ms and ends at k+1 ms: 999 end in second
    // 0, 1000 in second 1, and the last one exactly at 2 s.
    let rows: Vec<_> = s.timeline.iter().map(|r| (r.second, r.completed)).collect();
    assert_eq!(rows, vec![(0, 999), (1, 1000), (2, 1)]);
    // The run ends with the last response.
    assert_eq!(sim.elapsed(), Duration::from_secs(2));
}

#[test]
fn fractional_rate_over_a_long_run_does_not_drift() {
    // 3 req/s has a period that is not a whole number of nanoseconds.
    let sim = run(
        config(2, rps(3.0), Duration::from_secs(600)),
        Script::ok(ms(1)),
    );
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!((s.scheduled, s.completed), (1800, 1800));
    assert_eq!(s.send_lag.max(), 0);
}

#[test]
fn max_rate_is_closed_loop() {
    let sim = run(
        config(10, Rate::Max, Duration::from_secs(1)),
        Script::ok(ms(1)),
    );
    let s = sim.stats();
    assert_accounted(s);
    // Each user sends at 0, 1, ..., 999 ms; at 1 s the run ends.
    assert_eq!(
        (s.scheduled, s.sent, s.completed, s.unsent),
        (10_000, 10_000, 10_000, 0)
    );
    // Closed loop: the intended time is the send time.
    assert_eq!(s.latency, s.service);
    assert_eq!((s.latency.min(), s.latency.max()), (1000, 1000));
    assert_eq!(s.connections, 10);
}

#[test]
fn ramp_up_rises_then_holds() {
    let mut c = config(50, rps(1000.0), Duration::from_secs(3));
    c.ramp_up = Duration::from_secs(2);
    let sim = run(c, Script::ok(ms(1)));
    let s = sim.stats();
    assert_accounted(s);
    // The ramp's integral is 1000/s × 2 s / 2 = 1000, then 1000 in the
    // steady second.
    assert!(s.scheduled.abs_diff(2000) <= 2, "scheduled {}", s.scheduled);
    assert_eq!(s.completed, s.scheduled);
    assert_eq!(s.send_lag.max(), 0);
    // 1000·t²/4 requests by time t: ~250 in second 0, ~750 in second 1,
    // ~1000 in second 2.
    let rows: Vec<u64> = s.timeline.iter().take(3).map(|r| r.completed).collect();
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "{rows:?}");
    for (got, want) in rows.iter().zip([250u64, 750, 1000]) {
        assert!(got.abs_diff(want) <= 2, "{rows:?}");
    }
}

#[test]
fn max_requests_stops_at_exactly_n() {
    let mut c = config(50, rps(1000.0), Duration::from_secs(10));
    c.max_requests = Some(123);
    let sim = run(c, Script::ok(ms(1)));
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.scheduled, s.sent, s.completed, s.unsent),
        (123, 123, 123, 0)
    );
    assert_eq!(sim.server.stats.requests, 123);
    // Request 122 starts at 122 ms and ends at 123 ms, and that is the run.
    assert_eq!(s.duration, ms(123));
    assert_eq!(sim.elapsed(), ms(123));
}

#[test]
fn max_requests_at_max_rate() {
    let mut c = config(7, Rate::Max, Duration::from_secs(10));
    c.max_requests = Some(1000);
    let sim = run(c, Script::ok(ms(1)));
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!((s.scheduled, s.sent, s.completed), (1000, 1000, 1000));
    // 7 per millisecond: the 1000th starts in the 143rd millisecond.
    assert_eq!(sim.elapsed(), ms(143));
}

#[test]
fn stall_is_counted_from_the_intended_time() {
    // 20 users at 1000/s, 1 ms responses, and the server delivers nothing
    // from 2 s to 3 s: the 20 requests sent at 2.000..2.019 s wait for the
    // stall, the 980 intended after them wait in the backlog.
    let script = Script::ok(ms(1)).stall(Duration::from_secs(2)..Duration::from_secs(3));
    let sim = run(config(20, rps(1000.0), Duration::from_secs(5)), script);
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!(
        (s.scheduled, s.completed, s.unsent, s.failed),
        (5000, 5000, 0, 0)
    );

    // Latency counts from the intended time: request 1999, intended at
    // 1.999 s and due at 2.000 s, ended at 3 s; a thousand requests are hit.
    assert!(
        s.latency.equivalent(s.latency.max(), us(ms(1001))),
        "max {}",
        s.latency.max()
    );
    assert!(
        s.latency.value_at_quantile(0.99) >= 900_000,
        "p99 {}",
        s.latency.value_at_quantile(0.99)
    );
    assert!(
        s.latency.value_at_quantile(0.90) >= 400_000,
        "p90 {}",
        s.latency.value_at_quantile(0.90)
    );
    assert!(s.send_lag.max() >= 970_000, "send lag {}", s.send_lag.max());

    // Service time hides it (what wrk and hey report): only the 20 requests
    // on the wire when the stall began saw it, so service p50 and p99 stay
    // at 1 ms. Those 20 did wait the whole stall after their write, so the
    // service *max* is the same ~1 s as the latency max: it is the
    // percentiles and counts that tell the two apart, not the max.
    assert_eq!(s.service.value_at_quantile(0.5), 1000);
    assert_eq!(s.service.value_at_quantile(0.99), 1000);
    assert_eq!(s.service.count_between(2000, 2_000_000), 20);
    let late = s.latency.count_between(2000, 2_000_000);
    assert!(late >= 990, "only {late} late by latency");
    assert!(
        s.service.equivalent(s.service.max(), us(ms(1001))),
        "service max {}",
        s.service.max()
    );

    // The timeline shows the stall: no completions in second 2, then a
    // burst at 3 s with high latency.
    let row = |sec: u32| s.timeline.iter().find(|r| r.second == sec).cloned();
    assert!(row(2).is_none(), "{:?}", row(2));
    let r3 = row(3).expect("second 3");
    assert_eq!(r3.completed, 2000);
    assert!(r3.max_us >= 990_000);
}

#[test]
fn too_few_users_build_a_backlog() {
    // 5 users × 10 ms per request = 500/s, asked for 1000/s.
    let sim = run(
        config(5, rps(1000.0), Duration::from_secs(2)),
        Script::ok(ms(10)),
    );
    let s = sim.stats();
    assert_accounted(s);
    // Each user starts 200 requests in 2 s; the other 1000 never leave.
    assert_eq!(
        (s.scheduled, s.sent, s.completed, s.unsent, s.unfinished),
        (2000, 1000, 1000, 1000, 0)
    );
    assert_all_equivalent!(s.service, 10_000);
    // Request k waits ~k ms in the backlog: the last latency is ~1 s.
    assert!(s.latency.max() >= 990_000, "max {}", s.latency.max());
    let p50s: Vec<u64> = s.timeline.iter().map(|r| r.p50_us).collect();
    assert!(
        p50s.len() >= 2 && p50s.windows(2).all(|w| w[0] < w[1]),
        "latency must grow: {p50s:?}"
    );
    // Half the target: 500/s.
    assert_eq!(s.achieved_rps(), 500.0);
}

#[test]
fn connect_time_is_before_t0() {
    // Users connect before t0 (SPEC §2): a 50 ms connect does not delay
    // the schedule.
    let mut sim = Sim::new(
        config(4, rps(100.0), Duration::from_secs(1)),
        get(),
        Script::ok(ms(1)).connect_latency(ms(50)),
    );
    sim.run_to_end();
    assert_eq!(sim.t0().map(|t0| t0 - sim.epoch()), Some(ms(50)));
    let s = sim.stats();
    assert_accounted(s);
    assert_eq!((s.scheduled, s.completed), (100, 100));
    assert_eq!((s.latency.min(), s.latency.max()), (1000, 1000));
    assert_all_equivalent!(s.connect, 50_000);
    assert_eq!(s.connections, 4);
}

#[test]
fn split_engines_make_one_schedule() {
    // A plan split across 3 engines (threads or shards): each takes every
    // third request of the one global schedule, so together they send one
    // request per millisecond, and a request limit is shared exactly.
    let mut plan = config(30, rps(1000.0), Duration::from_secs(1));
    plan.max_requests = Some(800);
    let mut all = Vec::new();
    let mut total = Stats::new();
    for part in plan.split(3) {
        let sim = run(part, Script::ok(ms(1)));
        let s = sim.stats();
        assert_accounted(s);
        assert_eq!(s.send_lag.max(), 0);
        all.extend(sim.arrivals());
        total.merge(s);
    }
    all.sort();
    assert_eq!(all, (0..800).map(ms).collect::<Vec<_>>());
    assert_eq!((total.scheduled, total.completed), (800, 800));
    assert_accounted(&total);
}

/// Sends that fall due together leave one after another: each counts from
/// when the driver took it, so neither its lag nor its service time holds
/// the time the driver spent on the ones before.
#[test]
fn a_send_counts_from_when_the_driver_takes_it() {
    use std::time::Instant;
    use volley_core::{ConnId, Engine, Output};

    let epoch = Instant::now();
    let at = |us: u64| epoch + Duration::from_micros(us);
    let mut engine = Engine::new(config(2, rps(1000.0), ms(100)), get(), epoch);
    let mut conns = Vec::new();
    while let Some(out) = engine.poll_output(epoch) {
        if let Output::Connect(c) = out {
            conns.push(c);
        }
    }
    for &c in &conns {
        engine.handle_connected(c, epoch);
    }
    assert!(engine.is_ready());
    engine.handle_start(at(1000));

    // Requests 0 and 1 were due at 1,000 and 2,000 us; the loop wakes late,
    // at 2,500 us, and writes them 100 us apart.
    let mut taken: Vec<ConnId> = Vec::new();
    for t in [2_500, 2_600] {
        match engine.poll_output(at(t)) {
            Some(Output::Send(c)) => taken.push(c),
            other => panic!("expected a send at {t} us, got {other:?}"),
        }
    }
    assert_eq!(engine.poll_output(at(2_600)), None);
    for &c in &taken {
        engine.handle_data(
            c,
            at(3_000),
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        );
    }

    let s = engine.stats();
    assert_eq!((s.sent, s.completed), (2, 2));
    assert_eq!((s.send_lag.min(), s.send_lag.max()), (600, 1_500));
    assert_eq!((s.service.min(), s.service.max()), (400, 500));
}

/// Connects queued together start one after another: each one's connect
/// time and timeout count from when the driver took it.
#[test]
fn a_connect_counts_from_when_the_driver_takes_it() {
    use std::time::Instant;
    use volley_core::{Engine, ErrorKind, Output};

    let epoch = Instant::now();
    let at = |ms: u64| epoch + Duration::from_millis(ms);
    let mut c = config(2, rps(10.0), ms(100));
    c.connect_timeout = ms(5_000);
    let mut engine = Engine::new(c, get(), epoch);
    // The first connect is taken at once, the second 4 s later (a slow
    // port search, a loop busy with thousands of others).
    let Some(Output::Connect(a)) = engine.poll_output(at(0)) else {
        panic!("a connect")
    };
    let Some(Output::Connect(b)) = engine.poll_output(at(4_000)) else {
        panic!("a connect")
    };
    engine.handle_connected(a, at(1));

    // 5.5 s after the queueing, b has been connecting for 1.5 s only.
    engine.handle_timeout(at(5_500));
    assert_eq!(engine.stats().errors[ErrorKind::ConnectTimeout.index()], 0);
    assert!(!engine.is_ready(), "b is still connecting");
    engine.handle_connected(b, at(5_600));
    assert!(engine.is_ready());
    let s = engine.stats();
    assert_eq!(s.connect.min(), 1_000);
    assert!(
        s.connect.equivalent(s.connect.max(), 1_600_000),
        "max {}",
        s.connect.max()
    );
}
