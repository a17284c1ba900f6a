//! What `volley compare` prints: a line per metric with base, new, the
//! change, its 95 % interval and the verdict; exit code 4 when a
//! `--max-regression` rule failed.

use std::io::{self, Write};

use serde::Serialize;

use super::stats::Metric;
use super::{Comparison, Line, Verdict};
use crate::args::OutputFormat;
use crate::error::Exit;
use crate::format::{round, thousands, trim, us};
use crate::plan::Report;

fn value(m: Metric, v: Option<f64>) -> String {
    match (m, v) {
        (_, None) => "-".into(),
        (Metric::ErrorShare, Some(v)) => format!("{}%", trim(format!("{v:.3}"))),
        (Metric::Rate, Some(v)) => format!("{} req/s", crate::format::rate(v)),
        (_, Some(v)) => us(v),
    }
}

fn unit(m: Metric) -> &'static str {
    if m.in_points() { "pp" } else { "%" }
}

fn signed(x: f64) -> String {
    format!("{}{x:.1}", if x >= 0.0 { "+" } else { "" })
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::Same => "~",
        Verdict::Unresolved => "unresolved",
    }
}

/// The change and its interval as text: `+8.1% [+4.2%, +12.0%]`.
pub(crate) fn change_text(l: &Line) -> String {
    let u = unit(l.metric);
    match (l.change, l.interval, l.verdict) {
        (_, _, Verdict::Unresolved) => "- (too few samples)".into(),
        (Some(c), Some(i), _) => format!(
            "{}{u} [{}{u}, {}{u}]",
            signed(c),
            signed(i.low),
            signed(i.high)
        ),
        (Some(c), None, _) => format!("{}{u}", signed(c)),
        (None, _, _) => "-".into(),
    }
}

fn render_text(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    let info = &c.base.runs[0].info;
    writeln!(out, "{}", info.request())?;
    writeln!(
        out,
        "  base: {} run{} ({} requests), new: {} run{} ({} requests); 95% intervals from {}",
        c.base.runs.len(),
        if c.base.runs.len() == 1 { "" } else { "s" },
        thousands(c.base.merged.completed),
        c.new.runs.len(),
        if c.new.runs.len() == 1 { "" } else { "s" },
        thousands(c.new.merged.completed),
        c.method
    )?;
    writeln!(
        out,
        "\n  {:<8} {:>14} {:>14}  {:<36} verdict",
        "metric", "base", "new", "change [95% interval]"
    )?;
    for l in &c.lines {
        writeln!(
            out,
            "  {:<8} {:>14} {:>14}  {:<36} {}",
            l.metric.name(),
            value(l.metric, l.base),
            value(l.metric, l.new),
            change_text(l),
            verdict_word(l.verdict)
        )?;
    }
    if !c.tolerances.is_empty() {
        writeln!(out, "\nMax regressions")?;
        for t in &c.tolerances {
            writeln!(
                out,
                "  {}  {}",
                if t.failed { "FAILED" } else { "passed" },
                t.text
            )?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    method: &'a str,
    url: &'a str,
    base: Vec<&'a str>,
    new: Vec<&'a str>,
    interval_method: &'a str,
    seed: u64,
    metrics: Vec<MetricJson>,
    max_regressions: Vec<ToleranceJson<'a>>,
}

#[derive(Serialize)]
struct MetricJson {
    metric: String,
    base: Option<f64>,
    new: Option<f64>,
    /// `%` of base, or `pp` (percentage points) for errors.
    unit: &'static str,
    change: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
    verdict: &'static str,
}

#[derive(Serialize)]
struct ToleranceJson<'a> {
    rule: &'a str,
    passed: bool,
}

fn document(c: &Comparison) -> Document<'_> {
    let info = &c.base.runs[0].info;
    Document {
        format: "volley-compare",
        method: &info.method,
        url: &info.url,
        base: c.base.files.iter().map(String::as_str).collect(),
        new: c.new.files.iter().map(String::as_str).collect(),
        interval_method: c.method,
        seed: c.seed,
        metrics: c
            .lines
            .iter()
            .map(|l| MetricJson {
                metric: l.metric.name(),
                base: l.base.map(|v| round(v, 3)),
                new: l.new.map(|v| round(v, 3)),
                unit: unit(l.metric),
                change: l.change.map(|v| round(v, 3)),
                low: l.interval.map(|i| round(i.low, 3)),
                high: l.interval.map(|i| round(i.high, 3)),
                verdict: verdict_word(l.verdict),
            })
            .collect(),
        max_regressions: c
            .tolerances
            .iter()
            .map(|t| ToleranceJson {
                rule: &t.text,
                passed: !t.failed,
            })
            .collect(),
    }
}

/// Prints the comparison, writes `--html`, and picks the exit code: 4 when
/// a `--max-regression` rule failed.
pub(crate) fn conclude(c: &Comparison, report: &Report) -> anyhow::Result<Exit> {
    let mut out = io::stdout().lock();
    match report.output.unwrap_or_default() {
        OutputFormat::Text => render_text(c, &mut out)?,
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &serde_json::to_value(document(c))?)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    if let Some(path) = &report.html {
        if let Err(e) = std::fs::write(path, super::html::compare_page(c)) {
            eprintln!(
                "volley: --html {:?}: cannot write the report: {e}",
                path.display().to_string()
            );
            return Ok(Exit::NotRun);
        }
    }
    let failed: Vec<&str> = c
        .tolerances
        .iter()
        .filter(|t| t.failed)
        .map(|t| t.text.as_str())
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "volley: a significant regression past its tolerance: {}",
            failed.join(", ")
        );
        return Ok(Exit::Regression);
    }
    Ok(Exit::Ok)
}
