//! The result stage: the one result document.
//!
//! [`Document`] is the schema of everything volley writes about a run:
//! `-o json` prints it without its histograms, `--save` writes it whole,
//! and `volley merge` reads it back ([`saved`]). Its field names, types and
//! units are a stable contract (README, "JSON output"): fields may be
//! added, none renamed. The sections are typed; [`codec`] says how a typed
//! field looks in JSON. A new counter is one field in a section, its line
//! in [`Stats`]'s conversions ([`Requests::of`] and the like, and
//! [`saved`]'s way back), and what the renderers in `output` show of it.

pub(crate) mod codec;
pub(crate) mod merge;
pub(crate) mod saved;

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use volley_core::stats::Examples;
use volley_core::{ErrorKind, Second, Stats, TargetStats};

pub(crate) use codec::{Histograms, Statuses, TargetHistograms};

use crate::plan::shard::Shard;

/// The value of the `format` field.
pub(crate) const FORMAT: &str = "volley-result";
/// The version of the document this build writes: 2 added each second's
/// histograms to saved results (SPEC §13). It reads 1 and 2.
pub(crate) const VERSION: u64 = 2;
/// The oldest version it reads.
pub(crate) const OLDEST_VERSION: u64 = 1;

/// What was asked for: the document's `run` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunInfo {
    pub(crate) method: String,
    pub(crate) url: String,
    /// The planned sending time.
    #[serde(rename = "duration_s", with = "codec::seconds")]
    pub(crate) duration: Duration,
    /// `None` for `--rps max`.
    pub(crate) target_rps: Option<f64>,
    pub(crate) users: usize,
    pub(crate) threads: usize,
    pub(crate) keep_alive: bool,
    /// `http/1.1`, or `h2` for `--http2` (SPEC §11).
    #[serde(default = "http1")]
    pub(crate) protocol: String,
    /// HTTP/2: the connections to each origin (`--connections`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) connections: Option<usize>,
    #[serde(rename = "timeout_s", with = "codec::seconds")]
    pub(crate) timeout: Duration,
    /// The target is https.
    #[serde(default)]
    pub(crate) tls: bool,
    /// Certificates were not verified (`--insecure`).
    #[serde(default)]
    pub(crate) insecure: bool,
    /// `--shard I/N`, when this was one shard of a test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shard: Option<Shard>,
    /// The load shape (SPEC §12): `--stages`, or `--ramp-up` as stages;
    /// empty for a fixed rate or `max`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) stages: Vec<StageInfo>,
    /// The targets of `--targets` (SPEC §10), in order; empty for a run of
    /// one request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) targets: Vec<TargetInfo>,
}

/// `run.protocol` of results written before HTTP/2.
fn http1() -> String {
    HTTP1.into()
}

/// `run.protocol` of an HTTP/1.1 run.
pub(crate) const HTTP1: &str = "http/1.1";
/// `run.protocol` of an `--http2` run.
pub(crate) const HTTP2: &str = "h2";

/// One target of `run.targets`: what it sends and its share of the mix.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TargetInfo {
    /// The name its results are shown under, unique in the run.
    pub(crate) name: String,
    pub(crate) method: String,
    /// Its URL, placeholders as written.
    pub(crate) url: String,
    /// Its weight in the mix: it gets `weight / sum of weights` of the
    /// requests.
    pub(crate) weight: u32,
}

/// One stage of `run.stages`: the rate moves linearly to `rps` over
/// `duration_s` from where the previous one ended (0 at first).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StageInfo {
    #[serde(rename = "duration_s", with = "codec::seconds")]
    pub(crate) duration: Duration,
    pub(crate) rps: f64,
}

impl RunInfo {
    /// What the run sent, for headers: `GET http://host/path`, or for a
    /// run of targets, how many and where (`3 targets on
    /// http://127.0.0.1:8080/`).
    pub(crate) fn request(&self) -> String {
        match self.targets.len() {
            0 => format!("{} {}", self.method, self.url),
            1 => format!("1 target on {}", self.url),
            n => format!("{n} targets on {}", self.url),
        }
    }

