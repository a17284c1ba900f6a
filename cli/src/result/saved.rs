//! Saved results (`--save`, SPEC §7): the whole [`Document`], histograms
//! included, written as JSON and read back for `volley merge`.
//!
//! The file holds everything `-o json` prints, plus `"histograms"`: every
//! histogram of the statistics (`latency`, `service`, `ttfb`, `connect`,
//! `tls_handshake`, `send_lag`, all in µs) in HdrHistogram's standard
//! compressed V2 encoding, base64, the form HdrHistogram's own tools and
//! interval logs read. Each entry of `"targets"` has its own
//! `"histograms"` (`latency`, `service`, `ttfb`) likewise, and its
//! `"timeline"` rows their seconds' histograms as the run's do. Reading rebuilds
//! the run's [`RunInfo`] and [`Stats`], targets included, from the counts
//! and the histograms; the summaries in the file are derived from those
//! and are not read back.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use volley_core::{Stats, TargetStats};

use super::{Document, FORMAT, OLDEST_VERSION, Row, Saved, TargetInfo, TargetResult, VERSION};

/// Unix seconds of `t`, to the millisecond.
pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    crate::format::round(since.as_secs_f64(), 3)
}

/// Writes `doc` as pretty JSON, keys in alphabetical order (README).
pub(crate) fn write(path: &Path, doc: &Document) -> std::io::Result<()> {
    let mut text = to_json(doc)?;
    text.push(b'\n');
    std::fs::write(path, text)
}

/// `doc` as pretty JSON with its keys in alphabetical order, as README
/// promises for every JSON volley prints (the document goes through
/// `serde_json::Value`, whose maps are ordered by key).
pub(crate) fn to_json(doc: &Document) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec_pretty(&serde_json::to_value(doc)?)
}

/// Reads a saved result. The error says what is wrong, without the path.
pub(crate) fn read(path: &Path) -> Result<Saved, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    parse(&text)
}

/// Parses the text of a saved result.
pub(crate) fn parse(text: &[u8]) -> Result<Saved, String> {
    let not_saved = "not a result saved by volley --save";
    /// Read first, so that another file or version is named as such.
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u64>,
    }
    let header: Header = serde_json::from_slice(text).map_err(|e| format!("{not_saved}: {e}"))?;
    match (header.format.as_deref(), header.version) {
        (Some(FORMAT), Some(v)) if (OLDEST_VERSION..=VERSION).contains(&v) => {}
        (Some(FORMAT), Some(v)) => {
            return Err(format!(
                "format version {v}, but this volley reads versions {OLDEST_VERSION} to {VERSION} (use the volley that wrote it)"
            ));
        }
        _ => {
            return Err(format!(
                "{not_saved} (no \"format\": \"{FORMAT}\", \"version\": {VERSION})"
            ));
        }
    }
    let doc: Document = serde_json::from_slice(text).map_err(|e| format!("{not_saved}: {e}"))?;
    doc.into_saved()
}

impl Document {
    /// The run and its statistics, rebuilt from the counts and histograms.
    pub(crate) fn into_saved(self) -> Result<Saved, String> {
        let Some(histograms) = self.histograms else {
            return Err("it has no \"histograms\": write it with --save, not -o json".into());
        };
        if !self.wall_start_unix_s.is_finite() || self.wall_start_unix_s < 0.0 {
            return Err(format!(
                "wall_start_unix_s is not a time: {}",
                self.wall_start_unix_s
            ));
        }
        let mut stats = Stats::new();
        histograms.into_stats(&mut stats);
        for (code, n) in self.status.0 {
            stats.add_status(code, n);
        }
        stats.errors = self.errors;
        stats.examples = self.error_examples;
        let r = self.requests;
        stats.scheduled = r.scheduled;
        stats.sent = r.sent;
        stats.completed = r.completed;
        stats.failed = r.failed;
        stats.unfinished = r.unfinished;
        stats.unsent = r.unsent;
        stats.duration = r.window;
        stats.elapsed = Duration::try_from_secs_f64(self.elapsed_s)
            .map_err(|_| format!("elapsed_s is not a duration in seconds: {}", self.elapsed_s))?;
        stats.bytes_in = self.bytes.received;
        stats.bytes_out = self.bytes.sent;
        stats.connections = self.connections.opened;
        stats.connect_failures = self.connections.failed_attempts;
        stats.tls_full = self.connections.tls_full;
        stats.tls_resumed = self.connections.tls_resumed;
        stats.destinations = self.connections.by_address.into_iter().collect();
        stats.retries = self.connections.retried;
        stats.streams = self.connections.streams;
        stats.goaways = self.connections.goaways;
        stats.timeline = Row::seconds(&self.timeline, "timeline")?;
        let mut info = self.run;
        if !self.targets.is_empty() {
            // The entries name the targets they measured; `run.targets`
            // lists the same.
            let (targets, infos) = read_targets(self.targets)?;
            stats.targets = targets;
            info.targets = infos;
        }
        Ok(Saved {
            info,
            stats,
            wall_start_unix_s: self.wall_start_unix_s,
        })
    }
}

