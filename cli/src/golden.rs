//! Golden outputs of a fixed run: the text report, the JSON report, the
//! saved result and the HTML page. The expected files live in
//! `cli/tests/golden/`; `VOLLEY_BLESS=1 cargo test -p volley golden`
//! rewrites them after a deliberate change (review the diff).

use std::time::Duration;

use serde_json::json;
use volley_core::{ErrorKind, Second, Stats};

use crate::report::RunInfo;
use crate::shard::Shard;

fn fixture() -> (RunInfo, Stats, Vec<crate::threshold::Rule>) {
    let mut s = Stats::new();
    for i in 0..2_000u64 {
        // Two humps, so that the histogram and the percentiles differ.
        let v = if i % 10 == 0 { 20_000 + i * 7 } else { 900 + (i * 37) % 3_000 };
        s.latency.record(v).unwrap();
        s.service.record(v * 9 / 10).unwrap();
        s.ttfb.record(v * 8 / 10).unwrap();
        s.send_lag.record(10 + i % 90).unwrap();
        s.add_status(if i % 100 == 7 { 503 } else if i % 250 == 3 { 404 } else { 200 }, 1);
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
    s.examples.0[ErrorKind::Malformed.index()] = Some("data <received> while no request was in flight".into());
    s.unfinished = 1;
    s.unsent = 4;
    s.scheduled = 2_010;
    s.sent = 2_006;
    s.bytes_in = 258_000;
    s.bytes_out = 164_000;
    s.connections = 20;
    s.connect_failures = 3;
    s.duration = Duration::from_secs(2);
    s.elapsed = Duration::from_millis(2_031);
    s.timeline = vec![
        Second { second: 0, completed: 1_001, errors: 13, p50_us: 2_200, p99_us: 31_000, max_us: 33_991 },
        Second { second: 1, completed: 999, errors: 14, p50_us: 2_250, p99_us: 33_500, max_us: 33_993 },
    ];
    let info = RunInfo {
        method: "GET".into(),
        url: "https://127.0.0.1:18123/api?a=1&b=<2>".into(),
        duration: Duration::from_secs(2),
        target_rps: Some(1_000.0),
        users: 20,
        threads: 2,
        keep_alive: true,
        timeout: Duration::from_secs(1),
        tls: true,
        insecure: true,
    };
    let rules = crate::threshold::parse_all(&["p99<250ms".into(), "errors<1%".into(), "rps>=990".into()]).unwrap();
    (info, s, rules)
}

const WALL_START: f64 = 1_764_615_600.25;
const SHARD: Shard = Shard { index: 1, count: 4 };

fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("VOLLEY_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected != actual {
        let mut diff = String::new();
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                diff.push_str(&format!("line {}:\n  expected: {e}\n  actual:   {a}\n", i + 1));
            }
        }
        panic!(
            "{name} differs from {} ({} expected lines, {} actual):\n{diff}\n--- actual ---\n{actual}",
            path.display(),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

#[test]
fn text_report() {
    let (info, stats, rules) = fixture();
    let verdicts = crate::threshold::evaluate(&rules, &stats);
    let mut out = Vec::new();
    crate::report::render_text(&info, &stats, &mut out).unwrap();
    crate::threshold::render_text(&verdicts, &mut out).unwrap();
    golden("report.txt", &String::from_utf8(out).unwrap());
}

#[test]
fn json_report_and_saved_result() {
    let (info, stats, rules) = fixture();
    let verdicts = crate::threshold::evaluate(&rules, &stats);
    let mut v = crate::report::to_json(&info, &stats);
    v["thresholds"] = crate::threshold::to_json(&verdicts);
    v["run"]["shard"] = json!({ "index": SHARD.index, "count": SHARD.count });
    golden("report.json", &(serde_json::to_string_pretty(&v).unwrap() + "\n"));
    crate::saved::add_saved_fields(&mut v, &stats, WALL_START);
    golden("saved.json", &(serde_json::to_string_pretty(&v).unwrap() + "\n"));
}

#[test]
fn html_page() {
    let (info, stats, rules) = fixture();
    let verdicts = crate::threshold::evaluate(&rules, &stats);
    golden("report.html", &crate::html::render_html(&info, &stats, &verdicts, WALL_START, Some(SHARD)));
}