    /// The target rate averaged over `[from, to)` seconds since `t0`: what
    /// the schedule asked for there. `None` for `--rps max`.
    pub(crate) fn target_between(&self, from: f64, to: f64) -> Option<f64> {
        let target = self.target_rps?;
        let end = self.duration.as_secs_f64();
        if to <= from {
            return Some(0.0);
        }
        if self.stages.is_empty() {
            let covered = (to.min(end) - from.max(0.0)).max(0.0);
            return Some(target * covered / (to - from));
        }
        // The integral of the piecewise-linear rate over [from, to).
        let (mut start, mut rate, mut sum) = (0.0, 0.0, 0.0);
        for st in &self.stages {
            let length = st.duration.as_secs_f64();
            let (a, b) = (from.max(start), to.min(start + length));
            if b > a && length > 0.0 {
                let at = |t: f64| rate + (st.rps - rate) * (t - start) / length;
                sum += (at(a) + at(b)) / 2.0 * (b - a);
            }
            start += length;
            rate = st.rps;
        }
        Some(sum / (to - from))
    }
}

/// The result document (SPEC §4 and §7).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Document {
    /// Always [`FORMAT`].
    pub(crate) format: String,
    /// Always [`VERSION`] when written.
    pub(crate) version: u64,
    /// The wall-clock time of `t0`, Unix seconds.
    pub(crate) wall_start_unix_s: f64,
    /// From `t0` to the last completion or failure, seconds.
    pub(crate) elapsed_s: f64,
    pub(crate) run: RunInfo,
    pub(crate) requests: Requests,
    #[serde(default)]
    pub(crate) latency_us: Dist,
    #[serde(default)]
    pub(crate) service_time_us: Dist,
    #[serde(default)]
    pub(crate) ttfb_us: Dist,
    #[serde(default)]
    pub(crate) connect_us: Dist,
    #[serde(default)]
    pub(crate) tls_handshake_us: Dist,
    #[serde(default)]
    pub(crate) send_lag_us: Dist,
    pub(crate) status: Statuses,
    #[serde(with = "codec::error_counts")]
    pub(crate) errors: [u64; ErrorKind::COUNT],
    #[serde(default, with = "codec::examples")]
    pub(crate) error_examples: Examples,
    pub(crate) bytes: Bytes,
    pub(crate) connections: Connections,
    pub(crate) timeline: Vec<Row>,
    #[serde(default)]
    pub(crate) thresholds: Vec<ThresholdResult>,
    #[serde(default)]
    pub(crate) warnings: Vec<String>,
    /// Each target's own results, in the order of `run.targets`; absent
    /// for a run of one request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) targets: Vec<TargetResult>,
    /// Every histogram, in `--save` files only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) histograms: Option<Histograms>,
}

/// The `requests` section: SPEC §2's counts and the achieved rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Requests {
    pub(crate) scheduled: u64,
    pub(crate) sent: u64,
    pub(crate) completed: u64,
    pub(crate) failed: u64,
    pub(crate) unfinished: u64,
    pub(crate) unsent: u64,
    /// Completed per second of the window (derived; not read back).
    #[serde(default, serialize_with = "codec::round1")]
    pub(crate) achieved_rps: f64,
    /// The sending window (see `Stats::duration`).
    #[serde(rename = "window_s", with = "codec::seconds")]
    pub(crate) window: Duration,
}

impl Requests {
    pub(crate) fn of(s: &Stats) -> Self {
        Self {
            scheduled: s.scheduled,
            sent: s.sent,
            completed: s.completed,
            failed: s.failed,
            unfinished: s.unfinished,
            unsent: s.unsent,
            achieved_rps: s.achieved_rps(),
            window: s.duration,
        }
    }

    /// The counts of one target, its achieved rate over the run's `window`.
    pub(crate) fn of_target(t: &TargetStats, window: Duration) -> Self {
        let secs = window.as_secs_f64();
        Self {
            scheduled: t.scheduled,
            sent: t.sent,
            completed: t.completed,
            failed: t.failed,
            unfinished: t.unfinished,
            unsent: t.unsent,
            achieved_rps: if secs > 0.0 {
                t.completed as f64 / secs
            } else {
                0.0
            },
            window,
        }
    }
}

