//! Golden outputs of a fixed run: the text report, the JSON report, the
//! saved result and the HTML page. The expected files live in
//! `cli/tests/golden/`; `VOLLEY_BLESS=1 cargo test -p volley golden`
//! rewrites them after a deliberate change (review the diff).

use std::time::Duration;

use volley_core::{ErrorKind, Second, Stats, TargetStats};

use crate::output::{Summary, html, json, text};
use crate::plan::shard::Shard;
use crate::result::{RunInfo, TargetInfo, saved};

fn fixture() -> (RunInfo, Stats, Vec<crate::plan::threshold::Rule>) {
    let mut s = Stats::new();
    for i in 0..2_000u64 {
        // Two humps, so that the histogram and the percentiles differ.
        let v = if i % 10 == 0 {
            20_000 + i * 7
        } else {
            900 + (i * 37) % 3_000
        };
        s.latency.record(v).unwrap();
        s.service.record(v * 9 / 10).unwrap();
        s.ttfb.record(v * 8 / 10).unwrap();
        s.send_lag.record(10 + i % 90).unwrap();
        s.add_status(
            if i % 100 == 7 {
                503
            } else if i % 250 == 3 {
                404
            } else {
                200
            },
            1,
        );
    }
    for i in 0..20u64 {
        s.connect.record(1_000 + i * 13).unwrap();
        s.tls_handshake.record(3_000 + i * 17).unwrap();
    }
    s.tls_full = 12;
    s.tls_resumed = 8;
    s.completed = 2_000;
    s.failed = 5;
    s.errors[ErrorKind::Timeout.index()] = 3;
    s.errors[ErrorKind::Reset.index()] = 2;
    s.examples.0[ErrorKind::Timeout.index()] = Some("no complete response within 1s".into());
    s.examples.0[ErrorKind::Reset.index()] = Some("Connection reset by peer (os error 104)".into());
    s.examples.0[ErrorKind::Malformed.index()] =
        Some("data <received> while no request was in flight".into());
    s.unfinished = 1;
    s.unsent = 4;
    s.scheduled = 2_010;
    s.sent = 2_006;
    s.bytes_in = 258_000;
    s.bytes_out = 164_000;
    s.connections = 20;
    s.connect_failures = 3;
    s.destinations = vec![("127.0.0.1:18123".into(), 12), ("[::1]:18123".into(), 8)];
    s.retries = 3;
    s.duration = Duration::from_secs(2);
    s.elapsed = Duration::from_millis(2_031);
    s.timeline = vec![
        Second {
            second: 0,
            completed: 1_001,
            errors: 13,
            p50_us: 2_200,
            p99_us: 31_000,
            max_us: 33_991,
            ..Second::default()
        },
        Second {
            second: 1,
            completed: 999,
            errors: 14,
            p50_us: 2_250,
            p99_us: 33_500,
            max_us: 33_993,
            ..Second::default()
        },
    ];
    let info = RunInfo {
        method: "GET".into(),
        url: "https://127.0.0.1:18123/api?a=1&b=<2>".into(),
        duration: Duration::from_secs(2),
        target_rps: Some(1_000.0),
        users: 20,
        threads: 2,
        keep_alive: true,
        protocol: crate::result::HTTP1.into(),
        connections: None,
        timeout: Duration::from_secs(1),
        tls: true,
        insecure: true,
        shard: Some(SHARD),
        stages: Vec::new(),
        targets: Vec::new(),
    };
    let rules = crate::plan::threshold::parse_all(&[
        "p99<250ms".into(),
        "errors<1%".into(),
        "rps>=990".into(),
    ])
    .unwrap();
    (info, s, rules)
}

/// `fixture()` as a run of two targets, one in five requests to `login`:
/// their counts add up to the run's.
fn fixture_with_targets() -> (RunInfo, Stats, Vec<crate::plan::threshold::Rule>) {
    let (mut info, mut s, rules) = fixture();
    let sigfigs = volley_core::stats::target_sigfigs(2);
    let (mut login, mut api) = (TargetStats::new(sigfigs), TargetStats::new(sigfigs));
    for i in 0..2_000u64 {
        let t = if i % 5 == 0 { &mut login } else { &mut api };
        let v = if i % 10 == 0 {
            20_000 + i * 7
        } else {
            900 + (i * 37) % 3_000
        };
        t.latency.record(v).unwrap();
        t.service.record(v * 9 / 10).unwrap();
        t.ttfb.record(v * 8 / 10).unwrap();
        t.add_status(
            if i % 100 == 7 {
                503
            } else if i % 250 == 3 {
                404
            } else {
                200
            },
            1,
        );
        t.completed += 1;
        t.sent += 1;
        t.bytes_in += 129;
        t.bytes_out += 82;
    }
    login.failed = 2;
    login.errors[ErrorKind::Timeout.index()] = 2;
    login.unsent = 4;
    api.failed = 3;
    api.errors[ErrorKind::Timeout.index()] = 1;
    api.errors[ErrorKind::Reset.index()] = 2;
    api.unfinished = 1;
    login.sent += 2;
    api.sent += 4;
    for t in [&mut login, &mut api] {
        t.scheduled = t.completed + t.failed + t.unfinished + t.unsent;
    }
    assert_eq!(login.scheduled + api.scheduled, s.scheduled);
    // Their rows split the run's rows.
    let row = |second, completed, errors, p50_us, p99_us, max_us| Second {
        second,
        completed,
        errors,
        p50_us,
        p99_us,
        max_us,
        ..Second::default()
    };
    login.timeline = vec![
        row(0, 201, 3, 3_900, 33_400, 33_951),
        row(1, 199, 4, 3_890, 33_600, 33_900),
    ];
    api.timeline = vec![
        row(0, 800, 10, 2_350, 3_850, 3_899),
        row(1, 800, 10, 2_400, 3_860, 3_897),
    ];
    s.targets = vec![login, api];
    info.targets = vec![
        TargetInfo {
            name: "login".into(),
            method: "POST".into(),
            url: "https://127.0.0.1:18123/login".into(),
            weight: 1,
        },
        TargetInfo {
            name: "GET /api?a=1&b=<2>".into(),
            method: "GET".into(),
            url: "https://127.0.0.1:18123/api?a=1&b=<2>".into(),
            weight: 4,
        },
    ];
    (info, s, rules)
}

