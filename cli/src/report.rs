//! The report: pure functions from the run's numbers to text or JSON.

use std::io::{self, Write};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};
use volley_core::{ErrorKind, Stats, reason_phrase};

/// What was asked for, shown on the report's first lines.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunInfo {
    pub(crate) method: String,
    pub(crate) url: String,
    /// The planned sending time.
    pub(crate) duration: Duration,
    /// `None` for `--rps max`.
    pub(crate) target_rps: Option<f64>,
    pub(crate) users: usize,
    pub(crate) threads: usize,
    pub(crate) keep_alive: bool,
    pub(crate) timeout: Duration,
    /// The target is https.
    pub(crate) tls: bool,
    /// Certificates were not verified (`--insecure`).
    pub(crate) insecure: bool,
}

/// The percentiles the report shows, with their JSON keys.
const PERCENTILES: [(&str, &str, f64); 6] = [
    ("p50", "p50", 50.0),
    ("p90", "p90", 90.0),
    ("p95", "p95", 95.0),
    ("p99", "p99", 99.0),
    ("p99.9", "p99_9", 99.9),
    ("p99.99", "p99_99", 99.99),
];

/// A warning worth acting on, in plain words.
pub(crate) fn warnings(info: &RunInfo, s: &Stats) -> Vec<String> {
    let mut out = Vec::new();
    // How long a request holds its user: the service time, plus the connect
    // when every request opens a new connection.
    let connect_s = if info.keep_alive {
        0.0
    } else {
        s.connect.mean() / 1e6
    };
    let mean_service_s = s.service.mean() / 1e6 + connect_s;
    if let Some(target) = info.target_rps {
        let achieved = s.achieved_rps();
        // What the schedule asked for over the window (lower than the
        // target during a ramp-up).
        let scheduled_rps = s.scheduled as f64 / s.duration.as_secs_f64().max(1e-9);
        let lag_p90 = s.send_lag.value_at_percentile(90.0);
        // Requests waited: some never left, or most left late.
        let backlog = s.unsent * 1000 > s.scheduled || (s.sent > 0 && lag_p90 > 10_000);
        // Users that cannot connect wait out a backoff: then more users are
        // not the answer, the connect errors are (reported below).
        let connects_failing = [
            ErrorKind::ConnectRefused,
            ErrorKind::ConnectTimeout,
            ErrorKind::ConnectError,
        ]
        .iter()
        .any(|k| s.errors[k.index()] > 0);
        let backlog = backlog && !connects_failing;
        // Little's law: users busy at once = arrival rate × time each
        // request holds a user; 25% margin for variance.
        let busy = target * mean_service_s;
        let needed = (busy * 1.25).ceil().max(1.0) as u64;
        if backlog && s.completed > 0 && needed > info.users as u64 {
            out.push(format!(
                "the target rate was not reached ({} of {} req/s): all {} users were busy, so requests \
                 waited for a free one (their wait is in the latency). Little's law: {} req/s × {} mean \
                 service time = {:.0} users busy at once; run with --users {} or more",
                rate(achieved),
                rate(target),
                thousands(info.users as u64),
                rate(target),
                us(s.service.mean()),
                busy,
                thousands(needed),
            ));
        } else if backlog && s.completed > 0 {
            out.push(format!(
                "requests left late (send lag p90 {}) although {} users should suffice by Little's law \
                 ({:.1} busy at once): the service time varied widely, or this machine was short of CPU; \
                 try more --users or --threads",
                us(lag_p90 as f64),
                thousands(info.users as u64),
                busy
            ));
        } else if s.completed > 0
            && s.completed * 100 < s.scheduled * 95
            && s.unfinished + s.failed == 0
        {
            out.push(format!(
                "the scheduled rate was not reached ({} of {} req/s) though users were free: the load \
                 generator itself may be short of CPU; try more --threads or another machine",
                rate(achieved),
                rate(scheduled_rps)
            ));
        }
    }
    if s.failed > 0 {
        let (kind, _) = ErrorKind::ALL
            .iter()
            .map(|k| (*k, s.errors[k.index()]))
            .max_by_key(|(_, n)| *n)
            .unwrap_or((ErrorKind::Io, 0));
        out.push(format!(
            "{} requests failed ({}), most with {}: {}",
            thousands(s.failed),
            percent(s.failed, s.scheduled.max(1)),
            kind.label(),
            hint(kind, info)
        ));
    }
    let bad = s.non_success();
    if bad > 0 {
        let server_errors: u64 = s
            .statuses()
            .filter(|(c, _)| *c >= 500)
            .map(|(_, n)| n)
            .sum();
        let what = if server_errors > 0 {
            "the server reported errors (5xx); check its logs, and whether it fails only under this load (try a lower --rps)"
        } else {
            "4xx means the request itself was refused: check the URL, method, headers and body"
        };
        out.push(format!(
            "{} responses ({}) had a status other than 2xx/3xx: {what}",
            thousands(bad),
            percent(bad, s.completed.max(1))
        ));
    }
    if s.unfinished > 0 {
        out.push(format!(
            "{} requests were still in flight when the run ended; they are counted as unfinished, \
             not as latencies (a slow tail may be hidden: lower --timeout to see them as timeouts)",
            thousands(s.unfinished)
        ));
    }
    if s.completed == 0 && s.scheduled > 0 {
        out.push("no request completed: nothing was measured".to_string());
    }
    out
}