/// One entry of the document's `targets`: a target (as in `run.targets`)
/// and what its requests measured, under the run's own field names.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TargetResult {
    #[serde(flatten)]
    pub(crate) target: TargetInfo,
    pub(crate) requests: Requests,
    #[serde(default)]
    pub(crate) latency_us: Dist,
    #[serde(default)]
    pub(crate) service_time_us: Dist,
    #[serde(default)]
    pub(crate) ttfb_us: Dist,
    pub(crate) status: Statuses,
    #[serde(with = "codec::error_counts")]
    pub(crate) errors: [u64; ErrorKind::COUNT],
    pub(crate) bytes: Bytes,
    /// Its latency, service-time and TTFB histograms, in `--save` files only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) histograms: Option<TargetHistograms>,
    /// Its own per-second rows, as the run's `timeline` but without
    /// `target_rps` (the schedule is the run's); absent when it kept none
    /// (a run of more than `MAX_TARGET_TIMELINES` targets, or a file
    /// written before targets had one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) timeline: Vec<Row>,
}

/// A percentile the reports show: its label in text, its JSON key, its
/// value in percent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Percentile {
    pub(crate) label: &'static str,
    pub(crate) key: &'static str,
    pub(crate) percent: f64,
}

/// The percentiles of every summary, in the order shown.
pub(crate) const PERCENTILES: [Percentile; 6] = [
    Percentile {
        label: "p50",
        key: "p50",
        percent: 50.0,
    },
    Percentile {
        label: "p90",
        key: "p90",
        percent: 90.0,
    },
    Percentile {
        label: "p95",
        key: "p95",
        percent: 95.0,
    },
    Percentile {
        label: "p99",
        key: "p99",
        percent: 99.0,
    },
    Percentile {
        label: "p99.9",
        key: "p99_9",
        percent: 99.9,
    },
    Percentile {
        label: "p99.99",
        key: "p99_99",
        percent: 99.99,
    },
];

/// The summary of one histogram, µs: all zero when it is empty. Written
/// `{mean, stdev, min, p50 … p99_99, max, count}`, mean and stdev to 0.1.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Dist {
    pub(crate) count: u64,
    pub(crate) mean: f64,
    pub(crate) stdev: f64,
    pub(crate) min: u64,
    /// At [`PERCENTILES`], in that order.
    pub(crate) percentiles: [u64; PERCENTILES.len()],
    pub(crate) max: u64,
}

impl Dist {
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            mean: h.mean(),
            stdev: h.stdev(),
            min: h.min(),
            percentiles: PERCENTILES.map(|p| h.value_at_percentile(p.percent)),
            max: h.max(),
        }
    }

    /// The value at `percent`, one of [`PERCENTILES`].
    pub(crate) fn at(&self, percent: f64) -> u64 {
        PERCENTILES
            .iter()
            .position(|p| p.percent == percent)
            .map_or(0, |i| self.percentiles[i])
    }
}

impl Serialize for Dist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let round1 = |x: f64| crate::format::round(x, 1);
        let mut map = s.serialize_map(Some(5 + PERCENTILES.len()))?;
        map.serialize_entry("mean", &round1(self.mean))?;
        map.serialize_entry("stdev", &round1(self.stdev))?;
        map.serialize_entry("min", &self.min)?;
        for (p, v) in PERCENTILES.iter().zip(self.percentiles) {
            map.serialize_entry(p.key, &v)?;
        }
        map.serialize_entry("max", &self.max)?;
        map.serialize_entry("count", &self.count)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = std::collections::BTreeMap::<String, f64>::deserialize(d)?;
        let get = |k: &str| m.get(k).copied().unwrap_or(0.0);
        Ok(Self {
            count: get("count") as u64,
            mean: get("mean"),
            stdev: get("stdev"),
            min: get("min") as u64,
            percentiles: PERCENTILES.map(|p| get(p.key) as u64),
            max: get("max") as u64,
        })
    }
}

/// The `bytes` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Bytes {
    pub(crate) received: u64,
    pub(crate) sent: u64,
}

/// The `connections` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Connections {
    pub(crate) opened: u64,
    pub(crate) failed_attempts: u64,
    #[serde(default)]
    pub(crate) tls_full: u64,
    #[serde(default)]
    pub(crate) tls_resumed: u64,
    /// Connections established per destination: the addresses the host
    /// resolved to that answered, or `unix:PATH` (SPEC §9).
    #[serde(default)]
    pub(crate) by_address: std::collections::BTreeMap<String, u64>,
    /// Requests sent once more on a new connection: the reused keep-alive
    /// connection they were written on closed before answering (SPEC §2).
    #[serde(default)]
    pub(crate) retried: u64,
    /// HTTP/2 streams opened, retries included (SPEC §11).
    #[serde(default)]
    pub(crate) streams: u64,
    /// HTTP/2 GOAWAY frames received.
    #[serde(default)]
    pub(crate) goaways: u64,
}

