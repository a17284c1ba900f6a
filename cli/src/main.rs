//! volley: an HTTP load generator. See README.md.

mod args;
mod html;
mod log;
mod merge;
mod outcome;
mod plan;
mod progress;
mod report;
mod saved;
mod shard;
mod threshold;

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use volley_driver::{Control, RunPlan};
use volley_server::{ServeConfig, Server, parse_status_mix};

use crate::args::{Cli, Command, RunArgs, ServeArgs};
use crate::plan::{Defaults, Plan, RUN_DEFAULTS, UsageError};
use crate::report::RunInfo;

/// Exit codes (SPEC §5).
const EXIT_OK: u8 = 0;
const EXIT_NOT_RUN: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_THRESHOLD: u8 = 3;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            if let Some(u) = err.downcast_ref::<UsageError>() {
                eprintln!("volley: {u}");
                return ExitCode::from(EXIT_USAGE);
            }
            if err.chain().any(|e| {
                e.downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::from(EXIT_OK);
            }
            eprintln!("volley: {err:#}");
            ExitCode::from(EXIT_NOT_RUN)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(
                e.kind(),
                K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.print()?;
                return Ok(ExitCode::from(EXIT_OK));
            }
            // One line: clap's first line, without its "error: " prefix.
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
            let detail = detail.unwrap_or_default();
            return Err(UsageError(format!("{first}{detail} (see volley --help)")).into());
        }
    };
    match cli.command {
        Some(Command::Serve(a)) => serve(&a),
        Some(Command::Demo(a)) => demo(a),
        Some(Command::Merge(a)) => merge::run(&a),
        None => load_test(&cli.run, RUN_DEFAULTS),
    }
}

fn load_test(args: &RunArgs, defaults: Defaults) -> anyhow::Result<ExitCode> {
    let plan = plan::build(args, defaults)?;
    volley_driver::ensure_fd_limit(plan.config.users)
        .map_err(|e| UsageError(format!("--users {}: {e}", plan.config.users)))?;
    let addr = plan::resolve(&plan.target).map_err(anyhow::Error::msg)?;
    execute(&plan, addr)
}

fn execute(plan: &Plan, addr: std::net::SocketAddr) -> anyhow::Result<ExitCode> {
    let engines = plan.config.split(plan.threads);
    let control = Arc::new(Control::new(engines.len()));
    {
        let control = Arc::clone(&control);
        // A second Ctrl-C stops waiting for in-flight requests.
        let _ = ctrlc::set_handler(move || control.stop());
    }
    let info = RunInfo {
        method: plan.method.clone(),
        url: plan.target.url.clone(),
        duration: plan.config.duration,
        target_rps: plan.target_rps(),
        users: plan.config.users,
        threads: engines.len(),
        keep_alive: plan.config.keep_alive,
        timeout: plan.config.timeout,
        tls: plan.tls.is_some(),
        insecure: plan.insecure,
    };
    let progress = (!plan.quiet && io::stderr().is_terminal())
        .then(|| progress::Progress::start(Arc::clone(&control), plan.config.duration));
    let log = match &plan.log {
        Some(path) => Some(
            log::RequestLog::create(path)
                .map_err(|e| UsageError(format!("--log {path:?}: cannot create it: {e}")))?,
        ),
        None => None,
    };
    let run_plan = RunPlan {
        addr,
        template: plan.template.clone(),
        tls: plan.tls.clone(),
        log: log.as_ref().map(|l| l.tx.clone()),
        engines,
    };
    // t0's wall-clock time for --save: read once, here; t0 itself comes
    // later by the time the users take to connect.
    let wall_start = std::time::SystemTime::now();
    let stats = volley_driver::run(run_plan, Arc::clone(&control)).context("the run failed")?;
    drop(progress);
    if let (Some(log), Some(path)) = (log, &plan.log) {
        // The report still comes; the log's failure is said on stderr.
        if let Err(e) = log.finish() {
            eprintln!("volley: --log {path:?}: writing failed: {e}");
        }
    }
    if let Some(reason) = control.fatal() {
        // Every connection would fail the same way: one line, not a report.
        anyhow::bail!("{reason}");
    }
    outcome::conclude(&outcome::Finish {
        info: &info,
        stats: &stats,
        output: plan.output,
        thresholds: &plan.thresholds,
        save: plan.save.as_deref(),
        html: plan.html.as_deref(),
        wall_start_unix_s: saved::unix_seconds(wall_start),
        shard: plan.shard,
    })
}

fn serve_config(a: &ServeArgs) -> Result<ServeConfig, UsageError> {
    let listen = a.listen.parse().map_err(|_| {
        UsageError(format!(
            "--listen {:?}: expected an address such as 127.0.0.1:8080",
            a.listen
        ))
    })?;
    let delay = plan::parse_duration(&a.delay).ok_or_else(|| {
        UsageError(format!(
            "--delay {:?}: expected a duration such as 2ms or 0",
            a.delay
        ))
    })?;
    let statuses = parse_status_mix(&a.status)
        .map_err(|e| UsageError(format!("--status {:?}: {e}", a.status)))?;
    Ok(ServeConfig {
        listen,
        delay,
        statuses,
        body_size: a.body_size,
    })
}

fn serve(a: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = serve_config(a)?;
    let server = Server::bind(config.clone())
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let handle = server.shutdown_handle();
    let _ = ctrlc::set_handler(move || handle.shutdown());
    eprintln!(
        "volley serve: listening on http://{}/ (Ctrl-C to stop)",
        server.local_addr()
    );
    let stats = server.run()?;
    eprintln!(
        "volley serve: {} connections, {} requests",
        stats.connections, stats.requests
    );
    Ok(ExitCode::from(EXIT_OK))
}

fn demo(mut args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.url.is_some() || args.url_positional.is_some() {
        return Err(UsageError(
            "volley demo runs against its own built-in target; drop the URL".into(),
        )
        .into());
    }
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse()?,
        delay: Duration::from_millis(2),
        statuses: vec![(200, 99), (503, 1)],
        body_size: 64,
    };
    let server = Server::spawn(config).context("cannot start the built-in target")?;
    args.url = Some(format!("http://{}/demo", server.addr()));
    let defaults = Defaults {
        rps: Some("1000"),
        users: Some("20"),
        duration: "5s",
    };
    let plan = plan::build(&args, defaults)?;
    eprintln!(
        "volley demo: built-in target at http://{}/ answers after 2 ms, 1% with 503",
        server.addr()
    );
    let code = execute(&plan, server.addr());
    drop(server);
    code
}