/// The targets' statistics and descriptions, rebuilt from the entries of
/// `targets`. Their names must differ: merge matches targets by name.
fn read_targets(entries: Vec<TargetResult>) -> Result<(Vec<TargetStats>, Vec<TargetInfo>), String> {
    let sigfigs = volley_core::stats::target_sigfigs(entries.len());
    let mut targets = Vec::with_capacity(entries.len());
    let mut infos: Vec<TargetInfo> = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = &entry.target.name;
        if infos.iter().any(|i| &i.name == name) {
            return Err(format!("two targets are named {name:?}"));
        }
        let Some(histograms) = entry.histograms else {
            return Err(format!("target {name:?} has no \"histograms\""));
        };
        let mut t = TargetStats::new(sigfigs);
        histograms.into_target(&mut t);
        for (code, n) in entry.status.0 {
            t.add_status(code, n);
        }
        t.errors = entry.errors;
        let r = entry.requests;
        t.scheduled = r.scheduled;
        t.sent = r.sent;
        t.completed = r.completed;
        t.failed = r.failed;
        t.unfinished = r.unfinished;
        t.unsent = r.unsent;
        t.bytes_in = entry.bytes.received;
        t.bytes_out = entry.bytes.sent;
        t.timeline = Row::seconds(&entry.timeline, &format!("target {name:?}: timeline"))?;
        targets.push(t);
        infos.push(entry.target);
    }
    Ok((targets, infos))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use volley_core::{ErrorKind, Second};

    use super::*;
    use crate::output::{Summary, json};
    use crate::plan::shard::Shard;
    use crate::result::RunInfo;

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
        s.tls_handshake.record(2345).unwrap();
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
        s.tls_full = 1;
        s.retries = 6;
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
                ..Second::default()
            },
            Second {
                second: 1,
                completed: 250,
                errors: 7,
                p50_us: 9100,
                p99_us: 18100,
                max_us: 18501,
                ..Second::default()
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
            shard: Some(Shard { index: 1, count: 4 }),
            ..RunInfo::default()
        };
        (info, s)
    }

    /// `sample()` as a run of two targets that share its requests.
    fn sample_with_targets() -> (RunInfo, Stats) {
        let (mut info, mut s) = sample();
        let mut login = TargetStats::new(volley_core::stats::target_sigfigs(2));
        let mut search = login.clone();
        for i in 1..=500u64 {
            let t = if i % 5 == 0 { &mut login } else { &mut search };
            t.latency.record(i * 37).unwrap();
            t.service.record(i * 11).unwrap();
            t.ttfb.record(i * 7).unwrap();
            t.add_status(if i % 50 == 0 { 503 } else { 200 }, 1);
            t.completed += 1;
            t.scheduled += 1;
            t.sent += 1;
        }
        // Values far beyond the others: the histogram grew for them.
        login.latency.record(3_000_000_000).unwrap();
        login.completed += 1;
        login.scheduled += 1;
        login.sent += 1;
        login.add_status(200, 1);
        search.failed = 2;
        search.errors[ErrorKind::Timeout.index()] = 2;
        search.unsent = 3;
        search.scheduled += 5;
        search.sent += 2;
        (login.bytes_in, login.bytes_out) = (10_000, 6_000);
        (search.bytes_in, search.bytes_out) = (54_000, 26_000);
        // Their rows split the run's; login's kept its seconds' latencies,
        // as the engine keeps them: a histogram of 2 digits.
        let spread = |kept: &[(u64, u64)], div: u64| {
            let mut h = hdrhistogram::Histogram::<u64>::new(2).unwrap();
            for &(v, n) in kept {
                h.record_n(v / div, n).unwrap();
            }
            volley_core::Spread::of(&h)
        };
        let row = |second, completed, errors, kept: &[(u64, u64)]| Second {
            second,
            completed,
            errors,
            p50_us: 9_000 + u64::from(second),
            p99_us: 18_000,
            max_us: 18_500,
            latency: spread(kept, 1),
            service: spread(kept, 2),
            ..Second::default()
        };
        login.timeline = vec![
            row(0, 50, 1, &[(9_000, 30), (18_000, 20)]),
            row(1, 51, 1, &[(9_100, 50), (18_500, 1)]),
        ];
        search.timeline = vec![row(0, 200, 4, &[]), row(1, 199, 6, &[])];
        s.targets = vec![login, search];
        info.targets = vec![
            TargetInfo {
                name: "login".into(),
                method: "POST".into(),
                url: "http://127.0.0.1:1/login".into(),
                weight: 1,
            },
            TargetInfo {
                name: "GET /search?q={{row.q}}".into(),
                method: "GET".into(),
                url: "http://127.0.0.1:1/search?q={{row.q}}".into(),
                weight: 4,
            },
        ];
        (info, s)
    }

    fn value_of(info: &RunInfo, stats: &Stats, histograms: bool) -> Value {
        let doc = json::document(
            &Summary::new(info, stats, &[], 1_700_000_000.25),
            histograms,
        );
        serde_json::from_slice(&to_json(&doc).unwrap()).unwrap()
    }

    #[test]
    fn targets_round_trip_exactly() {
        let (info, a) = sample_with_targets();
        let v = value_of(&info, &a, true);
        let back = parse(v.to_string().as_bytes()).unwrap();
        assert_eq!(back.stats.targets, a.targets);
        assert!(back.stats.targets.iter().all(TargetStats::identity_holds));
        assert_eq!(back.info, info);
        // Read back, they grow as a run's do.
        let mut t = back.stats.targets[0].clone();
        t.latency.record(3_600_000_000 * 10).unwrap();
    }

    #[test]
    fn a_targets_timeline_is_written_as_the_runs_and_read_back() {
        let (info, stats) = sample_with_targets();
        let v = value_of(&info, &stats, false);
        let rows = &v["targets"][0]["timeline"];
        assert_eq!(
            rows[1],
            json!({"second": 1, "completed": 51, "errors": 1, "failed": 0, "p50_us": 9_001,
                   "p99_us": 18_000, "max_us": 18_500, "unix_s": 1_700_000_001.25})
        );
        assert_eq!(v["timeline"][1]["target_rps"], json!(250.0));
        // Saved, the rows keep their seconds' histograms, when they have any.
        let saved = value_of(&info, &stats, true);
        let rows = &saved["targets"][0]["timeline"];
        assert!(
            rows[0]["latency_histogram"].is_string() && rows[1]["service_histogram"].is_string()
        );
        assert!(
            saved["targets"][1]["timeline"][0]
                .get("latency_histogram")
                .is_none()
        );
        let back = parse(saved.to_string().as_bytes()).unwrap();
        assert_eq!(back.stats.targets[0].timeline, stats.targets[0].timeline);
        assert_eq!(back.stats.targets[1].timeline, stats.targets[1].timeline);
        // A target without rows has no "timeline"; one out of order is refused.
        let (info, mut bare) = sample_with_targets();
        bare.targets[1].timeline.clear();
        assert!(
            value_of(&info, &bare, true)["targets"][1]
                .get("timeline")
                .is_none()
        );
        let mut broken = saved.clone();
        broken["targets"][1]["timeline"][1]["second"] = json!(0);
        let e = parse(broken.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            e,
            "target \"GET /search?q={{row.q}}\": timeline rows are not in order of their second"
        );
    }

    #[test]
    fn each_target_has_the_runs_fields() {
        let (info, stats) = sample_with_targets();
        let v = value_of(&info, &stats, false);
        assert_eq!(v["run"]["targets"][1]["weight"], json!(4));
        assert_eq!(v["run"]["targets"][0]["name"], json!("login"));
        let t = &v["targets"][1];
        assert_eq!(t["name"], json!("GET /search?q={{row.q}}"));
        assert_eq!(t["method"], json!("GET"));
        assert_eq!(t["url"], json!("http://127.0.0.1:1/search?q={{row.q}}"));
        assert_eq!(t["weight"], json!(4));
        assert_eq!(
            t["requests"],
            json!({"scheduled": 405, "sent": 402, "completed": 400, "failed": 2,
                   "unfinished": 0, "unsent": 3, "achieved_rps": 200.0, "window_s": 2.0})
        );
        assert_eq!(t["status"], json!({"200": 400}));
        assert_eq!(v["targets"][0]["status"], json!({"200": 91, "503": 10}));
        assert_eq!(t["errors"]["timeout"], json!(2));
        assert_eq!(t["errors"]["unexpected_status"], json!(0));
        assert_eq!(t["bytes"], json!({"received": 54_000, "sent": 26_000}));
        for key in ["latency_us", "service_time_us", "ttfb_us"] {
            assert_eq!(t[key]["count"], json!(400), "{key}");
        }
        assert!(v["targets"][0]["latency_us"]["max"].as_u64().unwrap() >= 3_000_000_000);
        // -o json keeps no histograms; --save keeps each target's three.
        assert!(t.get("histograms").is_none());
        let saved = value_of(&info, &stats, true);
        let names: Vec<_> = saved["targets"][0]["histograms"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(names, ["latency", "service", "ttfb"]);
        // A run of one request lists none.
        let (info, stats) = sample();
        let v = value_of(&info, &stats, true);
        assert!(v.get("targets").is_none() && v["run"].get("targets").is_none());
    }

    #[test]
    fn bad_targets_say_why() {
        let (info, stats) = sample_with_targets();
        let broken = |edit: &dyn Fn(&mut Value)| {
            let mut v = value_of(&info, &stats, true);
            edit(&mut v);
            parse(v.to_string().as_bytes()).unwrap_err()
        };
        let e = broken(&|v| {
            v["targets"][1]
                .as_object_mut()
                .unwrap()
                .remove("histograms");
        });
        assert!(
            e.contains("target \"GET /search?q={{row.q}}\" has no \"histograms\""),
            "{e}"
        );
        let e = broken(&|v| v["targets"][1]["name"] = json!("login"));
        assert!(e.contains("two targets are named \"login\""), "{e}");
        let e = broken(&|v| v["targets"][0]["histograms"]["ttfb"] = json!("%"));
        assert!(e.contains("histogram \"ttfb\": not base64"), "{e}");
    }

    /// The saved form of `sample()`, as a JSON value to break.
    fn saved_value() -> Value {
        let (info, stats) = sample();
        let doc = json::document(&Summary::new(&info, &stats, &[], 1_700_000_000.25), true);
        serde_json::from_slice(&to_json(&doc).unwrap()).unwrap()
    }

    #[test]
    fn round_trip_is_exact() {
        let (info, a) = sample();
        let value = saved_value();
        assert_eq!(value["timeline"][1]["unix_s"], json!(1_700_000_001.25));
        let back = parse(value.to_string().as_bytes()).unwrap();
        let b = &back.stats;
        for (x, y) in [
            (&a.latency, &b.latency),
            (&a.service, &b.service),
            (&a.ttfb, &b.ttfb),
            (&a.connect, &b.connect),
            (&a.tls_handshake, &b.tls_handshake),
            (&a.send_lag, &b.send_lag),
        ] {
            assert_eq!(x, y);
        }
        assert_eq!(
            a.statuses().collect::<Vec<_>>(),
            b.statuses().collect::<Vec<_>>()
        );
        assert_eq!(a.errors, b.errors);
        assert_eq!(a.examples, b.examples);
        let counts = |s: &Stats| {
            (
                s.scheduled,
                s.sent,
                s.completed,
                s.failed,
                s.unfinished,
                s.unsent,
            )
        };
        assert_eq!(counts(&a), counts(b));
        let transfer = |s: &Stats| {
            (
                s.bytes_in,
                s.bytes_out,
                s.connections,
                s.connect_failures,
                s.tls_full,
                s.tls_resumed,
                s.retries,
            )
        };
        assert_eq!(transfer(&a), transfer(b));
        assert_eq!((a.duration, a.elapsed), (b.duration, b.elapsed));
        assert_eq!(a.timeline, b.timeline);
        assert_eq!(back.wall_start_unix_s, 1_700_000_000.25);
        assert_eq!(back.info, info);
    }

    #[test]
    fn the_saved_file_is_the_json_report_plus_histograms() {
        let (info, stats) = sample();
        let summary = Summary::new(&info, &stats, &[], 1.0);
        let plain: Value = serde_json::to_value(json::document(&summary, false)).unwrap();
        let mut whole: Value = serde_json::to_value(json::document(&summary, true)).unwrap();
        assert!(
            whole
                .as_object_mut()
                .unwrap()
                .remove("histograms")
                .is_some()
        );
        assert_eq!(plain, whole);
        // A -o json report is not a saved result.
        let e = parse(plain.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("no \"histograms\""), "{e}");
    }

    #[test]
    fn files_of_the_shipped_version_without_later_fields_read() {
        // Written before TLS, error examples, `unix_s` and retries were in the file.
        let mut v = saved_value();
        for (section, key) in [
            ("histograms", "tls_handshake"),
            ("run", "tls"),
            ("run", "insecure"),
            ("connections", "tls_full"),
            ("connections", "tls_resumed"),
            ("connections", "retried"),
        ] {
            v[section].as_object_mut().unwrap().remove(key);
        }
        for key in [
            "error_examples",
            "tls_handshake_us",
            "thresholds",
            "warnings",
        ] {
            v.as_object_mut().unwrap().remove(key);
        }
        v["timeline"][0].as_object_mut().unwrap().remove("unix_s");
        let back = parse(v.to_string().as_bytes()).unwrap();
        assert!(back.stats.tls_handshake.is_empty());
        assert!(back.stats.targets.is_empty() && back.info.targets.is_empty());
        assert_eq!((back.stats.completed, back.stats.retries), (500, 0));
    }

    #[test]
    fn bad_files_say_why() {
        let e = |text: &str| parse(text.as_bytes()).unwrap_err();
        assert!(e("not json").starts_with("not a result saved by volley --save"));
        assert!(e("{\"run\": {}}").contains("no \"format\""));
        assert!(e("{\"format\": \"volley-result\", \"version\": 3}").contains("format version 3"));
        assert!(e("{\"format\": \"volley-result\", \"version\": 2}").contains("missing field"));
        assert!(e("{\"format\": \"volley-result\", \"version\": 1}").contains("missing field"));
        let broken = |edit: &dyn Fn(&mut Value)| {
            let mut v = saved_value();
            edit(&mut v);
            e(&v.to_string())
        };
        assert!(
            broken(&|v| v["histograms"]["latency"] = json!("%%%"))
                .contains("histogram \"latency\": not base64")
        );
        assert!(
            broken(&|v| v["histograms"]["service"] = json!("AAAA"))
                .contains("histogram \"service\": not an HdrHistogram")
        );
        let missing = broken(&|v| {
            v["histograms"].as_object_mut().unwrap().remove("ttfb");
        });
        assert!(
            missing.contains("histogram \"ttfb\" is missing"),
            "{missing}"
        );
        assert!(broken(&|v| v["status"]["2000"] = json!(1)).contains("status code \"2000\""));
        assert!(
            broken(&|v| v["errors"]["gremlins"] = json!(3))
                .contains("unknown error kind \"gremlins\"")
        );
        assert!(
            broken(&|v| v["requests"]["window_s"] = json!(-1.0))
                .contains("not a duration in seconds")
        );
        let unordered = broken(&|v| v["timeline"][1]["second"] = json!(0));
        assert!(unordered.contains("not in order"), "{unordered}");
        // A kind from a later version with nothing counted is no reason to refuse the file.
        let mut v = saved_value();
        v["errors"]["gremlins"] = json!(0);
        assert!(parse(v.to_string().as_bytes()).is_ok());
    }
}
