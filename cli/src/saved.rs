//! Saved results (`--save`, SPEC §7): the JSON report plus what is needed to
//! merge results exactly and to place them in time.
//!
//! The file is the `-o json` object with these additions:
//!
//! - `"format": "volley-result"` and `"version": 1`;
//! - `"wall_start_unix_s"`: the wall-clock time of `t0` in Unix seconds,
//!   and `"unix_s"` on every `timeline` row (the wall-clock start of its
//!   second);
//! - `"elapsed_s"`: from `t0` to the last completion or failure;
//! - `"histograms"`: every histogram of the statistics (`latency`,
//!   `service`, `ttfb`, `connect`, `tls_handshake`, `send_lag`, all in µs)
//!   in HdrHistogram's standard compressed V2 encoding, base64, the form
//!   HdrHistogram's own tools and interval logs read.
//!
//! [`read`] turns such a file back into the run's [`RunInfo`] and [`Stats`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::Deserialize;
use serde_json::{Value, json};
use volley_core::stats::new_histogram;
use volley_core::{ErrorKind, Second, Stats};

use crate::plan::UsageError;
use crate::report::RunInfo;
use crate::shard::Shard;

/// The value of the `format` field.
pub(crate) const FORMAT: &str = "volley-result";
/// The version of the file format this build writes and reads.
pub(crate) const VERSION: u64 = 1;

/// The histograms of [`Stats`], with their names in the file.
fn histograms(s: &Stats) -> [(&'static str, &Histogram<u64>); 6] {
    [
        ("latency", &s.latency),
        ("service", &s.service),
        ("ttfb", &s.ttfb),
        ("connect", &s.connect),
        ("tls_handshake", &s.tls_handshake),
        ("send_lag", &s.send_lag),
    ]
}

fn histograms_mut(s: &mut Stats) -> [(&'static str, &mut Histogram<u64>); 6] {
    [
        ("latency", &mut s.latency),
        ("service", &mut s.service),
        ("ttfb", &mut s.ttfb),
        ("connect", &mut s.connect),
        ("tls_handshake", &mut s.tls_handshake),
        ("send_lag", &mut s.send_lag),
    ]
}

/// Unix seconds of `t`, to the millisecond.
pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    round3(since.as_secs_f64())
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// Checks `--save PATH` (or `--html PATH`) before the run, so a long run is not lost to a
/// typo: the directory must exist and the path must not be a directory.
pub(crate) fn check_path(flag: &str, path: &str) -> Result<PathBuf, UsageError> {
    let p = PathBuf::from(path);
    let example = if flag == "--html" {
        "report.html"
    } else {
        "result.json"
    };
    if path.is_empty() {
        return Err(UsageError(format!(
            "{flag} \"\": expected a file name such as {example}"
        )));
    }
    if p.is_dir() {
        return Err(UsageError(format!(
            "{flag} {path:?}: is a directory; expected a file name such as {example}"
        )));
    }
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(UsageError(format!(
                "{flag} {path:?}: the directory {:?} does not exist",
                dir.display().to_string()
            )));
        }
    }
    Ok(p)
}

/// Turns the JSON report of `stats` into the saved form (in place).
pub(crate) fn add_saved_fields(report: &mut Value, stats: &Stats, wall_start_unix_s: f64) {
    report["format"] = json!(FORMAT);
    report["version"] = json!(VERSION);
    report["wall_start_unix_s"] = json!(wall_start_unix_s);
    report["elapsed_s"] = json!(stats.elapsed.as_secs_f64());
    if let Some(rows) = report["timeline"].as_array_mut() {
        for row in rows {
            let second = row["second"].as_f64().unwrap_or(0.0);
            row["unix_s"] = json!(round3(wall_start_unix_s + second));
        }
    }
    let encoded: serde_json::Map<String, Value> = histograms(stats)
        .into_iter()
        .map(|(name, h)| (name.to_string(), json!(encode(h))))
        .collect();
    report["histograms"] = Value::Object(encoded);
}

/// Writes the saved form.
pub(crate) fn write(path: &Path, saved: &Value) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(saved)?;
    text.push(b'\n');
    std::fs::write(path, text)
}

/// V2 compressed, base64.
pub(crate) fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // ok: serializing into a Vec fails only for histograms over 2^31 buckets.
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("a histogram of volley's bounds serializes");
    BASE64.encode(bytes)
}