fn hint(kind: ErrorKind, info: &RunInfo) -> String {
    match kind {
        ErrorKind::ConnectRefused => "nothing is listening at that address; is the server up, and is the port right?".into(),
        ErrorKind::ConnectTimeout => "connections were not accepted in time; the server may be overloaded, or its listen backlog full".into(),
        ErrorKind::ConnectError => "could not open connections; with --no-keepalive at a high rate the local ports can run out (each closed connection waits in TIME_WAIT): use keep-alive or a lower rate".into(),
        ErrorKind::Timeout => format!("no full response within --timeout {}; the server is too slow at this load: lower --rps or raise --timeout", dur(info.timeout)),
        ErrorKind::Reset => "the server reset connections; it may be overloaded, or limit connections or requests per connection".into(),
        ErrorKind::Tls => "the TLS handshake or a record failed".into(),
        ErrorKind::Malformed => "the server sent something that is not valid HTTP/1.1; is the URL's port an HTTP port?".into(),
        ErrorKind::ClosedEarly => "the server closed connections before finishing responses; it may be overloaded or restarting".into(),
        _ => "see the example message above".into(),
    }
}

/// Writes the text report.
pub(crate) fn render_text(info: &RunInfo, s: &Stats, out: &mut dyn Write) -> io::Result<()> {
    let rate_text = match info.target_rps {
        Some(r) => format!("{} req/s", rate(r)),
        None => "max rate".to_string(),
    };
    writeln!(
        out,
        "{} {}\n  {} for {}, {} user{} on {} thread{}{}",
        info.method,
        info.url,
        rate_text,
        dur(info.duration),
        thousands(info.users as u64),
        if info.users == 1 { "" } else { "s" },
        info.threads,
        if info.threads == 1 { "" } else { "s" },
        if info.keep_alive {
            ""
        } else {
            ", a new connection per request"
        }
    )?;
    if info.insecure {
        writeln!(out, "  TLS certificate NOT verified (--insecure)")?;
    }

    writeln!(out, "\nRequests")?;
    let rows = [
        ("scheduled", s.scheduled),
        ("sent", s.sent),
        ("completed", s.completed),
        ("failed", s.failed),
        ("unfinished", s.unfinished),
        ("unsent", s.unsent),
    ];
    let w = rows
        .iter()
        .map(|(_, n)| thousands(*n).len())
        .max()
        .unwrap_or(1);
    for (name, n) in rows {
        writeln!(out, "  {name:<11} {:>w$}", thousands(n))?;
    }
    let achieved = s.achieved_rps();
    match info.target_rps {
        Some(t) => {
            write!(
                out,
                "  achieved    {} req/s over {}",
                rate(achieved),
                dur(s.duration)
            )?;
            // Completed against scheduled: the ratio to the target rate,
            // also for a ramp-up or a run stopped early.
            if s.scheduled > 0 {
                write!(
                    out,
                    " ({:.1}% of schedule",
                    100.0 * s.completed as f64 / s.scheduled as f64
                )?;
                let scheduled_rps = s.scheduled as f64 / s.duration.as_secs_f64().max(1e-9);
                if (scheduled_rps - t).abs() > t * 0.01 {
                    write!(out, "; the schedule averaged {} req/s", rate(scheduled_rps))?;
                }
                write!(out, ")")?;
            }
            writeln!(out)?
        }
        None => writeln!(
            out,
            "  achieved    {} req/s over {}",
            rate(achieved),
            dur(s.duration)
        )?,
    }

    writeln!(out, "\nTimes           latency     service        ttfb")?;
    if s.completed == 0 {
        writeln!(out, "  (no response completed)")?;
    } else {
        let cols = [&s.latency, &s.service, &s.ttfb];
        let line = |out: &mut dyn Write, name: &str, f: &dyn Fn(&Histogram<u64>) -> f64| {
            write!(out, "  {name:<8}")?;
            for h in cols {
                write!(out, "{:>12}", us(f(h)))?;
            }
            writeln!(out)
        };
        line(out, "mean", &|h| h.mean())?;
        line(out, "stdev", &|h| h.stdev())?;
        line(out, "min", &|h| h.min() as f64)?;
        for (label, _, p) in PERCENTILES {
            line(out, label, &|h| h.value_at_percentile(p) as f64)?;
        }
        line(out, "max", &|h| h.max() as f64)?;
        writeln!(
            out,
            "  latency counts from when each request was due; service time from when it was written"
        )?;

        writeln!(out, "\nLatency histogram")?;
        for (upper, count) in buckets(&s.latency, 10) {
            let width = (count as f64 / s.latency.len() as f64 * 40.0).round() as usize;
            writeln!(
                out,
                "  ≤ {:>9}  {:<40}  {:>w$}",
                us(upper as f64),
                "█".repeat(width.max(usize::from(count > 0))),
                thousands(count),
                w = thousands(s.completed).len()
            )?;
        }
    }

    writeln!(out, "\nStatus codes")?;
    if s.completed == 0 {
        writeln!(out, "  (none)")?;
    }
    for (code, n) in s.statuses() {
        writeln!(
            out,
            "  {code} {:<24} {:>12} {:>7}",
            reason_phrase(code),
            thousands(n),
            percent(n, s.completed)
        )?;
    }

    if s.failed > 0 || s.examples.0.iter().any(Option::is_some) {
        writeln!(out, "\nErrors")?;
        for kind in ErrorKind::ALL {
            let n = s.errors[kind.index()];
            let example = s.examples.0[kind.index()].as_deref();
            if n == 0 && example.is_none() {
                continue;
            }
            writeln!(
                out,
                "  {:<20} {:>10}   e.g. {}",
                kind.label(),
                thousands(n),
                example.unwrap_or("-")
            )?;
        }
        if s.connect_failures > 0 {
            writeln!(
                out,
                "  ({} failed connect attempts in all, retried with backoff)",
                thousands(s.connect_failures)
            )?;
        }
    }

    writeln!(out, "\nTransfer")?;
    let secs = s.duration.as_secs_f64().max(1e-9);
    writeln!(
        out,
        "  received    {:>10}   {}/s",
        bytes(s.bytes_in),
        bytes((s.bytes_in as f64 / secs) as u64)
    )?;
    writeln!(
        out,
        "  sent        {:>10}   {}/s",
        bytes(s.bytes_out),
        bytes((s.bytes_out as f64 / secs) as u64)
    )?;
    write!(out, "  connections {:>10}", thousands(s.connections))?;
    if s.connections > 0 {
        write!(
            out,
            "   connect mean {}, max {}",
            us(s.connect.mean()),
            us(s.connect.max() as f64)
        )?;
    }
    writeln!(out)?;
    if info.tls && !s.tls_handshake.is_empty() {
        writeln!(
            out,
            "  tls         {:>10}   handshake mean {}, max {}; {} full, {} resumed",
            thousands(s.tls_handshake.len()),
            us(s.tls_handshake.mean()),
            us(s.tls_handshake.max() as f64),
            thousands(s.tls_full),
            thousands(s.tls_resumed)
        )?;
    }
    if s.sent > 0 {
        writeln!(
            out,
            "  send lag    p50 {}, p99 {} (how late requests left after they were due)",
            us(s.send_lag.value_at_percentile(50.0) as f64),
            us(s.send_lag.value_at_percentile(99.0) as f64)
        )?;
    }

    let warnings = warnings(info, s);
    if !warnings.is_empty() {
        writeln!(out, "\nWarnings")?;
        for w in warnings {
            writeln!(out, "  ! {w}")?;
        }
    }
    Ok(())
}

