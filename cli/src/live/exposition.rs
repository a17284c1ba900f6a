//! The metrics in Prometheus' text exposition format (version 0.0.4).
//!
//! Written by hand rather than with the `prometheus-client` crate: every
//! value here is a sum of the loops' snapshots taken at scrape time, not a
//! metric object the program updates, which is the model that crate is
//! built around; the format is a few plain lines per series; and a pure
//! function of one snapshot is tested against golden text.

use std::fmt::Write;

use volley_core::{BOUNDS_US, Buckets, ErrorKind};
use volley_driver::{MAX_TARGETS, Snapshot, TargetCounts};

/// The content type of [`render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `target` label of the targets after the first [`MAX_TARGETS`],
/// counted together.
pub(crate) const OTHER_TARGETS: &str = "(others)";
/// The `code` label of responses whose code has no slot of its own in the
/// targets' counts (see `volley_driver::StatusSlots`).
const OTHER_CODES: &str = "other";

/// What one scrape shows.
#[derive(Debug)]
pub(crate) struct View<'a> {
    /// The loops' snapshots added up (or the final one).
    pub(crate) snapshot: &'a Snapshot,
    /// `shard` label: `I/N`, `0/1` without `--shard`.
    pub(crate) shard: &'a str,
    /// `target` label of the run-wide series: the request's name,
    /// `METHOD path`, or `*` for a list of targets.
    pub(crate) target: &'a str,
    /// With `--targets`, their names in order: the request counters have a
    /// series for each. Empty for one request.
    pub(crate) targets: &'a [String],
    /// The rate the schedule asks for now; `None` for `--rps max`.
    pub(crate) target_rps: Option<f64>,
    /// Completed requests per second of the sending window so far.
    pub(crate) achieved_rps: f64,
}