/// Base64 V2 (compressed or not) into a histogram of volley's bounds.
pub(crate) fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 encoding: {e}"))?;
    // Stats::merge adds histograms of equal bounds; bring every decoded one
    // to volley's (1 µs to 1 h, 3 digits).
    let mut out = new_histogram();
    out.add(&h)
        .map_err(|_| "values beyond volley's range of 1 µs to 1 h".to_string())?;
    Ok(out)
}

/// A saved result read back.
#[derive(Clone, Debug)]
pub(crate) struct Saved {
    pub(crate) info: RunInfo,
    pub(crate) stats: Stats,
    pub(crate) wall_start_unix_s: f64,
    pub(crate) shard: Option<Shard>,
}

#[derive(Deserialize)]
struct File {
    wall_start_unix_s: f64,
    elapsed_s: f64,
    run: RunSection,
    requests: Requests,
    status: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    #[serde(default)]
    error_examples: BTreeMap<String, String>,
    bytes: Bytes,
    connections: Connections,
    timeline: Vec<Row>,
    histograms: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RunSection {
    method: String,
    url: String,
    duration_s: f64,
    target_rps: Option<f64>,
    users: usize,
    threads: usize,
    keep_alive: bool,
    timeout_s: f64,
    #[serde(default)]
    tls: bool,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    shard: Option<ShardSection>,
}

#[derive(Deserialize)]
struct ShardSection {
    index: usize,
    count: usize,
}

#[derive(Deserialize)]
struct Requests {
    scheduled: u64,
    sent: u64,
    completed: u64,
    failed: u64,
    unfinished: u64,
    unsent: u64,
    window_s: f64,
}

#[derive(Deserialize)]
struct Bytes {
    received: u64,
    sent: u64,
}

#[derive(Deserialize)]
struct Connections {
    opened: u64,
    failed_attempts: u64,
    #[serde(default)]
    tls_full: u64,
    #[serde(default)]
    tls_resumed: u64,
}

#[derive(Deserialize)]
struct Row {
    second: u32,
    completed: u64,
    errors: u64,
    p50_us: u64,
    p99_us: u64,
    max_us: u64,
}

fn seconds(field: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("{field} is not a duration in seconds: {s}"))
}

/// Reads a saved result. The error says what is wrong, without the path.
pub(crate) fn read(path: &Path) -> Result<Saved, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    parse(&text)
}

