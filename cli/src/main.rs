//! volley: an HTTP load generator. See README.md.
//!
//! The binary is laid out along its pipeline: [`args`] (the command line as
//! clap sees it) → [`plan`] (validated, before any socket) → [`run`] (the
//! driver, with [`live`] beside it) → [`result`] (the one result document)
//! → [`output`] (the report, the files, the exit code). [`error`] and
//! [`format`] are leaves every stage may use; nothing imports this file.

mod args;
mod compare;
mod error;
mod find;
mod format;
#[cfg(test)]
mod golden;
mod live;
mod output;
mod plan;
mod result;
mod run;
mod serve;

use std::io;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, MergeArgs, RunArgs};
use crate::error::{Exit, UsageError};

fn main() -> ExitCode {
    match main_inner() {
        Ok(exit) => exit.into(),
        Err(err) => {
            if let Some(u) = err.downcast_ref::<UsageError>() {
                eprintln!("volley: {u}");
                return Exit::Usage.into();
            }
            if err.chain().any(|e| {
                e.downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return Exit::Ok.into();
            }
            eprintln!("volley: {err:#}");
            Exit::NotRun.into()
        }
    }
}

fn main_inner() -> anyhow::Result<Exit> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(
                e.kind(),
                K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.print()?;
                return Ok(Exit::Ok);
            }
            return Err(one_line(&e).into());
        }
    };
    match cli.command {
        Some(Command::Serve(a)) => serve::serve(&a).map(|()| Exit::Ok),
        Some(Command::Demo(a)) => demo(a),
        Some(Command::Merge(a)) => merge(&a),
        Some(Command::Find(a)) => find::run(&a),
        Some(Command::Compare(a)) => compare::run(&a),
        None => load_test(&cli.run),
    }
}

/// clap's first line, without its "error: " prefix: one line, as every
/// refusal is.
fn one_line(e: &clap::Error) -> UsageError {
    let text = e.render().to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "...were not provided:" names the arguments on the next line.
    let detail = if first.ends_with(':') {
        lines.next().map(|l| format!(" {}", l.trim()))
    } else {
        None
    };
    UsageError(format!(
        "{first}{} (see volley --help)",
        detail.unwrap_or_default()
    ))
}

fn load_test(args: &RunArgs) -> anyhow::Result<Exit> {
    let plan = plan::build(args)?;
    volley_driver::ensure_fd_limit(plan.config.users)
        .map_err(|e| UsageError(format!("--users {}: {e}", plan.config.users)))?;
    let endpoints = plan::resolve_origins(&plan)?;
    let done = run::execute(&plan, endpoints)?;
    let exit = output::conclude(
        &done.info,
        &done.stats,
        &plan.report,
        done.wall_start_unix_s,
    );
    done.linger();
    exit
}

fn demo(mut args: RunArgs) -> anyhow::Result<Exit> {
    if args.url.is_some() || args.url_positional.is_some() {
        return Err(UsageError(
            "volley demo runs against its own built-in target; drop the URL".into(),
        )
        .into());
    }
    let server = serve::demo_target()?;
    args.url = Some(format!("http://{}/demo", server.addr()));
    let plan = plan::build(&args)?;
    let (ok, failing) = (serve::DEMO_STATUSES[0], serve::DEMO_STATUSES[1]);
    eprintln!(
        "volley demo: built-in target at http://{}/ answers after {} ms, {}% with {}",
        server.addr(),
        serve::DEMO_DELAY.as_millis(),
        100 * failing.1 / (ok.1 + failing.1),
        failing.0
    );
    let done = run::execute(&plan, vec![volley_driver::Endpoint::tcp(server.addr())])?;
    drop(server);
    let exit = output::conclude(
        &done.info,
        &done.stats,
        &plan.report,
        done.wall_start_unix_s,
    );
    done.linger();
    exit
}

fn merge(args: &MergeArgs) -> anyhow::Result<Exit> {
    let report = plan::merge(args)?;
    let mut parts = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let part = result::saved::read(path.as_ref())
            .map_err(|e| UsageError(format!("merge {path:?}: {e}")))?;
        parts.push(part);
    }
    for note in result::merge::notes(&parts) {
        eprintln!("volley merge: note: {note}");
    }
    let merged = result::merge::merge(parts);
    let names: Vec<String> = merged.info.targets.iter().map(|t| t.name.clone()).collect();
    plan::threshold::check_scopes(&report.thresholds, &names)?;
    output::conclude(
        &merged.info,
        &merged.stats,
        &report,
        merged.wall_start_unix_s,
    )
}
