//! The output stage: how a run or a merge ends. A [`Summary`] is built
//! once; the report goes to stdout as text or JSON, `--save` and `--html`
//! are written, and the exit code is chosen (SPEC §5).

pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod summary;
pub(crate) mod text;

use std::io::{self, Write};
use std::path::Path;

use volley_core::Stats;

use crate::args::OutputFormat;
use crate::error::Exit;
use crate::plan::Report;
use crate::plan::threshold;
use crate::result::{RunInfo, saved};
pub(crate) use summary::Summary;

/// Prints the report, writes `--save` and `--html`, and picks the exit
/// code: 1 when no request completed or a file could not be written, else
/// 3 when a threshold failed, else 0.
pub(crate) fn conclude(
    info: &RunInfo,
    stats: &Stats,
    report: &Report,
    wall_start_unix_s: f64,
) -> anyhow::Result<Exit> {
    let summary = Summary::new(info, stats, &report.thresholds, wall_start_unix_s);
    let printed = print(&summary, report.output);

    // Saved even when stdout failed (e.g. a closed pipe): the file is
    // often the point of the run.
    let mut saved_ok = true;
    if let Some(path) = &report.save {
        let written = saved::write(path, &json::document(&summary, true));
        saved_ok &= written_or_said("--save", path, "the result", written);
    }
    if let Some(path) = &report.html {
        let written = std::fs::write(path, html::page(&summary));
        saved_ok &= written_or_said("--html", path, "the report", written);
    }
    // A failed save or page decides the exit code (1) over a closed stdout (0).
    printed.or_else(|e| if saved_ok { Err(e) } else { Ok(()) })?;
    if let Some(line) = threshold::failure_line(&summary.verdicts) {
        eprintln!("volley: {line}");
    }

    Ok(
        if stats.completed == 0 && stats.scheduled > 0 || !saved_ok {
            Exit::NotRun
        } else if summary.threshold_failed() {
            Exit::Threshold
        } else {
            Exit::Ok
        },
    )
}

/// Says on stderr that `path` could not be written; true when it was.
fn written_or_said(flag: &str, path: &Path, what: &str, written: io::Result<()>) -> bool {
    match written {
        Ok(()) => true,
        Err(e) => {
            eprintln!(
                "volley: {flag} {:?}: cannot write {what}: {e}",
                path.display().to_string()
            );
            false
        }
    }
}

/// The report on stdout, unless stdout carries the `--live` lines.
fn print(summary: &Summary<'_>, format: Option<OutputFormat>) -> io::Result<()> {
    let Some(format) = format else {
        return Ok(());
    };
    let mut out = io::stdout().lock();
    match format {
        OutputFormat::Text => text::render(summary, &mut out)?,
        OutputFormat::Json => {
            out.write_all(&saved::to_json(&json::document(summary, false))?)?;
            writeln!(out)?;
        }
    }
    out.flush()
}
