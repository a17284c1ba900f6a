//! Results that last and scale out, through the binary: `--threshold` and
//! its exit codes, `--save` and `volley merge`, and `--shard I/N`. Every
//! run sends to a server on 127.0.0.1 for about a second.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use serde_json::Value;
use support::{json, text, volley, volley_env};
use volley_server::{RunningServer, ServeConfig, Server};

/// 9 of 10 responses 200, 1 of 10 503, spread evenly.
fn target() -> RunningServer {
    Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        statuses: vec![(200, 9), (503, 1)],
        ..ServeConfig::default()
    })
    .unwrap()
}

/// A fresh directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volley-results-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn decode(encoded: &Value) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_str().unwrap())
        .unwrap();
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap()
}

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn thresholds_decide_the_exit_code() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let run = |rules: &[&str]| {
        let mut args = vec![
            url.as_str(),
            "--rps",
            "200",
            "-c",
            "4",
            "-d",
            "1",
            "-q",
            "-o",
            "json",
        ];
        for r in rules {
            args.extend(["--threshold", r]);
        }
        volley(&args)
    };

    let out = run(&["p99 < 10s", "errors<=25%", "rps>=1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let report = json(&out);
    let t = report["thresholds"].as_array().unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(t[0]["rule"], "p99<10s");
    assert!(t.iter().all(|r| r["passed"] == true), "{t:?}");
    // The value of a latency rule is the report's own figure, in µs.
    assert_eq!(t[0]["value"], report["latency_us"]["p99"]);
    assert_eq!(t[0]["unit"], "us");
    assert_eq!(
        t[2]["value"].as_f64(),
        report["requests"]["achieved_rps"].as_f64()
    );

    // 1 in 10 responses is a 503: errors<1% fails, the rest pass; exit 3.
    let out = run(&["p99<10s", "errors<1%"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report = json(&out);
    let t = report["thresholds"].as_array().unwrap();
    assert_eq!(
        (t[0]["passed"].as_bool(), t[1]["passed"].as_bool()),
        (Some(true), Some(false))
    );
    let share = t[1]["value"].as_f64().unwrap();
    let completed = u(&report["requests"]["completed"]);
    let ended = completed + u(&report["requests"]["failed"]);
    let errors = u(&report["status"]["503"]) + u(&report["requests"]["failed"]);
    assert!(
        (share - 100.0 * errors as f64 / ended as f64).abs() < 1e-3,
        "{share}"
    );
    assert!((5.0..=15.0).contains(&share), "{share}");
    assert_eq!(t[1]["unit"], "%");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("volley: 1 of 2 thresholds failed: errors<1% (measured "),
        "{err}"
    );

    // The text report lists every rule.
    let out = volley(&[
        &url,
        "--rps",
        "100",
        "-c",
        "2",
        "-d",
        "1",
        "-q",
        "--threshold",
        "max<1ms",
        "--threshold",
        "errors<=1000",
    ]);
    let report = text(&out.stdout);
    let section = report
        .split("\nThresholds\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no Thresholds section:\n{report}"));
    assert!(
        section.contains("passed  errors<=1000  measured "),
        "{section}"
    );
    assert!(section.contains("max<1ms"), "{section}");
    // max<1ms may pass on a fast machine; the exit code follows the verdict.
    let failed = section.contains("FAILED");
    assert_eq!(
        out.status.code(),
        Some(if failed { 3 } else { 0 }),
        "{report}"
    );
}

#[test]
fn no_completed_request_beats_a_failed_threshold() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let out = volley(&[
        &url,
        "--rps",
        "20",
        "-c",
        "2",
        "-d",
        "500ms",
        "-q",
        "--threshold",
        "rps>=1000",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("FAILED  rps>=1000"));
}

#[test]
fn bad_rules_shards_and_files_are_refused_with_exit_2() {
    let dir = scratch("refusals");
    let not_json = dir.join("not.json");
    std::fs::write(&not_json, "hello").unwrap();
    let url = "http://127.0.0.1:1/";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![url, "--rps", "1", "-c", "1", "--threshold", "p99<250"],
            "--threshold \"p99<250\": a latency needs a unit",
        ),
        (
            vec![url, "--rps", "1", "-c", "1", "--threshold", "p99=1ms"],
            "--threshold \"p99=1ms\"",
        ),
        (
            vec![url, "--rps", "1", "-c", "1", "--threshold", "errors<x"],
            "--threshold",
        ),
        (
            vec![url, "--rps", "1", "-c", "4", "--shard", "4/4"],
            "--shard \"4/4\"",
        ),
        (
            vec![url, "--rps", "1", "-c", "4", "--shard", "auto/4"],
            "JOB_COMPLETION_INDEX is not set",
        ),
        (
            vec![url, "--rps", "1", "-c", "2", "--shard", "0/4"],
            "at least 4 users",
        ),
        (
            vec![
                url,
                "--rps",
                "1",
                "-c",
                "1",
                "--save",
                "/no/such/dir/r.json",
            ],
            "--save",
        ),
        (
            vec!["merge", "/no/such/result.json"],
            "merge \"/no/such/result.json\": cannot read it",
        ),
        (
            vec!["merge", path(&not_json)],
            "not a result saved by volley --save",
        ),
        (vec!["merge"], "RESULT.json"),
    ];
    for (args, expected) in cases {
        let out = volley(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("volley: ") && err.contains(expected),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = volley_env(
        &[url, "--rps", "1", "-c", "4", "--shard", "auto/4"],
        Some(("JOB_COMPLETION_INDEX", "9")),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("JOB_COMPLETION_INDEX=\"9\""));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_failed_save_still_prints_the_report_and_exits_1() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    // /dev/full accepts the open and fails the write (ENOSPC).
    let out = volley(&[
        &url,
        "--rps",
        "50",
        "-c",
        "2",
        "-d",
        "500ms",
        "-q",
        "--save",
        "/dev/full",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("Status codes"));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("volley: --save \"/dev/full\": cannot write the result"),
        "{err}"
    );
}

const HISTOGRAMS: [&str; 6] = [
    "latency",
    "service",
    "ttfb",
    "connect",
    "tls_handshake",
    "send_lag",
];

#[test]
fn saved_results_merge_exactly() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let dir = scratch("merge");
    let (a, b, m) = (
        dir.join("a.json"),
        dir.join("b.json"),
        dir.join("merged.json"),
    );
    let (ra, rb) = std::thread::scope(|s| {
        let ra = s.spawn(|| {
            volley(&[
                &url,
                "--rps",
                "200",
                "-c",
                "4",
                "-d",
                "1",
                "-q",
                "-o",
                "json",
                "--save",
                path(&a),
            ])
        });
        let rb = s.spawn(|| {
            volley(&[
                &url,
                "--rps",
                "100",
                "-c",
                "2",
                "-d",
                "1",
                "-q",
                "-o",
                "json",
                "--save",
                path(&b),
            ])
        });
        (ra.join().unwrap(), rb.join().unwrap())
    });
    assert_eq!((ra.status.code(), rb.status.code()), (Some(0), Some(0)));
    let (sa, sb) = (read(&a), read(&b));

    // The saved file is the JSON report plus the histograms: the run's,
    // and each second's.
    let mut whole = sa.clone();
    whole
        .as_object_mut()
        .unwrap()
        .remove("histograms")
        .expect("histograms in the saved file");
    for row in whole["timeline"].as_array_mut().unwrap() {
        let row = row.as_object_mut().unwrap();
        assert!(
            row.remove("latency_histogram").is_some() && row.remove("service_histogram").is_some(),
            "{row:?}"
        );
    }
    assert_eq!(
        json(&ra),
        whole,
        "the saved file without its histograms is the report"
    );
    assert_eq!(sa["format"], "volley-result");
    assert_eq!(sa["version"], 2);
    let start = sa["wall_start_unix_s"].as_f64().unwrap();
    assert!(start > 1.6e9, "{start}");
    for row in sa["timeline"].as_array().unwrap() {
        let expected = start + row["second"].as_f64().unwrap();
        assert!(
            (row["unix_s"].as_f64().unwrap() - expected).abs() < 1e-3,
            "{row}"
        );
    }

    let out = volley(&[
        "merge",
        path(&a),
        path(&b),
        "-o",
        "json",
        "--save",
        path(&m),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let merged = json(&out);

    for key in [
        "scheduled",
        "sent",
        "completed",
        "failed",
        "unfinished",
        "unsent",
    ] {
        assert_eq!(
            u(&merged["requests"][key]),
            u(&sa["requests"][key]) + u(&sb["requests"][key]),
            "{key}"
        );
    }
    assert_eq!(u(&merged["requests"]["scheduled"]), 300);
    for (section, key) in [
        ("bytes", "received"),
        ("bytes", "sent"),
        ("connections", "opened"),
        ("connections", "failed_attempts"),
        ("connections", "retried"),
    ] {
        assert_eq!(
            u(&merged[section][key]),
            u(&sa[section][key]) + u(&sb[section][key]),
            "{section}.{key}"
        );
    }
    for section in ["status", "errors"] {
        let keys: std::collections::BTreeSet<&String> = sa[section]
            .as_object()
            .unwrap()
            .keys()
            .chain(sb[section].as_object().unwrap().keys())
            .collect();
        assert_eq!(
            merged[section].as_object().unwrap().len(),
            keys.len(),
            "{section}"
        );
        for k in keys {
            let n = |v: &Value| v[section].get(k.as_str()).map_or(0, u);
            assert_eq!(n(&merged), n(&sa) + n(&sb), "{section}.{k}");
        }
    }
    assert_eq!(merged["run"]["target_rps"].as_f64(), Some(300.0));
    assert_eq!(u(&merged["run"]["users"]), 6);
    assert_eq!(
        u(&merged["run"]["threads"]),
        u(&sa["run"]["threads"]) + u(&sb["run"]["threads"])
    );
    let windows = [&sa, &sb].map(|v| v["requests"]["window_s"].as_f64().unwrap());
    assert_eq!(
        merged["requests"]["window_s"].as_f64(),
        Some(windows[0].max(windows[1]))
    );

    // Decoding both latency histograms and adding them by hand gives the
    // merged report's figures.
    let mut sum = decode(&sa["histograms"]["latency"]);
    sum.add(decode(&sb["histograms"]["latency"])).unwrap();
    let lat = &merged["latency_us"];
    assert_eq!(u(&lat["count"]), sum.len());
    assert_eq!(sum.len(), u(&merged["requests"]["completed"]));
    for (key, p) in [
        ("p50", 50.0),
        ("p90", 90.0),
        ("p95", 95.0),
        ("p99", 99.0),
        ("p99_9", 99.9),
    ] {
        assert_eq!(u(&lat[key]), sum.value_at_percentile(p), "{key}");
    }
    assert_eq!((u(&lat["min"]), u(&lat["max"])), (sum.min(), sum.max()));
    // And the merged file holds exactly that sum, for every histogram.
    let sm = read(&m);
    for name in HISTOGRAMS {
        let mut sum = decode(&sa["histograms"][name]);
        sum.add(decode(&sb["histograms"][name])).unwrap();
        let merged = decode(&sm["histograms"][name]);
        assert_eq!(merged.len(), sum.len(), "{name}");
        assert!(
            merged
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .eq(sum
                    .iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value())))
        );
    }
    // The timelines line up on wall-clock seconds: both runs overlapped,
    // so every completion is in the merged timeline once.
    let rows = merged["timeline"].as_array().unwrap();
    let in_rows: u64 = rows.iter().map(|r| u(&r["completed"])).sum();
    assert_eq!(in_rows, u(&merged["requests"]["completed"]));
    assert_eq!(
        sm["wall_start_unix_s"].as_f64(),
        Some(start.min(sb["wall_start_unix_s"].as_f64().unwrap()))
    );

    // Merging the merged file again changes nothing; thresholds apply too.
    let again = volley(&["merge", path(&m), "-o", "json", "--threshold", "errors<1%"]);
    assert_eq!(again.status.code(), Some(3));
    let again = json(&again);
    assert_eq!(again["requests"], merged["requests"]);
    assert_eq!(again["latency_us"], merged["latency_us"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn four_shards_make_the_single_schedule() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let dir = scratch("shards");
    let base = [
        url.as_str(),
        "--rps",
        "400",
        "-c",
        "8",
        "-d",
        "1",
        "-q",
        "-o",
        "json",
    ];

    // The four shards run at once, as four pods would; shard 3 reads its
    // index from the environment, as in a Kubernetes Indexed Job.
    let files: Vec<PathBuf> = (0..4)
        .map(|i| dir.join(format!("shard-{i}.json")))
        .collect();
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(i, file)| {
                let base = &base;
                s.spawn(move || {
                    let shard = if i == 3 {
                        "auto/4".to_string()
                    } else {
                        format!("{i}/4")
                    };
                    let log = file.with_extension("csv");
                    let mut args = base.to_vec();
                    args.extend(["--shard", &shard, "--save", path(file), "--log", path(&log)]);
                    volley_env(&args, (i == 3).then_some(("JOB_COMPLETION_INDEX", "3")))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let single = volley(&base);
    assert_eq!(single.status.code(), Some(0), "{}", text(&single.stderr));
    let single = json(&single);

    // Each process schedules its own indices i, i+4, i+8, ... whose due
    // time falls within --duration of its own t0, and a run that ends
    // normally measures exactly --duration. So the counts do not depend on
    // when each process started: the four shards schedule exactly what the
    // single process does (400 = 400 req/s × 1 s), 100 each. Only the
    // interleaving in real time depends on how closely their t0s agree,
    // which separate processes match only approximately.
    let mut total = 0;
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(
            out.status.code(),
            Some(0),
            "shard {i}: {}",
            text(&out.stderr)
        );
        let r = json(out);
        assert_eq!(
            r["run"]["shard"],
            serde_json::json!({ "index": i, "count": 4 })
        );
        assert_eq!(r["run"]["target_rps"].as_f64(), Some(100.0), "shard {i}");
        assert_eq!(u(&r["run"]["users"]), 2, "shard {i}");
        assert_eq!(u(&r["requests"]["scheduled"]), 100, "shard {i}");
        let q = &r["requests"];
        assert_eq!(
            u(&q["scheduled"]),
            u(&q["completed"]) + u(&q["failed"]) + u(&q["unfinished"]) + u(&q["unsent"])
        );
        total += u(&r["requests"]["scheduled"]);
    }
    assert_eq!(u(&single["requests"]["scheduled"]), 400);
    assert_eq!(total, u(&single["requests"]["scheduled"]));

    let mut args = vec!["merge", "-o", "json"];
    args.extend(files.iter().map(|f| path(f)));
    let out = volley(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        out.stderr.is_empty(),
        "no note about missing shards: {}",
        text(&out.stderr)
    );
    let merged = json(&out);
    assert_eq!(u(&merged["requests"]["scheduled"]), 400);
    assert_eq!(merged["run"]["target_rps"].as_f64(), Some(400.0));
    assert_eq!(u(&merged["run"]["users"]), 8);

    // The shards' --log files together: every index of the one schedule
    // exactly once, due at index × 2.5 ms (400 req/s), so their arrival
    // times interleave evenly; and the merged percentiles equal those of
    // the concatenated logs' latencies.
    let mut due: Vec<(u64, u64)> = Vec::new();
    let mut from_logs = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for (i, file) in files.iter().enumerate() {
        let csv = std::fs::read_to_string(file.with_extension("csv")).unwrap();
        for line in csv.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (index, intended): (u64, u64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
            assert_eq!(
                index % 4,
                i as u64,
                "shard {i} logged another shard's request: {line}"
            );
            due.push((index, intended));
            if !f[6].is_empty() {
                from_logs.saturating_record(f[4].parse().unwrap());
            }
        }
    }
    due.sort();
    assert_eq!(due.len(), 400);
    for (k, (index, intended)) in due.iter().enumerate() {
        assert_eq!((*index, *intended), (k as u64, k as u64 * 2500));
    }
    assert_eq!(from_logs.len(), u(&merged["requests"]["completed"]));
    for (key, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
        let logged = from_logs.value_at_percentile(p);
        let reported = u(&merged["latency_us"][key]);
        assert!(
            from_logs.equivalent(logged, reported),
            "{key}: logs {logged} µs, merge {reported} µs"
        );
    }

    // Three of four: merged, with a note that one is missing.
    let out = volley(&["merge", path(&files[0]), path(&files[1]), path(&files[2])]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("shards 3 of 4 are missing"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `--stages` (SPEC §12): the shape's integral is the schedule, exactly,
/// split exactly across threads and across shards, whose merge keeps the
/// shape; each second carries its target rate.
#[test]
fn stages_schedule_exactly_across_threads_and_shards() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let dir = scratch("stages");
    // Up to 1,000 req/s in 1 s (500), hold 1 s (1,000), down to 0 in 1 s (500).
    let base = [
        url.as_str(),
        "--stages",
        "1s:1000,1s:1000,1s:0",
        "-c",
        "8",
        "-q",
        "-o",
        "json",
    ];
    let mut two_threads = base.to_vec();
    two_threads.extend(["--threads", "2"]);
    let whole = volley(&two_threads);
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole.stderr));
    let whole = json(&whole);
    assert_eq!(
        whole["requests"]["scheduled"], 2000,
        "{}",
        whole["requests"]
    );
    assert_eq!(whole["run"]["duration_s"], 3.0);
    assert_eq!(
        whole["run"]["stages"][1],
        serde_json::json!({"duration_s": 1.0, "rps": 1000.0})
    );
    let targets: Vec<f64> = whole["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target_rps"].as_f64().unwrap())
        .collect();
    assert_eq!(
        targets,
        [500.0, 1000.0, 500.0],
        "the average target of each second"
    );

    let files: Vec<PathBuf> = (0..4)
        .map(|i| dir.join(format!("stage-shard-{i}.json")))
        .collect();
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(i, file)| {
                let base = &base;
                s.spawn(move || {
                    let shard = format!("{i}/4");
                    let mut args = base.to_vec();
                    args.extend(["--shard", &shard, "--save", path(file)]);
                    volley(&args)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outs {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(
            json(out)["run"]["stages"][1]["rps"],
            250.0,
            "a shard's part of the shape"
        );
    }
    let mut args = vec!["merge", "-o", "json"];
    args.extend(files.iter().map(|f| path(f)));
    let merged = json(&volley(&args));
    assert_eq!(
        merged["requests"]["scheduled"], 2000,
        "{}",
        merged["requests"]
    );
    assert_eq!(
        merged["run"]["stages"], whole["run"]["stages"],
        "the merge adds the shards' shapes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--start-at` (SPEC §13): two shards given one start time start their
/// schedules together, within a few milliseconds, and make the one schedule.
#[test]
fn shards_given_one_start_time_start_together() {
    let server = target();
    let url = format!("http://{}/", server.addr());
    let dir = scratch("start-at");
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let at = format!("{:.3}", unix_now + 2.0);
    let files: Vec<PathBuf> = (0..2)
        .map(|i| dir.join(format!("start-{i}.json")))
        .collect();
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(i, file)| {
                let (url, at) = (&url, &at);
                s.spawn(move || {
                    let shard = format!("{i}/2");
                    volley(&[
                        url,
                        "--rps",
                        "200",
                        "-c",
                        "4",
                        "-d",
                        "1",
                        "-q",
                        "--shard",
                        &shard,
                        "--start-at",
                        at,
                        "--save",
                        path(file),
                    ])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut starts = Vec::new();
    for out in &outs {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    for file in &files {
        let v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        starts.push(v["wall_start_unix_s"].as_f64().unwrap());
    }
    let at: f64 = at.parse().unwrap();
    for s in &starts {
        assert!((s - at).abs() < 0.005, "started at {s}, asked for {at}");
    }
    assert!((starts[0] - starts[1]).abs() < 0.005, "{starts:?}");
    let mut args = vec!["merge", "-o", "json"];
    args.extend(files.iter().map(|f| path(f)));
    let merged = json(&volley(&args));
    assert_eq!(merged["requests"]["scheduled"], 200);
    // A time already past is refused before anything is sent.
    let out = volley(&[
        &url,
        "--rps",
        "1",
        "-c",
        "1",
        "--start-at",
        "2001-01-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has passed"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
