//! The metrics in Prometheus' text exposition format (version 0.0.4).
//!
//! Written by hand rather than with the `prometheus-client` crate: every
//! value here is a sum of the loops' snapshots taken at scrape time, not a
//! metric object the program updates, which is the model that crate is
//! built around; the format is a few plain lines per series; and a pure
//! function of one snapshot is tested against golden text.

use std::fmt::Write;

use volley_core::{BOUNDS_US, Buckets, ErrorKind};
use volley_driver::Snapshot;

/// The content type of [`render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What one scrape shows.
#[derive(Debug)]
pub(crate) struct View<'a> {
    /// The loops' snapshots added up (or the final one).
    pub(crate) snapshot: &'a Snapshot,
    /// `shard` label: `I/N`, `0/1` without `--shard`.
    pub(crate) shard: &'a str,
    /// `target` label: the request's name, `METHOD path`.
    pub(crate) target: &'a str,
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
    target: String,
}

impl Out {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// One sample; `extra` labels after `shard` (and `target` when
    /// `per_target`).
    fn sample(&mut self, name: &str, per_target: bool, extra: &[(&str, &str)], value: &str) {
        let _ = write!(self.text, "{name}{{shard=\"{}\"", self.shard);
        if per_target {
            let _ = write!(self.text, ",target=\"{}\"", self.target);
        }
        for (k, v) in extra {
            let _ = write!(self.text, ",{k}=\"{}\"", escape(v));
        }
        let _ = writeln!(self.text, "}} {value}");
    }

    fn counter(&mut self, name: &str, help: &str, per_target: bool, value: u64) {
        self.head(name, "counter", help);
        self.sample(name, per_target, &[], &value.to_string());
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.head(name, "gauge", help);
        self.sample(name, false, &[], &number(value));
    }

    fn histogram(&mut self, name: &str, help: &str, b: &Buckets) {
        self.head(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (bound, n) in BOUNDS_US.iter().zip(b.cumulative) {
            self.sample(&bucket, true, &[("le", &seconds(*bound))], &n.to_string());
        }
        self.sample(&bucket, true, &[("le", "+Inf")], &b.count.to_string());
        self.sample(&format!("{name}_sum"), true, &[], &seconds(b.sum_us));
        self.sample(&format!("{name}_count"), true, &[], &b.count.to_string());
    }
}

/// The whole exposition of `view`. Every series carries `shard`; those of
/// requests carry `target` too, so shards and (later) targets can be told
/// apart or summed.
pub(crate) fn render(view: &View<'_>) -> String {
    let s = view.snapshot;
    let mut o = Out {
        text: String::with_capacity(8 * 1024),
        shard: escape(view.shard),
        target: escape(view.target),
    };
    o.head(
        "volley_requests_total",
        "counter",
        "Requests by how they ended: completed (a full response, any status), failed (an error), \
         and, once the run has ended, unfinished (still in flight) and unsent (no user was free).",
    );
    for (outcome, n) in [
        ("completed", s.completed),
        ("failed", s.failed),
        ("unfinished", s.unfinished),
        ("unsent", s.unsent),
    ] {
        o.sample(
            "volley_requests_total",
            true,
            &[("outcome", outcome)],
            &n.to_string(),
        );
    }
    o.counter(
        "volley_requests_sent_total",
        "Requests whose write started.",
        true,
        s.sent,
    );
    o.head(
        "volley_responses_total",
        "counter",
        "Completed requests by HTTP status code.",
    );
    for (code, n) in s.statuses() {
        o.sample(
            "volley_responses_total",
            true,
            &[("code", &code.to_string())],
            &n.to_string(),
        );
    }
    o.head(
        "volley_request_errors_total",
        "counter",
        "Failed requests by error kind (the JSON report's errors).",
    );
    for kind in ErrorKind::ALL {
        o.sample(
            "volley_request_errors_total",
            true,
            &[("kind", kind.name())],
            &s.errors[kind.index()].to_string(),
        );
    }
    o.counter(
        "volley_received_bytes_total",
        "Response bytes received.",
        false,
        s.bytes_in,
    );
    o.counter(
        "volley_sent_bytes_total",
        "Request bytes sent.",
        false,
        s.bytes_out,
    );
    o.counter(
        "volley_connections_opened_total",
        "TCP connections established.",
        false,
        s.connections,
    );
    o.counter(
        "volley_connect_failures_total",
        "Connect attempts that failed, retries and those before the start included.",
        false,
        s.connect_failures,
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
    o.histogram(
        "volley_latency_seconds",
        "Latency: from when each request was due to the end of its response.",
        &s.latency,
    );
    o.histogram(
        "volley_service_time_seconds",
        "Service time: from the start of each request's write to the end of its response.",
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