const WALL_START: f64 = 1_764_615_600.25;
const SHARD: Shard = Shard { index: 1, count: 4 };

/// Compares `actual` with the golden file `name` and, when they differ,
/// panics with every changed line (ripgrep's `eqnice!`, as a diff).
fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("VOLLEY_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected != actual {
        panic!(
            "{name} differs from {} (- expected, + actual; VOLLEY_BLESS=1 rewrites it):\n{}",
            path.display(),
            diff(&expected, actual)
        );
    }
}

/// The lines that differ between `a` and `b`, by their longest common
/// subsequence, with a line of context around each change.
fn diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            lines.push(('+', b[j]));
            j += 1;
        } else {
            lines.push(('-', a[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| {
        lines[k.saturating_sub(1)..(k + 2).min(lines.len())]
            .iter()
            .any(|l| l.0 != ' ')
    };
    (0..lines.len())
        .filter(|&k| near_change(k))
        .map(|k| format!("{} {}\n", lines[k].0, lines[k].1))
        .collect()
}

#[test]
fn the_diff_names_the_changed_lines() {
    assert_eq!(
        diff("a\nb\nc\nd\ne\n", "a\nb\nx\nd\ne\n"),
        "  b\n+ x\n- c\n  d\n"
    );
}

#[test]
fn text_report() {
    let (info, stats, rules) = fixture();
    let mut out = Vec::new();
    text::render(&Summary::new(&info, &stats, &rules, WALL_START), &mut out).unwrap();
    golden("report.txt", &String::from_utf8(out).unwrap());
}

#[test]
fn text_report_of_targets() {
    let (info, stats, rules) = fixture_with_targets();
    let mut out = Vec::new();
    text::render(&Summary::new(&info, &stats, &rules, WALL_START), &mut out).unwrap();
    golden("report-targets.txt", &String::from_utf8(out).unwrap());
}

#[test]
fn json_report_of_targets() {
    let (info, stats, rules) = fixture_with_targets();
    let summary = Summary::new(&info, &stats, &rules, WALL_START);
    let text = saved::to_json(&json::document(&summary, false)).unwrap();
    golden(
        "report-targets.json",
        &(String::from_utf8(text).unwrap() + "\n"),
    );
}

#[test]
fn json_report_and_saved_result() {
    let (info, stats, rules) = fixture();
    let summary = Summary::new(&info, &stats, &rules, WALL_START);
    let text = |histograms| {
        String::from_utf8(saved::to_json(&json::document(&summary, histograms)).unwrap()).unwrap()
            + "\n"
    };
    golden("report.json", &text(false));
    golden("saved.json", &text(true));
}

#[test]
fn metrics_exposition() {
    use crate::live::exposition::{View, render};
    let (info, stats, _) = fixture();
    let slots = volley_driver::StatusSlots::default();
    let snapshot = volley_driver::Snapshot::of(&stats, 0, stats.elapsed, true, &slots);
    let text = render(&View {
        snapshot: &snapshot,
        shard: &format!("{}/{}", SHARD.index, SHARD.count),
        target: "GET /api?a=1&b=<2>",
        targets: &[],
        target_rps: info.target_rps,
        achieved_rps: stats.achieved_rps(),
    });
    golden("metrics.txt", &text);
}

/// With two targets, the request counters have a series for each.
#[test]
fn metrics_exposition_with_targets() {
    use crate::live::exposition::{View, render};
    let (info, stats, _) = fixture_with_targets();
    let slots = volley_driver::StatusSlots::default();
    let snapshot = volley_driver::Snapshot::of(&stats, 0, stats.elapsed, true, &slots);
    let names: Vec<String> = info.targets.iter().map(|t| t.name.clone()).collect();
    let text = render(&View {
        snapshot: &snapshot,
        shard: &format!("{}/{}", SHARD.index, SHARD.count),
        target: "*",
        targets: &names,
        target_rps: info.target_rps,
        achieved_rps: stats.achieved_rps(),
    });
    golden("metrics-targets.txt", &text);
}

#[test]
fn html_page() {
    let (info, stats, rules) = fixture();
    golden(
        "report.html",
        &html::page(&Summary::new(&info, &stats, &rules, WALL_START)),
    );
}