/// Label values escaped as the format asks: backslash, quote, newline.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Microseconds as exact decimal seconds: `50` → `0.00005`, `60000000` → `60`.
fn seconds(us: u64) -> String {
    let (whole, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A gauge's value: whole numbers without a fraction, others to 0.001.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

struct Out {
    text: String,
    shard: String,
}

impl Out {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// One sample; `extra` labels after `shard` (and `target`, already
    /// escaped, when there is one).
    fn sample(&mut self, name: &str, target: Option<&str>, extra: &[(&str, &str)], value: &str) {
        let _ = write!(self.text, "{name}{{shard=\"{}\"", self.shard);
        if let Some(target) = target {
            let _ = write!(self.text, ",target=\"{target}\"");
        }
        for (k, v) in extra {
            let _ = write!(self.text, ",{k}=\"{}\"", escape(v));
        }
        let _ = writeln!(self.text, "}} {value}");
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.head(name, "counter", help);
        self.sample(name, None, &[], &value.to_string());
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.head(name, "gauge", help);
        self.sample(name, None, &[], &number(value));
    }

    fn histogram(&mut self, name: &str, help: &str, target: &str, b: &Buckets) {
        self.head(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        let t = Some(target);
        for (bound, n) in BOUNDS_US.iter().zip(b.cumulative) {
            self.sample(&bucket, t, &[("le", &seconds(*bound))], &n.to_string());
        }
        self.sample(&bucket, t, &[("le", "+Inf")], &b.count.to_string());
        self.sample(&format!("{name}_sum"), t, &[], &seconds(b.sum_us));
        self.sample(&format!("{name}_count"), t, &[], &b.count.to_string());
    }
}

/// The request counters of one `target` label: the run's, or one
/// target's.
struct Requests {
    /// The label value, escaped.
    target: String,
    sent: u64,
    completed: u64,
    failed: u64,
    unfinished: u64,
    unsent: u64,
    /// `code` label values with their counts, ascending, `other` last.
    statuses: Vec<(String, u64)>,
    errors: [u64; ErrorKind::COUNT],
}

impl Requests {
    /// One for the run (`target`), or, with `--targets`, one for each of
    /// the first [`MAX_TARGETS`] targets and one for the others. A target
    /// has its series, at 0, before any loop has counted it.
    fn of(view: &View<'_>) -> Vec<Self> {
        let s = view.snapshot;
        if view.targets.is_empty() {
            return vec![Self {
                target: escape(view.target),
                sent: s.sent,
                completed: s.completed,
                failed: s.failed,
                unfinished: s.unfinished,
                unsent: s.unsent,
                statuses: s.statuses().map(|(c, n)| (c.to_string(), n)).collect(),
                errors: s.errors,
            }];
        }
        let none = TargetCounts::default();
        (0..view.targets.len().min(MAX_TARGETS + 1))
            .map(|i| {
                let t = s.targets.get(i).unwrap_or(&none);
                let name = match i < MAX_TARGETS {
                    true => &view.targets[i],
                    false => OTHER_TARGETS,
                };
                let mut statuses: Vec<(String, u64)> = t
                    .statuses(&s.target_codes)
                    .into_iter()
                    .map(|(c, n)| (c.to_string(), n))
                    .collect();
                if t.other_status > 0 {
                    statuses.push((OTHER_CODES.into(), t.other_status));
                }
                Self {
                    target: escape(name),
                    sent: t.sent,
                    completed: t.completed,
                    failed: t.failed,
                    unfinished: t.unfinished,
                    unsent: t.unsent,
                    statuses,
                    errors: t.errors,
                }
            })
            .collect()
    }
}

/// The whole exposition of `view`. Every series carries `shard`; those of
/// requests carry `target` too, so shards and targets can be told apart or
/// summed. With `--targets`, the request counters have a series for each
/// target (and one for the others, past the first [`MAX_TARGETS`]), which
/// add up to the run's; the histograms are the run's, `target="*"`.
pub(crate) fn render(view: &View<'_>) -> String {
    let s = view.snapshot;
    let requests = Requests::of(view);
    let mut o = Out {
        text: String::with_capacity(8 * 1024 + requests.len() * 2 * 1024),
        shard: escape(view.shard),
    };
    o.head(
        "volley_requests_total",
        "counter",
        "Requests by how they ended: completed (a full response, any status), failed (an error), \
         and, once the run has ended, unfinished (still in flight) and unsent (no user was free).",
    );
    for r in &requests {
        for (outcome, n) in [
            ("completed", r.completed),
            ("failed", r.failed),
            ("unfinished", r.unfinished),
            ("unsent", r.unsent),
        ] {
            o.sample(
                "volley_requests_total",
                Some(&r.target),
                &[("outcome", outcome)],
                &n.to_string(),
            );
        }
    }
    o.head(
        "volley_requests_sent_total",
        "counter",
        "Requests whose write started.",
    );
    for r in &requests {
        o.sample(
            "volley_requests_sent_total",
            Some(&r.target),
            &[],
            &r.sent.to_string(),
        );
    }
    o.head(
        "volley_responses_total",
        "counter",
        "Completed requests by HTTP status code.",
    );
    for r in &requests {
        for (code, n) in &r.statuses {
            o.sample(
                "volley_responses_total",
                Some(&r.target),
                &[("code", code)],
                &n.to_string(),
            );
        }
    }
    o.head(
        "volley_request_errors_total",
        "counter",
        "Failed requests by error kind (the JSON report's errors).",
    );
    for r in &requests {
        for kind in ErrorKind::ALL {
            o.sample(
                "volley_request_errors_total",
                Some(&r.target),
                &[("kind", kind.name())],
                &r.errors[kind.index()].to_string(),
            );
        }
    }
    o.counter(
        "volley_received_bytes_total",
        "Response bytes received.",
        s.bytes_in,
    );
    o.counter(
        "volley_sent_bytes_total",
        "Request bytes sent.",
        s.bytes_out,
    );
    o.counter(
        "volley_connections_opened_total",
        "TCP connections established.",
        s.connections,
    );
    o.counter(
        "volley_connect_failures_total",
        "Connect attempts that failed, retries and those before the start included.",
        s.connect_failures,
    );
    o.counter(
        "volley_retries_total",
        "Requests sent once more: over HTTP/1.1 after the keep-alive race, over HTTP/2 after the server did not process them.",
        s.retries,
    );
    o.counter(
        "volley_http2_streams_total",
        "HTTP/2 streams opened, retries included (0 over HTTP/1.1).",
        s.streams,
    );
    o.counter(
        "volley_http2_goaways_total",
        "HTTP/2 GOAWAY frames received.",
        s.goaways,
    );
    o.gauge(
        "volley_requests_in_flight",
        "Requests written and not yet ended.",
        s.in_flight as f64,
    );
    if let Some(rps) = view.target_rps {
        o.gauge(
            "volley_target_requests_per_second",
            "The arrival rate the schedule asks for now (following --ramp-up or --stages).",
            rps,
        );
    }
    o.gauge(
        "volley_achieved_requests_per_second",
        "Completed requests per second of the sending window so far; the report's achieved rate once the run has ended.",
        view.achieved_rps,
    );
    o.gauge(
        "volley_run_finished",
        "1 once the run has ended and these values are the report's.",
        f64::from(u8::from(s.finished)),
    );
    let run = escape(view.target);
    o.histogram(
        "volley_latency_seconds",
        "Latency: from when each request was due to the end of its response.",
        &run,
        &s.latency,
    );
    o.histogram(
        "volley_service_time_seconds",
        "Service time: from the start of each request's write to the end of its response.",
        &run,
        &s.service,
    );
    o.text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_escapes() {
        assert_eq!(seconds(50), "0.00005");
        assert_eq!(seconds(1_500), "0.0015");
        assert_eq!(seconds(60_000_000), "60");
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1_234_567), "1.234567");
        assert_eq!(number(1000.0), "1000");
        assert_eq!(number(999.5), "999.5");
        assert_eq!(number(1.0 / 3.0), "0.333");
        assert_eq!(escape("GET /a\"b\\c\nd"), "GET /a\\\"b\\\\c\\nd");
    }

    /// The value of the sample `series` (name and labels as written).
    fn value(text: &str, series: &str) -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
            .parse()
            .unwrap()
    }

    /// Past the first targets, the others count together; past the
    /// status slots, the other codes; names are escaped; and the series of
    /// each counter add up to the run's.
    #[test]
    fn series_for_each_target_add_up_to_the_run() {
        use volley_core::{Stats, TargetStats};
        use volley_driver::{StatusSlots, TARGET_CODES};
        let n = MAX_TARGETS + 3;
        let mut stats = Stats::new();
        let mut names = Vec::new();
        for i in 0..n {
            let mut t = TargetStats::new(2);
            // Target 1 sees more codes than there are slots.
            let codes = if i == 1 {
                200..200 + TARGET_CODES as u16 + 2
            } else {
                200..201
            };
            for code in codes {
                t.add_status(code, 2);
                stats.add_status(code, 2);
                t.completed += 2;
            }
            t.failed = 1;
            t.errors[ErrorKind::Reset.index()] = 1;
            t.sent = t.completed + t.failed;
            stats.completed += t.completed;
            stats.failed += t.failed;
            stats.sent += t.sent;
            stats.errors[ErrorKind::Reset.index()] += 1;
            stats.targets.push(t);
            names.push(format!("t{i}"));
        }
        names[0] = "say \"hi\"\\".into();
        let snapshot = Snapshot::of(&stats, 0, stats.elapsed, true, &StatusSlots::default());
        let text = render(&View {
            snapshot: &snapshot,
            shard: "0/1",
            target: "*",
            targets: &names,
            target_rps: None,
            achieved_rps: 0.0,
        });
        let completed = |target: &str| {
            value(
                &text,
                &format!(
                    "volley_requests_total{{shard=\"0/1\",target=\"{target}\",outcome=\"completed\"}}"
                ),
            )
        };
        assert_eq!(completed("say \\\"hi\\\"\\\\"), 2);
        assert_eq!(completed("t1"), 2 * (TARGET_CODES as u64 + 2));
        assert_eq!(completed(&format!("t{}", MAX_TARGETS - 1)), 2);
        assert_eq!(completed(OTHER_TARGETS), 2 * 3, "the last three together");
        assert!(!text.contains(&format!("target=\"t{MAX_TARGETS}\"")));
        assert_eq!(
            value(
                &text,
                "volley_responses_total{shard=\"0/1\",target=\"t1\",code=\"other\"}"
            ),
            4
        );
        assert!(!text.contains("target=\"t2\",code=\"other\""));
        // Each family adds up to the run's figure.
        let sum = |prefix: &str| -> u64 {
            text.lines()
                .filter(|l| l.starts_with(prefix))
                .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
                .sum()
        };
        assert_eq!(
            sum("volley_requests_total{"),
            stats.completed + stats.failed
        );
        assert_eq!(sum("volley_requests_sent_total{"), stats.sent);
        assert_eq!(sum("volley_responses_total{"), stats.completed);
        assert_eq!(sum("volley_request_errors_total{"), stats.failed);
        // One series of each histogram, for the run.
        assert_eq!(
            text.matches("volley_latency_seconds_count{").count(),
            1,
            "{text}"
        );
        assert!(text.contains("volley_latency_seconds_count{shard=\"0/1\",target=\"*\"} 0\n"));
    }

    /// Before any loop has counted a target, its series are there, at 0.
    #[test]
    fn targets_have_series_before_the_first_snapshot() {
        let names = ["a".to_string(), "b".to_string()];
        let text = render(&View {
            snapshot: &Snapshot::default(),
            shard: "0/1",
            target: "*",
            targets: &names,
            target_rps: None,
            achieved_rps: 0.0,
        });
        let series = "volley_requests_total{shard=\"0/1\",target=\"b\",outcome=\"completed\"}";
        assert_eq!(value(&text, series), 0);
        assert!(!text.contains("volley_requests_total{shard=\"0/1\",target=\"*\""));
    }

    /// Values on a bound count under it; beyond 60 s, only under +Inf.
    #[test]
    fn buckets_at_their_edges() {
        let mut h = volley_core::stats::new_histogram();
        for v in [50, 1_000, 60_000_000, 61_000_000] {
            h.record(v).unwrap();
        }
        let s = Snapshot {
            latency: Buckets::of(&h),
            ..Snapshot::default()
        };
        let text = render(&View {
            snapshot: &s,
            shard: "0/1",
            target: "GET /",
            targets: &[],
            target_rps: None,
            achieved_rps: 0.0,
        });
        let bucket = |le: &str| {
            let series = format!(
                "volley_latency_seconds_bucket{{shard=\"0/1\",target=\"GET /\",le=\"{le}\"}} "
            );
            text.lines()
                .find_map(|l| l.strip_prefix(&series))
                .unwrap_or_else(|| panic!("{series}"))
                .to_string()
        };
        assert_eq!(bucket("0.00005"), "1");
        assert_eq!(bucket("0.0005"), "1");
        assert_eq!(bucket("0.001"), "2");
        assert_eq!(bucket("50"), "2");
        assert_eq!(bucket("60"), "3");
        assert_eq!(bucket("+Inf"), "4");
        assert!(
            text.contains("\nvolley_latency_seconds_count{shard=\"0/1\",target=\"GET /\"} 4\n")
        );
        assert!(
            !text.contains("volley_target_requests_per_second"),
            "none for --rps max"
        );
    }
}
