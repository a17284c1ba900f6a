//! Many requests in one run (SPEC §10), in virtual time: the weighted mix,
//! per-target accounting, templates and response checks.

use std::sync::Arc;
use std::time::Duration;

use volley_core::{
    Config, Data, ErrorKind, Expect, Mix, Needle, Order, Rate, RequestSpec, RequestTemplate,
    Requests, StatusSet, Target, TargetStats,
};
use volley_tests::fake_server::{Reply, Script};
use volley_tests::sim::{Sim, run_with};
use volley_tests::{assert_accounted, split_three_ways};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn spec(method: &str, target: &str, body: &str) -> RequestSpec {
    RequestSpec {
        method: method.into(),
        target: target.into(),
        host: "sim.test".into(),
        body: body.as_bytes().to_vec(),
        ..RequestSpec::default()
    }
}

fn target(path: &str) -> Target {
    Target {
        template: RequestTemplate::new(&spec("GET", path, "")).unwrap(),
        expect: Expect::default(),
    }
}

fn requests(targets: Vec<Target>, weights: &[u32]) -> Requests {
    Requests::new(targets, Mix::new(weights, Order::Smooth).unwrap(), 0, None)
}

fn paced(users: usize, rps: f64, secs: u64) -> Config {
    let mut c = Config::new(
        users,
        Rate::Fixed {
            milli_rps: (rps * 1000.0) as u64,
        },
    );
    c.duration = Duration::from_secs(secs);
    c
}

/// Each target's identity, and the targets adding up to the run.
fn assert_targets_add_up(s: &volley_core::Stats) {
    assert_accounted(s);
    for (i, t) in s.targets.iter().enumerate() {
        assert!(
            t.identity_holds(),
            "target {i}: scheduled {} != completed {} + failed {} + unfinished {} + unsent {}",
            t.scheduled,
            t.completed,
            t.failed,
            t.unfinished,
            t.unsent
        );
    }
    let sum = |f: fn(&TargetStats) -> u64| s.targets.iter().map(f).sum::<u64>();
    assert_eq!(sum(|t| t.scheduled), s.scheduled);
    assert_eq!(sum(|t| t.sent), s.sent);
    assert_eq!(sum(|t| t.completed), s.completed);
    assert_eq!(sum(|t| t.failed), s.failed);
    assert_eq!(sum(|t| t.unfinished), s.unfinished);
    assert_eq!(sum(|t| t.unsent), s.unsent);
    assert_eq!(sum(|t| t.latency.len()), s.latency.len());
    // Their timelines: each second's rows add up to the run's row.
    for t in &s.targets {
        assert!(t.completed + t.failed == 0 || !t.timeline.is_empty());
        for r in &t.timeline {
            assert!(s.timeline.iter().any(|run| run.second == r.second));
        }
    }
    for row in &s.timeline {
        let of_second = s
            .targets
            .iter()
            .filter_map(|t| t.timeline.iter().find(|r| r.second == row.second));
        let (completed, errors, failed) = of_second.fold((0, 0, 0), |(c, e, f), r| {
            (c + r.completed, e + r.errors, f + r.failed)
        });
        assert_eq!(
            (completed, errors, failed),
            (row.completed, row.errors, row.failed),
            "second {}",
            row.second
        );
    }
    // The targets' latencies together are the run's (same resolution).
    let mut all = s.targets[0].clone();
    for t in &s.targets[1..] {
        all.merge(t);
    }
    for q in [0.0, 0.5, 0.99, 1.0] {
        assert_eq!(
            all.latency.value_at_quantile(q),
            s.latency.value_at_quantile(q),
            "latency at {q}"
        );
    }
}

/// Answers with the request's path as the status: `/404` gets a 404.
fn status_from_path() -> Script {
    Script::ok(ms(2)).responder(|r| {
        let path = r.line.split(' ').nth(1).unwrap_or("/");
        let status: u16 = path[1..].parse().unwrap_or(200);
        Some(Reply::send(format!(
            "HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok"
        )))
    })
}

#[test]
fn weights_three_to_one_over_ten_thousand_requests_give_7500_and_2500() {
    let mut sim = Sim::new(
        paced(8, 1000.0, 10),
        requests(vec![target("/200"), target("/201")], &[3, 1]),
        status_from_path(),
    );
    let s = sim.run_to_end().clone();
    assert_eq!(s.scheduled, 10_000);
    assert_eq!(
        (s.targets[0].completed, s.targets[1].completed),
        (7_500, 2_500)
    );
    assert_eq!(s.targets[0].status, [(200, 7_500)]);
    assert_eq!(s.targets[1].status, [(201, 2_500)]);
    assert_targets_add_up(&s);
}

