//! Where the users' connections go (SPEC §9): the addresses a host
//! resolved to, tried in order, from the source addresses of
//! `--local-addr`, or a Unix domain socket. One loop's [`Route`] picks the
//! address of each connect and counts the connections each address got.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::stream::Stream;

/// Where connections go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP to the first of `addrs` that answers (at least one), from the
    /// source addresses `local`, spread evenly over the users (none: the
    /// system picks).
    Tcp {
        /// The destinations, in the order to try them.
        addrs: Vec<SocketAddr>,
        /// Source addresses.
        local: Vec<IpAddr>,
    },
    /// A Unix domain socket (`--unix-socket`).
    Unix(PathBuf),
}

impl Endpoint {
    /// TCP to one address.
    pub fn tcp(addr: SocketAddr) -> Self {
        Self::Tcp {
            addrs: vec![addr],
            local: Vec::new(),
        }
    }

    /// How many destinations a connect may try.
    fn destinations(&self) -> usize {
        match self {
            Self::Tcp { addrs, .. } => addrs.len().max(1),
            Self::Unix(_) => 1,
        }
    }

    /// The destination `index`, as the report names it.
    fn name(&self, index: usize) -> String {
        match self {
            Self::Tcp { addrs, .. } => addrs
                .get(index)
                .map_or_else(String::new, ToString::to_string),
            Self::Unix(path) => format!("unix:{}", path.display()),
        }
    }
}

/// One loop's use of the endpoint.
#[derive(Debug)]
pub(crate) struct Route {
    endpoint: Endpoint,
    /// The destination new connects go to: the first, until it refuses or
    /// times out.
    current: usize,
    /// Connections established, per destination.
    opened: Vec<u64>,
}

/// One connect attempt of a socket slot: where it went, and how many
/// destinations it has tried.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Attempt {
    destination: usize,
    tried: usize,
}

impl Route {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        let n = endpoint.destinations();
        Self {
            endpoint,
            current: 0,
            opened: vec![0; n],
        }
    }

    /// Starts a connect for the socket slot `slot` to the current
    /// destination (a new attempt). The attempt comes back whether or not
    /// the connect could start, so that a synchronous refusal (a Unix
    /// socket nobody listens on) counts against it too.
    pub(crate) fn open(&self, slot: usize) -> (Attempt, io::Result<Stream>) {
        self.open_at(
            slot,
            Attempt {
                destination: self.current,
                tried: 1,
            },
        )
    }

    fn open_at(&self, slot: usize, attempt: Attempt) -> (Attempt, io::Result<Stream>) {
        let stream = match &self.endpoint {
            Endpoint::Tcp { addrs, local } => {
                let source = (!local.is_empty()).then(|| local[slot % local.len()]);
                Stream::tcp(addrs[attempt.destination], source)
            }
            Endpoint::Unix(path) => Stream::unix(path),
        };
        (attempt, stream)
    }

    /// `attempt`'s destination refused or timed out: later connects go to
    /// the next one.
    pub(crate) fn failed(&mut self, attempt: Attempt) {
        if attempt.destination == self.current {
            self.current = (self.current + 1) % self.opened.len();
        }
    }

    /// After [`Route::failed`]: the same attempt's connect to the current
    /// destination, if it has not tried every one yet.
    pub(crate) fn retry(
        &self,
        slot: usize,
        attempt: Attempt,
    ) -> Option<(Attempt, io::Result<Stream>)> {
        (attempt.tried < self.opened.len()).then(|| {
            self.open_at(
                slot,
                Attempt {
                    destination: self.current,
                    tried: attempt.tried + 1,
                },
            )
        })
    }

    /// `attempt` connected.
    pub(crate) fn connected(&mut self, attempt: Attempt) {
        self.opened[attempt.destination] += 1;
    }

    /// Connections established, per destination that got any.
    pub(crate) fn opened(&self) -> Vec<(String, u64)> {
        (0..self.opened.len())
            .filter(|&i| self.opened[i] > 0)
            .map(|i| (self.endpoint.name(i), self.opened[i]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusing_destination_is_passed_over_and_each_is_tried_once_per_attempt() {
        // Nothing listens on ports 9 and 10 of loopback.
        let addrs: Vec<SocketAddr> = ["127.0.0.1:9", "127.0.0.1:10", "127.0.0.1:11"]
            .map(|a| a.parse().unwrap())
            .to_vec();
        let mut route = Route::new(Endpoint::Tcp {
            addrs,
            local: Vec::new(),
        });
        let (first, _) = route.open(0);
        assert_eq!((first.destination, first.tried), (0, 1));
        route.failed(first);
        let (second, _) = route.retry(0, first).unwrap();
        assert_eq!((second.destination, second.tried), (1, 2));
        // Another slot's attempt now starts at the second destination.
        assert_eq!(route.open(1).0.destination, 1);
        route.failed(second);
        let (third, _) = route.retry(0, second).unwrap();
        assert_eq!((third.destination, third.tried), (2, 3));
        route.failed(third);
        assert!(
            route.retry(0, third).is_none(),
            "every destination was tried"
        );
        route.connected(Attempt {
            destination: 2,
            tried: 1,
        });
        assert_eq!(route.opened(), [("127.0.0.1:11".to_string(), 1)]);
        // A late failure of an attempt at a destination no longer current
        // does not move the current one.
        assert_eq!(route.current, 0);
        route.failed(Attempt {
            destination: 2,
            tried: 3,
        });
        assert_eq!(route.current, 0);
    }

    #[test]
    fn unix_sockets_are_named_as_such() {
        let mut route = Route::new(Endpoint::Unix("/run/app.sock".into()));
        route.connected(Attempt::default());
        assert_eq!(route.opened(), [("unix:/run/app.sock".to_string(), 1)]);
    }
}
