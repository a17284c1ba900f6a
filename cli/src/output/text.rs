//! The text report (SPEC §4): a [`Summary`] rendered for people, aligned,
//! units chosen per value, thousands separated.

use std::io::{self, Write};

use hdrhistogram::Histogram;
use volley_core::reason_phrase;

use super::summary::Summary;
use crate::format::{bytes, dur, percent, rate, thousands, trim, us};
use crate::plan::threshold::Verdict;
use crate::result::{Dist, PERCENTILES};

/// Writes the whole report.
pub(crate) fn render(s: &Summary<'_>, out: &mut dyn Write) -> io::Result<()> {
    header(s, out)?;
    requests(s, out)?;
    times(s, out)?;
    statuses(s, out)?;
    targets(s, out)?;
    errors(s, out)?;
    transfer(s, out)?;
    if !s.warnings.is_empty() {
        writeln!(out, "\nWarnings")?;
        for w in &s.warnings {
            writeln!(out, "  ! {w}")?;
        }
    }
    thresholds(&s.verdicts, out)
}

fn header(s: &Summary<'_>, out: &mut dyn Write) -> io::Result<()> {
    let info = s.run;
    let rate_text = match info.target_rps {
        Some(r) if !info.stages.is_empty() => {
            let shape: Vec<String> = info
                .stages
                .iter()
                .map(|st| format!("{}:{}", dur(st.duration), trim(format!("{:.3}", st.rps))))
                .collect();
            format!("stages {} (up to {} req/s)", shape.join(","), rate(r))
        }
        Some(r) => format!("{} req/s", rate(r)),
        None => "max rate".to_string(),
    };
    writeln!(
        out,
        "{}\n  {} for {}, {} user{} on {} thread{}{}",
        info.request(),
        rate_text,
        dur(info.duration),
        thousands(info.users as u64),
        if info.users == 1 { "" } else { "s" },
        info.threads,
        if info.threads == 1 { "" } else { "s" },
        match (info.connections, info.keep_alive) {
            (Some(c), _) => format!(
                ", HTTP/2 over {c} connection{} to each origin",
                if c == 1 { "" } else { "s" }
            ),
            (None, true) => String::new(),
            (None, false) => ", a new connection per request".into(),
        }
    )?;
    if let Some(to) = s.destinations_to_show() {
        writeln!(out, "  connected to {to}")?;
    }
    if info.insecure {
        writeln!(out, "  TLS certificate NOT verified (--insecure)")?;
    }
    Ok(())
}

fn requests(s: &Summary<'_>, out: &mut dyn Write) -> io::Result<()> {
    let r = &s.requests;
    writeln!(out, "\nRequests")?;
    let rows = [
        ("scheduled", r.scheduled),
        ("sent", r.sent),
        ("completed", r.completed),
        ("failed", r.failed),
        ("unfinished", r.unfinished),
        ("unsent", r.unsent),
    ];
    let w = rows
        .iter()
        .map(|(_, n)| thousands(*n).len())
        .max()
        .unwrap_or(1);
    for (name, n) in rows {
        writeln!(out, "  {name:<11} {:>w$}", thousands(n))?;
    }
    write!(
        out,
        "  achieved    {} req/s over {}",
        rate(r.achieved_rps),
        dur(r.window)
    )?;
    // Completed against scheduled: the ratio to the target rate, also for a
    // ramp-up or a run stopped early.
    if let (Some(target), Some(share)) = (s.run.target_rps, s.of_schedule()) {
        write!(out, " ({share:.1}% of schedule")?;
        if (s.scheduled_rps - target).abs() > target * 0.01 {
            write!(
                out,
                "; the schedule averaged {} req/s",
                rate(s.scheduled_rps)
            )?;
        }
        write!(out, ")")?;
    }
    writeln!(out)
}

fn times(s: &Summary<'_>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\nTimes           latency     service        ttfb")?;
    if s.requests.completed == 0 {
        return writeln!(out, "  (no response completed)");
    }
    let cols = [&s.latency, &s.service, &s.ttfb];
    let line = |out: &mut dyn Write, name: &str, f: &dyn Fn(&Dist) -> f64| {
        write!(out, "  {name:<8}")?;
        for d in cols {
            write!(out, "{:>12}", us(f(d)))?;
        }
        writeln!(out)
    };
    line(out, "mean", &|d| d.mean)?;
    line(out, "stdev", &|d| d.stdev)?;
    line(out, "min", &|d| d.min as f64)?;
    for (i, p) in PERCENTILES.iter().enumerate() {
        line(out, p.label, &|d| d.percentiles[i] as f64)?;
    }
    line(out, "max", &|d| d.max as f64)?;
    writeln!(
        out,
        "  latency counts from when each request was due; service time from when it was written"
    )?;

    writeln!(out, "\nLatency histogram")?;
    let h = &s.stats.latency;
    for (upper, count) in buckets(h, 10) {
        let width = (count as f64 / h.len() as f64 * 40.0).round() as usize;
        writeln!(
            out,
            "  ≤ {:>9}  {:<40}  {:>w$}",
            us(upper as f64),
            "█".repeat(width.max(usize::from(count > 0))),
            thousands(count),
            w = thousands(s.requests.completed).len()
        )?;
    }
    Ok(())
}

fn statuses(s: &Summary<'_>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\nStatus codes")?;
    if s.requests.completed == 0 {
        writeln!(out, "  (none)")?;
    }
    for &(code, n) in &s.statuses.0 {
        writeln!(
            out,
            "  {code} {:<24} {:>12} {:>7}",
            reason_phrase(code),
            thousands(n),
            percent(n, s.requests.completed)
        )?;
    }
    Ok(())
}

