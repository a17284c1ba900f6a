//! What `volley find` prints: the answer, the table of steps, and with
//! `--html` the latency-against-rate curve with the SLO line. Exit code 0
//! when a rate was found, 3 when even the first step failed its SLOs, 1
//! when nothing could be measured.

use std::io::{self, Write};

use serde::Serialize;

use super::search::Answer;
use super::{Found, Outcome, Step};
use crate::args::OutputFormat;
use crate::error::Exit;
use crate::format::{share, thousands, us};
use crate::plan::Report;

/// The answer in one sentence.
pub(crate) fn answer_line(f: &Found) -> String {
    let within = f.slos.join(" and ");
    let mut line = match f.answer {
        Some(Answer::Sustains { rps, at_max: false }) => {
            format!(
                "sustains {} req/s within {within}",
                thousands(rps.round() as u64)
            )
        }
        Some(Answer::Sustains { rps, at_max: true }) => format!(
            "sustains at least {} req/s within {within} (the --max-rps; it may sustain more)",
            thousands(rps.round() as u64)
        ),
        Some(Answer::NothingPassed) => format!("sustains none of the rates tried within {within}"),
        None => "found no rate: nothing could be measured".to_string(),
    };
    let confirmed = f.steps.iter().any(|s| s.hold && s.outcome == Outcome::Pass);
    if matches!(f.answer, Some(Answer::Sustains { .. })) && !confirmed {
        line.push_str(" (not confirmed by a hold)");
    }
    if let Some(why) = &f.stopped {
        line.push_str(&format!("; stopped early: {why}"));
    }
    line
}

/// One step as a line: its rate, what it measured, and how it went.
pub(crate) fn step_line(s: &Step) -> String {
    format!(
        "{}{} req/s, {} users: achieved {} req/s, p50 {}, p99 {}, errors {}: {}",
        if s.hold { "hold at " } else { "" },
        thousands(s.rps.round() as u64),
        thousands(s.users as u64),
        thousands(s.achieved_rps.round() as u64),
        us(s.p50_us as f64),
        us(s.p99_us as f64),
        share(s.error_share),
        verdict(&s.outcome)
    )
}

fn verdict(o: &Outcome) -> String {
    match o {
        Outcome::Pass => "pass".into(),
        Outcome::Fail(why) => format!("fail: {why}"),
        Outcome::Limited { why, .. } => format!("volley was the limit: {why}"),
    }
}

fn render_text(f: &Found, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{} {}", f.method, f.url)?;
    writeln!(
        out,
        "  find within {}, in {:.0}s\n",
        f.slos.join(" and "),
        f.took.as_secs_f64()
    )?;
    writeln!(out, "Answer\n  {}\n", answer_line(f))?;
    writeln!(
        out,
        "Steps\n  {:>9} {:>6} {:>9} {:>9} {:>9} {:>7}  result",
        "req/s", "users", "achieved", "p50", "p99", "errors"
    )?;
    for s in &f.steps {
        writeln!(
            out,
            "  {:>9} {:>6} {:>9} {:>9} {:>9} {:>7}  {}{}",
            thousands(s.rps.round() as u64),
            thousands(s.users as u64),
            thousands(s.achieved_rps.round() as u64),
            us(s.p50_us as f64),
            us(s.p99_us as f64),
            share(s.error_share),
            if s.hold { "hold: " } else { "" },
            verdict(&s.outcome)
        )?;
    }
    if !f.notes.is_empty() {
        writeln!(out, "\nNotes")?;
        for n in &f.notes {
            writeln!(out, "  ! {n}")?;
        }
    }
    Ok(())
}

/// `volley find -o json`.
#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    method: &'a str,
    url: &'a str,
    slo: &'a [String],
    answer: String,
    /// The rate found, req/s; null when none was.
    answer_rps: Option<f64>,
    confirmed: bool,
    at_max_rps: bool,
    stopped_early: Option<&'a str>,
    took_s: f64,
    notes: &'a [String],
    steps: Vec<StepJson>,
}

#[derive(Serialize)]
struct StepJson {
    rps: f64,
    users: usize,
    hold: bool,
    achieved_rps: f64,
    p50_us: u64,
    p99_us: u64,
    error_share: f64,
    passed: bool,
    result: String,
}

fn document(f: &Found) -> Document<'_> {
    let (answer_rps, at_max) = match f.answer {
        Some(Answer::Sustains { rps, at_max }) => (Some(rps), at_max),
        _ => (None, false),
    };
    Document {
        format: "volley-find",
        method: &f.method,
        url: &f.url,
        slo: &f.slos,
        answer: answer_line(f),
        answer_rps,
        confirmed: f.steps.iter().any(|s| s.hold && s.outcome == Outcome::Pass),
        at_max_rps: at_max,
        stopped_early: f.stopped.as_deref(),
        took_s: crate::format::round(f.took.as_secs_f64(), 3),
        notes: &f.notes,
        steps: f
            .steps
            .iter()
            .map(|s| StepJson {
                rps: s.rps,
                users: s.users,
                hold: s.hold,
                achieved_rps: crate::format::round(s.achieved_rps, 1),
                p50_us: s.p50_us,
                p99_us: s.p99_us,
                error_share: crate::format::round(s.error_share, 4),
                passed: s.outcome == Outcome::Pass,
                result: verdict(&s.outcome),
            })
            .collect(),
    }
}

/// Prints the answer and the steps, writes `--html`, and picks the exit code.
pub(crate) fn conclude(f: &Found, report: &Report) -> anyhow::Result<Exit> {
    let mut out = io::stdout().lock();
    match report.output.unwrap_or_default() {
        OutputFormat::Text => render_text(f, &mut out)?,
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &serde_json::to_value(document(f))?)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    let mut written = true;
    if let Some(path) = &report.html {
        if let Err(e) = std::fs::write(path, super::html::find_page(f)) {
            eprintln!(
                "volley: --html {:?}: cannot write the report: {e}",
                path.display().to_string()
            );
            written = false;
        }
    }
    Ok(match f.answer {
        _ if !written => Exit::NotRun,
        Some(Answer::Sustains { .. }) => Exit::Ok,
        Some(Answer::NothingPassed) => Exit::Threshold,
        None => Exit::NotRun,
    })
}