/// A stall leaves requests in flight and in the backlog at the end: the
/// identity holds for each target, and the targets add up to the run.
#[test]
fn a_stall_leaves_unsent_and_unfinished_counted_per_target() {
    let script = status_from_path().stall(ms(1_500)..ms(60_000));
    let mut config = paced(4, 500.0, 2);
    config.timeout = Duration::from_secs(30);
    let mut sim = Sim::new(
        config,
        requests(
            vec![target("/200"), target("/500"), target("/204")],
            &[5, 3, 2],
        ),
        script,
    );
    let s = sim.run_to_end().clone();
    assert!(
        s.unsent > 0 && s.unfinished > 0,
        "unsent {}, unfinished {}",
        s.unsent,
        s.unfinished
    );
    assert_targets_add_up(&s);
    assert_eq!(s.targets[1].non_success(), s.targets[1].completed);
}

/// Threads split the schedule by index, so they split the mix exactly:
/// three engines merged count what one engine counts, per target.
#[test]
fn engines_split_the_mix_exactly() {
    let reqs = || {
        requests(
            vec![target("/200"), target("/201"), target("/202")],
            &[7, 2, 1],
        )
    };
    let whole = run_with(paced(6, 900.0, 3), reqs(), status_from_path())
        .stats()
        .clone();
    let mut merged: Option<volley_core::Stats> = None;
    for part in paced(6, 900.0, 3).split(3) {
        let s = run_with(part, reqs(), status_from_path()).stats().clone();
        match &mut merged {
            Some(m) => m.merge(&s),
            None => merged = Some(s),
        }
    }
    let merged = merged.unwrap();
    assert_targets_add_up(&merged);
    for (a, b) in whole.targets.iter().zip(&merged.targets) {
        assert_eq!(
            (a.scheduled, a.completed, &a.status),
            (b.scheduled, b.completed, &b.status)
        );
    }
}

#[test]
fn an_unexpected_status_fails_its_request_only_where_expected() {
    let mut strict = target("/404");
    strict.expect.status = Some(StatusSet::from_ranges(&[(200, 299)]));
    let loose = target("/404");
    let mut sim = Sim::new(
        paced(2, 100.0, 1),
        requests(vec![strict, loose], &[1, 1]),
        status_from_path(),
    );
    let s = sim.run_to_end().clone();
    assert_targets_add_up(&s);
    assert_eq!(
        (s.targets[0].failed, s.targets[0].completed),
        (50, 0),
        "the strict target's 404s fail"
    );
    assert_eq!(s.targets[0].errors[ErrorKind::UnexpectedStatus.index()], 50);
    assert_eq!(
        (s.targets[1].failed, s.targets[1].completed),
        (0, 50),
        "the other's complete"
    );
    // The connection stays in use: a failed check is not a broken
    // connection.
    assert_eq!(s.connections, 2);
}

/// The body check sees the body however the reads split it, including
/// inside chunked framing, and never a byte of the head or the framing.
#[test]
fn the_body_check_holds_across_every_split() {
    let chunked: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhell\r\n7\r\no world\r\n0\r\n\r\n";
    let length: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
    for (response, text, found) in [
        (chunked, "lo wo", true),
        (chunked, "hello world", true),
        (chunked, "4\r\nhell", false), // framing is not content
        (length, "o w", true),
        (length, "Content-Length", false), // the head is not content
        (length, "world!", false),
    ] {
        for pieces in split_three_ways(response.len()) {
            let mut t = target("/");
            t.expect.body = Needle::new(text.as_bytes());
            let mut config = Config::new(1, Rate::Max);
            config.max_requests = Some(3);
            let script = Script::new(response, ms(1)).pieces(pieces.clone());
            let sim = run_with(config, requests(vec![t], &[1]), script);
            let s = sim.stats();
            let mismatches = s.errors[ErrorKind::BodyMismatch.index()];
            assert_eq!(
                (s.completed, mismatches),
                if found { (3, 0) } else { (0, 3) },
                "{text:?} in {:?}, {pieces:?}",
                String::from_utf8_lossy(response)
            );
            assert_targets_add_up(s);
        }
    }
}

