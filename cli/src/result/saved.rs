//! Saved results (`--save`, SPEC §7): the whole [`Document`], histograms
//! included, written as JSON and read back for `volley merge`.
//!
//! The file holds everything `-o json` prints, plus `"histograms"`: every
//! histogram of the statistics (`latency`, `service`, `ttfb`, `connect`,
//! `tls_handshake`, `send_lag`, all in µs) in HdrHistogram's standard
//! compressed V2 encoding, base64, the form HdrHistogram's own tools and
//! interval logs read. Reading rebuilds the run's [`RunInfo`] and
//! [`Stats`] from the counts and the histograms; the summaries in the file
//! are derived from those and are not read back.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use volley_core::Stats;

use super::{Document, FORMAT, OLDEST_VERSION, Saved, VERSION};

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
        stats.timeline = self.timeline.iter().map(super::Row::second).collect();
        if !stats.timeline.windows(2).all(|w| w[0].second < w[1].second) {
            return Err("timeline rows are not in order of their second".into());
        }
        Ok(Saved {
            info: self.run,
            stats,
            wall_start_unix_s: self.wall_start_unix_s,
        })
    }
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
