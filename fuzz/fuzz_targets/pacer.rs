//! The schedule under arbitrary clock steps: `count_before` and `intended`
//! agree and only move forward, and an engine driven by the same steps
//! never sends a request before it is due, nor loses count of one.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
use volley_core::{Config, Engine, Output, Pacer, Rate, RequestSpec, RequestTemplate, Stop};

#[derive(Arbitrary, Debug)]
struct Input {
    milli_rps: u32,
    ramp_up_ms: u16,
    stride: u8,
    phase: u8,
    users: u8,
    /// Nanoseconds between wakeups.
    steps: Vec<u32>,
}

/// `p.count_before(elapsed)`, checked against `intended` around it.
fn count_before(p: &Pacer, elapsed: Duration) -> u64 {
    let n = p.count_before(elapsed);
    assert!(
        n == 0 || p.intended(n - 1) < elapsed,
        "{n} before {elapsed:?}"
    );
    assert!(p.intended(n) >= elapsed, "{n} before {elapsed:?}");
    let near = n.saturating_sub(2)..n + 2;
    assert!(
        near.clone().all(|k| p.intended(k) <= p.intended(k + 1)),
        "{near:?}"
    );
    n
}

/// Drains the engine at `now`, connecting at once and never answering;
/// returns the number of requests sent.
fn drain(engine: &mut Engine, now: Instant) -> u64 {
    let mut sent = 0;
    while let Some(out) = engine.poll_output(now) {
        match out {
            Output::Connect(conn) => engine.handle_connected(conn, now),
            Output::Send(_) => sent += 1,
            Output::Close(_) => {}
        }
    }
    sent
}

fuzz_target!(|input: Input| {
    let milli_rps = u64::from(input.milli_rps.max(1));
    let ramp_up = Duration::from_millis(input.ramp_up_ms.into());
    let stride = u64::from(input.stride % 8 + 1);
    let phase = u64::from(input.phase) % stride;
    let pacer = Pacer::new(milli_rps, ramp_up, stride, phase);
    let mut config = Config::new(usize::from(input.users % 4 + 1), Rate::Fixed { milli_rps });
    (config.ramp_up, config.stride, config.phase) = (ramp_up, stride, phase);
    let spec = RequestSpec {
        method: "GET".into(),
        target: "/".into(),
        ..Default::default()
    };
    let t0 = Instant::now(); // the epoch of virtual time; only Durations are added to it
    let mut engine = Engine::new(config, RequestTemplate::new(&spec).unwrap(), t0);
    drain(&mut engine, t0);
    engine.handle_start(t0);
    let (mut now, mut count, mut sent) = (t0, 0, 0);
    for &step in &input.steps {
        now += Duration::from_nanos(step.into());
        let before = count_before(&pacer, now - t0);
        assert!(
            before >= count,
            "count_before went back from {count} to {before}"
        );
        count = before;
        engine.handle_timeout(now);
        sent += drain(&mut engine, now);
        let due = pacer.count_before(now - t0 + Duration::from_nanos(1));
        assert!(
            sent <= due,
            "{sent} requests sent by {:?}, only {due} due",
            now - t0
        );
    }
    for stop in [Stop::Drain, Stop::Now] {
        engine.handle_stop(now, stop);
        sent += drain(&mut engine, now);
    }
    let s = engine.stats();
    assert!(
        engine.is_finished() && s.identity_holds() && s.sent == sent,
        "{sent} sent, {} scheduled",
        s.scheduled
    );
});
