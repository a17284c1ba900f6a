//! `--metrics-listen`, `--metrics-linger`, `--live` and `--tui` (SPEC §15):
//! how the run is watched while it goes.

use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::args::RunArgs;
use crate::error::{UsageError, usage};
use crate::plan::parse;

/// The live views asked for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Watch {
    pub(crate) metrics: Option<Metrics>,
    pub(crate) live: Option<LiveTo>,
    /// `--tui`: the full-screen view on stderr, a terminal.
    pub(crate) tui: bool,
}

/// `--metrics-listen` and `--metrics-linger`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Metrics {
    pub(crate) addr: SocketAddr,
    pub(crate) linger: Duration,
}

/// Where `--live` lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LiveTo {
    Stdout,
    File(PathBuf),
}

impl Watch {
    /// Whether any view reads the loops' snapshots.
    pub(crate) fn any(&self) -> bool {
        self.metrics.is_some() || self.live.is_some() || self.tui
    }

    /// Whether the `--live` lines take stdout (so the report does not).
    pub(crate) fn takes_stdout(&self) -> bool {
        self.live == Some(LiveTo::Stdout)
    }
}

/// Validates the live views of `args`.
pub(crate) fn build(args: &RunArgs) -> Result<Watch, UsageError> {
    let metrics = match &args.metrics_listen {
        Some(addr) => Some(Metrics {
            addr: listen_addr(addr)?,
            linger: parse::duration_or_zero("--metrics-linger", &args.metrics_linger)?,
        }),
        None => None,
    };
    let live = match args.live.as_deref() {
        None => None,
        Some("-") => {
            if args.save.is_none() && args.html.is_none() {
                return usage(
                    "--live -: the report goes to stdout too; write it to a file with --save PATH \
                     or --html PATH, or give --live a file name such as live.jsonl",
                );
            }
            if let Some(format) = args.output {
                return usage(format!(
                    "--live - with -o {}: stdout carries the live lines, and the report goes to \
                     --save or --html; drop -o, or give --live a file name",
                    format.name()
                ));
            }
            Some(LiveTo::Stdout)
        }
        Some(path) => Some(LiveTo::File(parse::output_path("--live", path)?)),
    };
    // The view draws where the progress line would be, and stdout keeps
    // the report.
    if args.tui && !std::io::stderr().is_terminal() {
        return usage(
            "--tui needs a terminal, and stderr is not one; drop --tui, or follow the run with \
             --live PATH or --metrics-listen ADDR",
        );
    }
    Ok(Watch {
        metrics,
        live,
        tui: args.tui,
    })
}

/// `--metrics-listen ADDR`: `IP:PORT`, `[IPv6]:PORT`, `localhost:PORT`, or
/// `:PORT` for every interface. Nothing is resolved or bound here.
pub(crate) fn listen_addr(s: &str) -> Result<SocketAddr, UsageError> {
    let refuse = || {
        usage(format!(
            "--metrics-listen {s:?}: expected IP:PORT, localhost:PORT or :PORT, e.g. 127.0.0.1:9464"
        ))
    };
    if let Some(port) = s.strip_prefix(':') {
        return port.parse().map_or_else(
            |_| refuse(),
            |p| Ok(SocketAddr::from((Ipv4Addr::UNSPECIFIED, p))),
        );
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        return port.parse().map_or_else(
            |_| refuse(),
            |p| Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, p))),
        );
    }
    s.parse().or_else(|_| refuse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let ok = |s: &str| listen_addr(s).unwrap().to_string();
        assert_eq!(ok("127.0.0.1:9464"), "127.0.0.1:9464");
        assert_eq!(ok("127.0.0.1:0"), "127.0.0.1:0");
        assert_eq!(ok("[::1]:9464"), "[::1]:9464");
        assert_eq!(ok(":9464"), "0.0.0.0:9464");
        assert_eq!(ok("localhost:9464"), "127.0.0.1:9464");
        for bad in [
            "",
            "9464",
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:99999",
            ":x",
            "host.example:80",
            "::1:80",
            "localhost",
        ] {
            let e = listen_addr(bad).unwrap_err().0;
            assert!(e.starts_with("--metrics-listen "), "{e}");
            assert!(!e.contains('\n'));
        }
    }
}
