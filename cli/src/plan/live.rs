//! `--metrics-listen` and `--metrics-linger` (SPEC §15): how the run is
//! watched while it goes.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::args::RunArgs;
use crate::error::{UsageError, usage};
use crate::plan::parse;

/// The live views asked for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Watch {
    pub(crate) metrics: Option<Metrics>,
}

/// `--metrics-listen` and `--metrics-linger`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Metrics {
    pub(crate) addr: SocketAddr,
    pub(crate) linger: Duration,
}

impl Watch {
    /// Whether any view reads the loops' snapshots.
    pub(crate) fn any(&self) -> bool {
        self.metrics.is_some()
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
    Ok(Watch { metrics })
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