/// The "Targets" table of a run of `--targets`; nothing otherwise.
fn targets(s: &Summary<'_>, out: &mut dyn Write) -> io::Result<()> {
    if s.targets.is_empty() {
        return Ok(());
    }
    let w = s
        .targets
        .iter()
        .map(|t| t.info.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("name".len());
    writeln!(out, "\nTargets")?;
    writeln!(
        out,
        "  {:<w$} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "name", "requests", "req/s", "p50", "p99", "max", "errors"
    )?;
    for t in &s.targets {
        let time = |v: u64| match t.latency.count {
            0 => "-".to_string(),
            _ => us(v as f64),
        };
        writeln!(
            out,
            "  {:<w$} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}",
            t.info.name,
            thousands(t.requests.scheduled),
            rate(t.requests.achieved_rps),
            time(t.latency.at(50.0)),
            time(t.latency.at(99.0)),
            time(t.latency.max),
            percent(t.errors_total, t.ended)
        )?;
    }
    writeln!(
        out,
        "  requests: scheduled; p50 to max: latency; errors: failures and statuses other than 2xx/3xx, \
         of the requests that ended"
    )
}

fn errors(s: &Summary<'_>, out: &mut dyn Write) -> io::Result<()> {
    if s.errors.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nErrors")?;
    for e in &s.errors {
        writeln!(
            out,
            "  {:<20} {:>10}   e.g. {}",
            e.kind.label(),
            thousands(e.count),
            e.example.unwrap_or("-")
        )?;
    }
    if s.connect_failures() > 0 {
        writeln!(
            out,
            "  ({} failed connect attempts in all, retried with backoff)",
            thousands(s.connect_failures())
        )?;
    }
    Ok(())
}

fn transfer(s: &Summary<'_>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\nTransfer")?;
    writeln!(
        out,
        "  received    {:>10}   {}/s",
        bytes(s.bytes.received),
        bytes(s.bytes_per_s.received)
    )?;
    writeln!(
        out,
        "  sent        {:>10}   {}/s",
        bytes(s.bytes.sent),
        bytes(s.bytes_per_s.sent)
    )?;
    write!(out, "  connections {:>10}", thousands(s.connections.opened))?;
    if s.connections.opened > 0 {
        write!(
            out,
            "   connect mean {}, max {}",
            us(s.connect.mean),
            us(s.connect.max as f64)
        )?;
    }
    writeln!(out)?;
    if s.connections.streams > 0 {
        writeln!(
            out,
            "  streams     {:>10}   HTTP/2; {} GOAWAY received",
            thousands(s.connections.streams),
            thousands(s.connections.goaways)
        )?;
    }
    if s.connections.retried > 0 {
        let why = match s.connections.streams {
            0 => "requests whose reused connection the server closed before answering",
            _ => "requests the server did not process, sent again",
        };
        writeln!(
            out,
            "  retried     {:>10}   {why}",
            thousands(s.connections.retried)
        )?;
    }
    let tls = &s.tls_handshake;
    if s.run.tls && tls.count > 0 {
        writeln!(
            out,
            "  tls         {:>10}   handshake mean {}, max {}; {} full, {} resumed",
            thousands(tls.count),
            us(tls.mean),
            us(tls.max as f64),
            thousands(s.connections.tls_full),
            thousands(s.connections.tls_resumed)
        )?;
    }
    if s.requests.sent > 0 {
        writeln!(
            out,
            "  send lag    p50 {}, p99 {} (how late requests left after they were due)",
            us(s.send_lag.at(50.0) as f64),
            us(s.send_lag.at(99.0) as f64)
        )?;
    }
    Ok(())
}

/// The "Thresholds" section; nothing without rules.
fn thresholds(verdicts: &[Verdict], out: &mut dyn Write) -> io::Result<()> {
    if verdicts.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nThresholds")?;
    let w = verdicts
        .iter()
        .map(|v| v.rule.text().chars().count())
        .max()
        .unwrap_or(0);
    for v in verdicts {
        let verdict = if v.passed { "passed" } else { "FAILED" };
        writeln!(
            out,
            "  {verdict}  {:<w$}  measured {}",
            v.rule.text(),
            v.shown()
        )?;
    }
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    if failed > 0 {
        writeln!(out, "  {failed} of {} failed", verdicts.len())?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::threshold::{evaluate, parse};

    #[test]
    fn the_thresholds_section() {
        let mut s = volley_core::Stats::new();
        for i in 1..=100u64 {
            s.latency.record(i * 1000).unwrap();
            s.add_status(if i <= 3 { 503 } else { 200 }, 1);
        }
        (s.completed, s.failed) = (100, 2);
        let verdicts = evaluate(
            &[parse("p50<1s").unwrap(), parse("errors<1%").unwrap()],
            &s,
            &[],
        );
        let mut out = Vec::new();
        thresholds(&verdicts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = "\nThresholds\n  passed  p50<1s     measured 0.050015s\n  FAILED  errors<1%  measured 4.902%\n  1 of 2 failed\n";
        assert_eq!(
            text, expected,
            "\n--- got ---\n{text}--- expected ---\n{expected}"
        );
        let mut none = Vec::new();
        thresholds(&[], &mut none).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn a_target_without_completions_shows_dashes() {
        let mut s = volley_core::Stats::new();
        let mut t = volley_core::TargetStats::new(3);
        (t.scheduled, t.unsent) = (3, 3);
        s.targets = vec![t];
        let info = crate::result::RunInfo {
            targets: vec![crate::result::TargetInfo {
                name: "GET /slow".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut out = Vec::new();
        targets(&super::Summary::new(&info, &s, &[], 0.0), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let row = text.lines().nth(3).unwrap();
        assert_eq!(
            row,
            "  GET /slow          3       0.0         -         -         -       -"
        );
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