/// Parses the text of a saved result.
pub(crate) fn parse(text: &[u8]) -> Result<Saved, String> {
    let not_saved = "not a result saved by volley --save";
    let value: Value = serde_json::from_slice(text).map_err(|e| format!("{not_saved}: {e}"))?;
    match (
        value.get("format").and_then(Value::as_str),
        value.get("version").and_then(Value::as_u64),
    ) {
        (Some(FORMAT), Some(VERSION)) => {}
        (Some(FORMAT), Some(v)) => {
            return Err(format!(
                "format version {v}, but this volley reads version {VERSION} (use the volley that wrote it)"
            ));
        }
        _ => {
            return Err(format!(
                "{not_saved} (no \"format\": \"{FORMAT}\", \"version\": {VERSION})"
            ));
        }
    }
    let f: File = serde_json::from_value(value).map_err(|e| format!("{not_saved}: {e}"))?;

    let mut stats = Stats::new();
    for (name, h) in histograms_mut(&mut stats) {
        match f.histograms.get(name) {
            Some(text) => *h = decode(text).map_err(|e| format!("histogram {name:?}: {e}"))?,
            // Added to the format later than the others: absent means empty.
            None if name == "tls_handshake" => {}
            None => return Err(format!("{not_saved}: histogram {name:?} is missing")),
        }
    }
    for (code, n) in &f.status {
        match code.parse::<u16>() {
            Ok(c) if (100..1000).contains(&c) => stats.add_status(c, *n),
            _ => return Err(format!("status code {code:?} is not a 3-digit code")),
        }
    }
    for (name, n) in &f.errors {
        match ErrorKind::ALL.iter().find(|k| k.name() == name) {
            Some(k) => stats.errors[k.index()] += n,
            None if *n == 0 => {}
            None => return Err(format!("unknown error kind {name:?}")),
        }
    }
    for (name, message) in f.error_examples {
        if let Some(k) = ErrorKind::ALL.iter().find(|k| k.name() == name) {
            stats.examples.0[k.index()] = Some(message);
        }
    }
    let r = &f.requests;
    stats.scheduled = r.scheduled;
    stats.sent = r.sent;
    stats.completed = r.completed;
    stats.failed = r.failed;
    stats.unfinished = r.unfinished;
    stats.unsent = r.unsent;
    stats.duration = seconds("requests.window_s", r.window_s)?;
    stats.elapsed = seconds("elapsed_s", f.elapsed_s)?;
    stats.bytes_in = f.bytes.received;
    stats.bytes_out = f.bytes.sent;
    stats.connections = f.connections.opened;
    stats.connect_failures = f.connections.failed_attempts;
    stats.tls_full = f.connections.tls_full;
    stats.tls_resumed = f.connections.tls_resumed;
    stats.timeline = f
        .timeline
        .iter()
        .map(|r| Second {
            second: r.second,
            completed: r.completed,
            errors: r.errors,
            p50_us: r.p50_us,
            p99_us: r.p99_us,
            max_us: r.max_us,
        })
        .collect();
    if !stats.timeline.windows(2).all(|w| w[0].second < w[1].second) {
        return Err("timeline rows are not in order of their second".into());
    }

    let run = f.run;
    let info = RunInfo {
        method: run.method,
        url: run.url,
        duration: seconds("run.duration_s", run.duration_s)?,
        target_rps: run.target_rps,
        users: run.users,
        threads: run.threads,
        keep_alive: run.keep_alive,
        timeout: seconds("run.timeout_s", run.timeout_s)?,
        tls: run.tls,
        insecure: run.insecure,
    };
    if !f.wall_start_unix_s.is_finite() || f.wall_start_unix_s < 0.0 {
        return Err(format!(
            "wall_start_unix_s is not a time: {}",
            f.wall_start_unix_s
        ));
    }
    let shard = run.shard.map(|s| Shard {
        index: s.index,
        count: s.count,
    });
    Ok(Saved {
        info,
        stats,
        wall_start_unix_s: f.wall_start_unix_s,
        shard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (RunInfo, Stats) {
        let mut s = Stats::new();
        for i in 1..=500u64 {
            s.latency.record(i * 37).unwrap();
            s.service.record(i * 11).unwrap();
            s.ttfb.record(i * 7).unwrap();
            s.send_lag.record(i).unwrap();
            s.add_status(if i % 50 == 0 { 503 } else { 200 }, 1);
        }
        s.connect.record(1234).unwrap();
        s.completed = 500;
        s.failed = 2;
        s.errors[ErrorKind::Timeout.index()] = 2;
        s.examples.0[ErrorKind::Timeout.index()] = Some("no response within 1s".into());
        s.unsent = 3;
        s.scheduled = 505;
        s.sent = 502;
        s.bytes_in = 64_000;
        s.bytes_out = 32_000;
        s.connections = 1;
        s.connect_failures = 4;
        s.duration = Duration::from_secs(2);
        s.elapsed = Duration::from_millis(2_010);
        s.timeline = vec![
            Second {
                second: 0,
                completed: 250,
                errors: 5,
                p50_us: 9000,
                p99_us: 18000,
                max_us: 18500,
            },
            Second {
                second: 1,
                completed: 250,
                errors: 7,
                p50_us: 9100,
                p99_us: 18100,
                max_us: 18501,
            },
        ];
        let info = RunInfo {
            method: "GET".into(),
            url: "http://127.0.0.1:1/".into(),
            duration: Duration::from_secs(2),
            target_rps: Some(250.0),
            users: 5,
            threads: 2,
            keep_alive: true,
            timeout: Duration::from_secs(1),
            ..RunInfo::default()
        };
        (info, s)
    }

    #[test]
    fn round_trip_is_exact() {
        let (info, stats) = sample();
        let mut report = crate::report::to_json(&info, &stats);
        report["run"]["shard"] = json!({"index": 1, "count": 4});
        add_saved_fields(&mut report, &stats, 1_700_000_000.25);
        assert_eq!(report["timeline"][1]["unix_s"], json!(1_700_000_001.25));
        let text = serde_json::to_vec(&report).unwrap();
        let back = parse(&text).unwrap();
        let (a, b) = (&stats, &back.stats);
        for ((name, x), (_, y)) in histograms(a).into_iter().zip(histograms(b)) {
            assert_eq!(x, y, "{name}");
        }
        assert_eq!(
            a.statuses().collect::<Vec<_>>(),
            b.statuses().collect::<Vec<_>>()
        );
        assert_eq!(a.errors, b.errors);
        assert_eq!(a.examples, b.examples);
        assert_eq!(
            (
                a.scheduled,
                a.sent,
                a.completed,
                a.failed,
                a.unfinished,
                a.unsent
            ),
            (
                b.scheduled,
                b.sent,
                b.completed,
                b.failed,
                b.unfinished,
                b.unsent
            )
        );
        assert_eq!(
            (a.bytes_in, a.bytes_out, a.connections, a.connect_failures),
            (b.bytes_in, b.bytes_out, b.connections, b.connect_failures)
        );
        assert_eq!((a.duration, a.elapsed), (b.duration, b.elapsed));
        assert_eq!(a.timeline, b.timeline);
        assert_eq!(back.wall_start_unix_s, 1_700_000_000.25);
        assert_eq!(back.shard, Some(Shard { index: 1, count: 4 }));
        assert_eq!(
            (
                back.info.url.as_str(),
                back.info.target_rps,
                back.info.users,
                back.info.threads
            ),
            (info.url.as_str(), Some(250.0), 5, 2)
        );
        assert_eq!(
            (back.info.duration, back.info.timeout),
            (info.duration, info.timeout)
        );
        // The saved report is the JSON report plus the saved fields.
        let plain = crate::report::to_json(&info, &stats);
        for key in plain.as_object().unwrap().keys() {
            assert!(report.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn the_encoding_is_standard_v2_deflate() {
        let mut h = new_histogram();
        h.record(100).unwrap();
        let bytes = BASE64.decode(encode(&h)).unwrap();
        // The V2 compressed cookie, 0x1c849304 | 0x10 as the Java
        // HdrHistogram writes it, big-endian.
        assert_eq!(&bytes[..4], &[0x1c, 0x84, 0x93, 0x14]);
        assert_eq!(decode(&encode(&h)).unwrap(), h);
    }

    #[test]
    fn bad_files_say_why() {
        let e = |text: &str| parse(text.as_bytes()).unwrap_err();
        assert!(e("not json").starts_with("not a result saved by volley --save"));
        assert!(e("{\"run\": {}}").contains("no \"format\""));
        assert!(e("{\"format\": \"volley-result\", \"version\": 2}").contains("format version 2"));
        assert!(e("{\"format\": \"volley-result\", \"version\": 1}").contains("missing field"));
        let (info, stats) = sample();
        let mut report = crate::report::to_json(&info, &stats);
        add_saved_fields(&mut report, &stats, 1.0);
        let mut broken = report.clone();
        broken["histograms"]["latency"] = json!("%%%");
        assert!(e(&broken.to_string()).contains("histogram \"latency\": not base64"));
        let mut broken = report.clone();
        broken["histograms"]["service"] = json!("AAAA");
        assert!(e(&broken.to_string()).contains("histogram \"service\": not an HdrHistogram"));
        let mut broken = report.clone();
        broken["histograms"].as_object_mut().unwrap().remove("ttfb");
        assert!(e(&broken.to_string()).contains("\"ttfb\" is missing"));
        let mut broken = report.clone();
        broken["status"]["2000"] = json!(1);
        assert!(e(&broken.to_string()).contains("status code \"2000\""));
        let mut broken = report;
        broken["errors"]["gremlins"] = json!(3);
        assert!(e(&broken.to_string()).contains("unknown error kind \"gremlins\""));
    }

    #[test]
    fn save_paths_are_checked_early() {
        assert!(check_path("--save", "result.json").is_ok());
        assert!(
            check_path("--save", "/tmp")
                .unwrap_err()
                .0
                .contains("is a directory")
        );
        assert!(
            check_path("--save", "/no/such/dir/r.json")
                .unwrap_err()
                .0
                .contains("does not exist")
        );
        assert!(check_path("--save", "").is_err());
    }
}