/// Up to `n` log-spaced buckets from min to max: (upper bound µs, count).
fn buckets(h: &Histogram<u64>, n: usize) -> Vec<(u64, u64)> {
    let (lo, hi) = (h.min().max(1), h.max().max(1));
    if h.is_empty() {
        return Vec::new();
    }
    if lo == hi || h.equivalent(lo, hi) {
        return vec![(hi, h.len())];
    }
    let ratio = (hi as f64 / lo as f64).powf(1.0 / n as f64);
    let mut out = Vec::with_capacity(n);
    let mut prev = 0u64;
    for i in 1..=n {
        let upper = if i == n {
            hi
        } else {
            ((lo as f64) * ratio.powi(i as i32)).ceil() as u64
        };
        if upper <= prev {
            continue;
        }
        let count = h.count_between(prev + u64::from(prev > 0), upper);
        out.push((upper, count));
        prev = h.highest_equivalent(upper);
    }
    out
}

fn summary_json(h: &Histogram<u64>) -> Value {
    let mut m = Map::new();
    let empty = h.is_empty();
    m.insert(
        "mean".into(),
        json!(if empty { 0.0 } else { round1(h.mean()) }),
    );
    m.insert(
        "stdev".into(),
        json!(if empty { 0.0 } else { round1(h.stdev()) }),
    );
    m.insert("min".into(), json!(if empty { 0 } else { h.min() }));
    for (_, key, p) in PERCENTILES {
        m.insert(
            key.into(),
            json!(if empty { 0 } else { h.value_at_percentile(p) }),
        );
    }
    m.insert("max".into(), json!(if empty { 0 } else { h.max() }));
    m.insert("count".into(), json!(h.len()));
    Value::Object(m)
}

