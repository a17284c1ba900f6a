//! `volley serve` and the built-in target of `volley demo`.

use std::time::Duration;

use anyhow::Context;
use volley_server::{ServeConfig, Server, parse_status_mix};

use crate::args::ServeArgs;
use crate::error::UsageError;
use crate::plan::parse;

/// How `volley demo`'s target answers.
pub(crate) const DEMO_DELAY: Duration = Duration::from_millis(2);
/// `volley demo`'s status mix: 1% 503.
pub(crate) const DEMO_STATUSES: [(u16, u32); 2] = [(200, 99), (503, 1)];

fn config(a: &ServeArgs) -> Result<ServeConfig, UsageError> {
    let listen = a.listen.parse().map_err(|_| {
        UsageError(format!(
            "--listen {:?}: expected an address such as 127.0.0.1:8080",
            a.listen
        ))
    })?;
    let delay = parse::duration(&a.delay).ok_or_else(|| {
        UsageError(format!(
            "--delay {:?}: expected a duration such as 2ms or 0",
            a.delay
        ))
    })?;
    let statuses = parse_status_mix(&a.status)
        .map_err(|e| UsageError(format!("--status {:?}: {e}", a.status)))?;
    let capacity = match &a.capacity {
        None => None,
        Some(c) => match c.trim().replace('_', "").parse::<f64>() {
            Ok(rate) if rate.is_finite() && (0.001..=10_000_000.0).contains(&rate) => Some(rate),
            _ => {
                return Err(UsageError(format!(
                    "--capacity {c:?}: expected a rate in requests per second from 0.001 to 10,000,000, such as 2000"
                )));
            }
        },
    };
    if a.max_requests_per_conn == Some(0) {
        return Err(UsageError(
            "--max-requests-per-conn 0: a connection must serve at least 1 request".into(),
        ));
    }
    Ok(ServeConfig {
        listen,
        delay,
        statuses,
        body_size: a.body_size,
        capacity,
        http2: a.http2,
        max_requests: a.max_requests_per_conn,
    })
}

/// Serves until Ctrl-C.
pub(crate) fn serve(a: &ServeArgs) -> anyhow::Result<()> {
    let config = config(a)?;
    let server = Server::bind(config.clone())
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let handle = server.shutdown_handle();
    let _ = ctrlc::set_handler(move || handle.shutdown());
    let protocols = if config.http2 {
        "HTTP/1.1 and h2c"
    } else {
        "HTTP/1.1"
    };
    eprintln!(
        "volley serve: listening on http://{}/ ({protocols}; Ctrl-C to stop)",
        server.local_addr()
    );
    let stats = server.run()?;
    eprintln!(
        "volley serve: {} connections, {} requests",
        stats.connections, stats.requests
    );
    Ok(())
}

/// Starts the demo's target on a free loopback port. It speaks HTTP/2
/// (h2c) as well as HTTP/1.1, telling them apart by a connection's first
/// bytes, so the demo's run may use either.
pub(crate) fn demo_target() -> anyhow::Result<volley_server::RunningServer> {
    let config = ServeConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        delay: DEMO_DELAY,
        statuses: DEMO_STATUSES.to_vec(),
        body_size: 64,
        capacity: None,
        http2: true,
        max_requests: None,
    };
    Server::spawn(config).context("cannot start the built-in target")
}