/// A templated request is rendered from its index for each request; the
/// Content-Length follows the rendered body; the same run twice sends the
/// same bytes.
#[test]
fn templates_render_per_request_and_reproducibly() {
    let data = Arc::new(Data::new(
        vec!["id".into(), "name".into()],
        vec![
            vec!["7".into(), "ann".into()],
            vec!["1234".into(), "bob".into()],
        ],
        false,
    ));
    let mut s = spec(
        "POST",
        "/item/{{seq}}?r={{rand:1-6}}",
        r#"{"id":{{row.id}},"who":"{{row.name}}"}"#,
    );
    s.headers = vec![("X-Request".into(), "{{uuid}}".into())];
    let template = RequestTemplate::with_data(&s, Some(&data)).unwrap();
    assert!(template.is_templated());
    let sent = |seed: u64| {
        let reqs = Requests::new(
            vec![Target {
                template: template.clone(),
                expect: Expect::default(),
            }],
            Mix::single(),
            seed,
            Some(Arc::clone(&data)),
        );
        let mut config = Config::new(2, Rate::Max);
        config.max_requests = Some(20);
        let mut sim = Sim::new(config, reqs, Script::ok(ms(1)));
        sim.server.received = Some(Vec::new());
        sim.run_to_end();
        let mut all = sim.server.received.take().unwrap();
        all.sort();
        all
    };
    let first = sent(1);
    assert_eq!(first.len(), 20);
    assert_eq!(first, sent(1), "the same seed sends the same requests");
    assert_ne!(first, sent(2), "another seed draws other values");
    for request in &first {
        let text = String::from_utf8(request.clone()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let k: u64 = head[11..].split('?').next().unwrap().parse().unwrap();
        let row = if k.is_multiple_of(2) {
            ("7", "ann")
        } else {
            ("1234", "bob")
        };
        assert_eq!(body, format!(r#"{{"id":{},"who":"{}"}}"#, row.0, row.1));
        assert!(
            text.contains(&format!("\r\nContent-Length: {}\r\n\r\n", body.len())),
            "{text}"
        );
        let uuid = head.split("X-Request: ").nth(1).unwrap();
        assert_eq!(uuid.split("\r\n").next().unwrap().len(), 36);
    }
}

/// Two origins: users are divided by the origins' share of the schedule,
/// and a stalled origin backs up its own requests only, while the other's
/// run on schedule.
#[test]
fn each_origin_has_its_own_users_and_backlog() {
    let reqs = requests(vec![target("/200"), target("/stall")], &[3, 1]).with_origins(vec![0, 1]);
    assert_eq!(reqs.users_per_origin(8, 1, 0), [6, 2]);
    assert_eq!(reqs.users_per_origin(2, 1, 0), [1, 1]);
    let script = Script::ok(ms(2)).responder(|r| {
        (!r.line.contains("/stall")).then(|| Reply::send(volley_tests::fake_server::OK.to_vec()))
    });
    let mut config = paced(8, 400.0, 2);
    config.timeout = Duration::from_secs(60);
    let mut sim = Sim::new(config, reqs, script);
    for u in 0..8 {
        let origin = sim.engine.origin_of(volley_core::ConnId(u));
        assert_eq!(origin, usize::from(u >= 6), "user {u}");
    }
    let s = sim.run_to_end().clone();
    assert_targets_add_up(&s);
    let (a, b) = (&s.targets[0], &s.targets[1]);
    assert_eq!((a.scheduled, a.completed, a.unsent), (600, 600, 0));
    assert_eq!(
        (b.scheduled, b.unfinished, b.unsent),
        (200, 2, 198),
        "the stalled origin's target"
    );
    // Origin 0's requests left on time although origin 1's backed up.
    assert!(
        (2_000..5_000).contains(&a.latency.min()) && a.latency.max() < 5_000,
        "{} to {}",
        a.latency.min(),
        a.latency.max()
    );
}

/// Without pacing nothing waits: two origins at `--rps max` leave no
/// request unsent, whatever their places in the schedule at the end.
#[test]
fn at_max_rate_two_origins_leave_nothing_unsent() {
    let reqs = requests(vec![target("/200"), target("/201")], &[5, 1]).with_origins(vec![0, 1]);
    let slow_b = Script::ok(ms(1)).responder(|r| {
        let reply = Reply::send(volley_tests::fake_server::OK.to_vec());
        Some(if r.line.contains("/201") {
            reply.after(ms(20))
        } else {
            reply
        })
    });
    let mut config = Config::new(4, Rate::Max);
    config.duration = Duration::from_secs(1);
    let mut sim = Sim::new(config, reqs, slow_b);
    let s = sim.run_to_end().clone();
    assert_targets_add_up(&s);
    assert_eq!(
        (s.unsent, s.targets[0].unsent, s.targets[1].unsent),
        (0, 0, 0)
    );
    assert!(
        s.targets[0].completed > 10 * s.targets[1].completed,
        "{} and {} completed",
        s.targets[0].completed,
        s.targets[1].completed
    );
}

/// Threads split the schedule by index, so a thread may never meet an
/// origin: weights 1:1 over two engines give each engine one origin only.
/// Each engine gives its users to the origins it sends to, and the merged
/// counts are the whole run's.
#[test]
fn an_engine_whose_share_never_meets_an_origin_runs() {
    let reqs = || requests(vec![target("/200"), target("/201")], &[1, 1]).with_origins(vec![0, 1]);
    assert_eq!(reqs().users_per_origin(5, 2, 0), [5, 0]);
    assert_eq!(reqs().users_per_origin(5, 2, 1), [0, 5]);
    let mut merged: Option<volley_core::Stats> = None;
    for part in paced(10, 100.0, 2).split(2) {
        let s = run_with(part, reqs(), status_from_path()).stats().clone();
        match &mut merged {
            Some(m) => m.merge(&s),
            None => merged = Some(s),
        }
    }
    let s = merged.unwrap();
    assert_targets_add_up(&s);
    assert_eq!((s.targets[0].completed, s.targets[1].completed), (100, 100));
}