/// The JSON report (SPEC §4). Durations are in microseconds.
pub(crate) fn to_json(info: &RunInfo, s: &Stats) -> Value {
    let status: Map<String, Value> = s
        .statuses()
        .map(|(c, n)| (c.to_string(), json!(n)))
        .collect();
    let errors: Map<String, Value> = ErrorKind::ALL
        .iter()
        .map(|k| (k.name().to_string(), json!(s.errors[k.index()])))
        .collect();
    let examples: Map<String, Value> = ErrorKind::ALL
        .iter()
        .filter_map(|k| {
            s.examples.0[k.index()]
                .as_ref()
                .map(|e| (k.name().to_string(), json!(e)))
        })
        .collect();
    let timeline: Vec<Value> = s
        .timeline
        .iter()
        .map(|r| {
            json!({ "second": r.second, "completed": r.completed, "errors": r.errors,
                    "p50_us": r.p50_us, "p99_us": r.p99_us, "max_us": r.max_us })
        })
        .collect();
    json!({
        "run": {
            "method": info.method,
            "url": info.url,
            "duration_s": info.duration.as_secs_f64(),
            "target_rps": info.target_rps,
            "users": info.users,
            "threads": info.threads,
            "keep_alive": info.keep_alive,
            "timeout_s": info.timeout.as_secs_f64(),
            "tls": info.tls,
            "insecure": info.insecure,
        },
        "requests": {
            "scheduled": s.scheduled,
            "sent": s.sent,
            "completed": s.completed,
            "failed": s.failed,
            "unfinished": s.unfinished,
            "unsent": s.unsent,
            "achieved_rps": round1(s.achieved_rps()),
            "window_s": s.duration.as_secs_f64(),
        },
        "latency_us": summary_json(&s.latency),
        "service_time_us": summary_json(&s.service),
        "ttfb_us": summary_json(&s.ttfb),
        "connect_us": summary_json(&s.connect),
        "tls_handshake_us": summary_json(&s.tls_handshake),
        "send_lag_us": summary_json(&s.send_lag),
        "status": status,
        "errors": errors,
        "error_examples": examples,
        "bytes": { "received": s.bytes_in, "sent": s.bytes_out },
        "connections": { "opened": s.connections, "failed_attempts": s.connect_failures,
                         "tls_full": s.tls_full, "tls_resumed": s.tls_resumed },
        "timeline": timeline,
        "thresholds": [],
        "warnings": warnings(info, s),
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate with thousands separators and one decimal below 100.
pub(crate) fn rate(r: f64) -> String {
    if r >= 100.0 {
        thousands(r.round() as u64)
    } else {
        format!("{r:.1}")
    }
}

pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    let p = 100.0 * part as f64 / whole as f64;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// Microseconds in the unit that suits the value.
pub(crate) fn us(v: f64) -> String {
    if v < 1_000.0 {
        format!("{v:.0}µs")
    } else if v < 10_000.0 {
        format!("{:.2}ms", v / 1e3)
    } else if v < 1_000_000.0 {
        format!("{:.1}ms", v / 1e3)
    } else {
        format!("{:.2}s", v / 1e6)
    }
}

pub(crate) fn dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s / 3600.0)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else if s >= 1.0 {
        let t = format!("{s:.3}");
        format!("{}s", t.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{}ms", d.as_millis())
    }
}

pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(us(850.0), "850µs");
        assert_eq!(us(1234.0), "1.23ms");
        assert_eq!(us(12345.0), "12.3ms");
        assert_eq!(us(2_500_000.0), "2.50s");
        assert_eq!(dur(Duration::from_secs(10)), "10s");
        assert_eq!(dur(Duration::from_secs(120)), "2m");
        assert_eq!(dur(Duration::from_millis(500)), "500ms");
        assert_eq!(dur(Duration::from_millis(1500)), "1.5s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 100_000), "<0.1%");
    }

    #[test]
    fn buckets_cover_every_sample() {
        let mut h = volley_core::stats::new_histogram();
        for v in [100u64, 200, 400, 800, 1600, 3200, 6400, 100_000] {
            h.record(v).unwrap();
        }
        let b = buckets(&h, 10);
        assert_eq!(b.iter().map(|(_, n)| n).sum::<u64>(), h.len());
        assert!(b.windows(2).all(|w| w[0].0 < w[1].0));
        let mut one = volley_core::stats::new_histogram();
        one.record(5).unwrap();
        assert_eq!(buckets(&one, 10), vec![(5, 1)]);
    }
}