impl Bytes {
    pub(crate) fn of(s: &Stats) -> Self {
        Self {
            received: s.bytes_in,
            sent: s.bytes_out,
        }
    }

    pub(crate) fn of_target(t: &TargetStats) -> Self {
        Self {
            received: t.bytes_in,
            sent: t.bytes_out,
        }
    }
}

impl Connections {
    pub(crate) fn of(s: &Stats) -> Self {
        Self {
            opened: s.connections,
            failed_attempts: s.connect_failures,
            tls_full: s.tls_full,
            tls_resumed: s.tls_resumed,
            by_address: s.destinations.iter().cloned().collect(),
            retried: s.retries,
            streams: s.streams,
            goaways: s.goaways,
        }
    }
}

/// One second of the timeline, and its wall-clock start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) second: u32,
    pub(crate) completed: u64,
    pub(crate) errors: u64,
    /// Failed requests of the second (0 in results of format 1).
    #[serde(default)]
    pub(crate) failed: u64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) max_us: u64,
    /// `wall_start_unix_s + second`, to the millisecond.
    #[serde(default)]
    pub(crate) unix_s: f64,
    /// The target rate of this second (SPEC §12); absent for `--rps max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target_rps: Option<f64>,
    /// The second's latencies and service times (saved results, format 2):
    /// HdrHistogram's compressed V2, base64, as in an interval log.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::spread"
    )]
    pub(crate) latency_histogram: Option<volley_core::Spread>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::spread"
    )]
    pub(crate) service_histogram: Option<volley_core::Spread>,
}

impl Row {
    /// The row of `r`; with its histograms when `histograms` and it kept
    /// any; with the target rate of `run`'s schedule for a row of the run
    /// (`None` for a target's).
    pub(crate) fn of(
        r: &Second,
        wall_start_unix_s: f64,
        run: Option<&RunInfo>,
        histograms: bool,
    ) -> Self {
        let from = f64::from(r.second);
        let kept = |s: &volley_core::Spread| (histograms && !s.is_empty()).then(|| s.clone());
        Self {
            second: r.second,
            completed: r.completed,
            errors: r.errors,
            failed: r.failed,
            latency_histogram: kept(&r.latency),
            service_histogram: kept(&r.service),
            p50_us: r.p50_us,
            p99_us: r.p99_us,
            max_us: r.max_us,
            unix_s: crate::format::round(wall_start_unix_s + f64::from(r.second), 3),
            target_rps: run
                .and_then(|run| run.target_between(from, from + 1.0))
                .map(|t| crate::format::round(t, 3)),
        }
    }

    /// The rows of a timeline read back, which must be in order of their
    /// second; `whose` names the timeline in the error.
    pub(crate) fn seconds(rows: &[Self], whose: &str) -> Result<Vec<Second>, String> {
        if !rows.windows(2).all(|w| w[0].second < w[1].second) {
            return Err(format!("{whose} rows are not in order of their second"));
        }
        Ok(rows.iter().map(Self::second).collect())
    }

    pub(crate) fn second(&self) -> Second {
        Second {
            second: self.second,
            completed: self.completed,
            errors: self.errors,
            failed: self.failed,
            p50_us: self.p50_us,
            p99_us: self.p99_us,
            max_us: self.max_us,
            latency: self.latency_histogram.clone().unwrap_or_default(),
            service: self.service_histogram.clone().unwrap_or_default(),
        }
    }
}

/// One `--threshold` rule's outcome (README: `thresholds[]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ThresholdResult {
    /// As written, spaces removed.
    pub(crate) rule: String,
    pub(crate) passed: bool,
    /// Measured, in `unit`: whole µs for a latency (0.1 µs for the mean),
    /// the share or count of errors, req/s.
    pub(crate) value: serde_json::Number,
    pub(crate) limit: f64,
    pub(crate) unit: String,
}

/// A result read back from a document: what a merge combines.
#[derive(Clone, Debug)]
pub(crate) struct Saved {
    pub(crate) info: RunInfo,
    pub(crate) stats: Stats,
    pub(crate) wall_start_unix_s: f64,
}
