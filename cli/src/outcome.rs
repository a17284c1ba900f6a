//! How a run or a merge ends: the report on stdout, the thresholds, the
//! saved file, and the exit code (SPEC §5).

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use volley_core::Stats;

use crate::args::OutputFormat;
use crate::report::{self, RunInfo};
use crate::shard::Shard;
use crate::threshold::{self, Rule};
use crate::{EXIT_NOT_RUN, EXIT_OK, EXIT_THRESHOLD, html, saved};

/// Everything the end of a run (or of a merge) needs.
pub(crate) struct Finish<'a> {
    pub(crate) info: &'a RunInfo,
    pub(crate) stats: &'a Stats,
    pub(crate) output: OutputFormat,
    pub(crate) thresholds: &'a [Rule],
    /// `--save PATH`.
    pub(crate) save: Option<&'a Path>,
    /// `--html PATH`.
    pub(crate) html: Option<&'a Path>,
    /// The wall-clock time of `t0`, Unix seconds (for `--save`).
    pub(crate) wall_start_unix_s: f64,
    /// `--shard`, shown in the JSON report's `run.shard`.
    pub(crate) shard: Option<Shard>,
}

/// Prints the report, writes `--save` and `--html`, and picks the exit
/// code: 1 when no request completed or a file could not be written, else
/// 3 when a threshold failed, else 0.
pub(crate) fn conclude(f: &Finish<'_>) -> anyhow::Result<ExitCode> {
    let verdicts = threshold::evaluate(f.thresholds, f.stats);
    let mut json = report::to_json(f.info, f.stats);
    json["thresholds"] = threshold::to_json(&verdicts);
    if let Some(s) = f.shard {
        json["run"]["shard"] = json!({ "index": s.index, "count": s.count });
    }

    let printed = print(f, &verdicts, &json);

    // Saved even when stdout failed (e.g. a closed pipe): the file is
    // often the point of the run.
    let mut saved_ok = true;
    if let Some(path) = f.save {
        saved::add_saved_fields(&mut json, f.stats, f.wall_start_unix_s);
        if let Err(e) = saved::write(path, &json) {
            eprintln!(
                "volley: --save {:?}: cannot write the result: {e}",
                path.display().to_string()
            );
            saved_ok = false;
        }
    }
    if let Some(path) = f.html {
        let page = html::render_html(f.info, f.stats, &verdicts, f.wall_start_unix_s, f.shard);
        if let Err(e) = std::fs::write(path, page) {
            eprintln!(
                "volley: --html {:?}: cannot write the report: {e}",
                path.display().to_string()
            );
            saved_ok = false;
        }
    }
    // A failed save or page decides the exit code (1) over a closed stdout (0).
    printed.or_else(|e| if saved_ok { Err(e) } else { Ok(()) })?;
    if let Some(line) = threshold::failure_line(&verdicts) {
        eprintln!("volley: {line}");
    }

    let code = if f.stats.completed == 0 && f.stats.scheduled > 0 || !saved_ok {
        EXIT_NOT_RUN
    } else if verdicts.iter().any(|v| !v.passed) {
        EXIT_THRESHOLD
    } else {
        EXIT_OK
    };
    Ok(ExitCode::from(code))
}

fn print(
    f: &Finish<'_>,
    verdicts: &[threshold::Verdict],
    json: &serde_json::Value,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match f.output {
        OutputFormat::Text => {
            report::render_text(f.info, f.stats, &mut out)?;
            threshold::render_text(verdicts, &mut out)?;
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, json)?;
            writeln!(out)?;
        }
    }
    out.flush()
}
