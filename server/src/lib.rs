//! volley-server: the built-in HTTP/1.1 and HTTP/2 (h2c) target behind
//! `volley serve` and `volley demo`.
//!
//! It lets volley be tried without installing another server: it answers
//! every request with the same small response, after a fixed delay if
//! asked, with a status taken from a weighted mix. It is a target, not a web
//! server: it serves no files, ignores the path and skips the body, and of
//! the method it only notices HEAD (answered without a body).
//!
//! # Design
//!
//! One thread, one mio `Poll`, edge-triggered, after mio's `tcp_server.rs`:
//! `Token(0)` is the listener, `Token(usize::MAX)` the shutdown waker,
//! `Token(usize::MAX - 1)` a timerfd that wakes the loop when an answer is
//! due (mio's own timeout is whole milliseconds), and `Token(slot + 1)`
//! indexes a `Slab` of connections. Each connection is registered once for
//! READABLE | WRITABLE and never reregistered; every event on it drives
//! that one connection, which parses buffered requests, flushes its output
//! buffer and reads until `WouldBlock`, in a loop.
//! Where a connection is in its life (open, the peer done sending, the last
//! request read, lingering) is one state enum, and every transition of it
//! is in `conn.rs`.
//!
//! Responses are rendered once per status at startup; answering a request
//! copies those bytes into the connection's output buffer, so the hot path
//! allocates nothing. With a delay, the answer is queued instead: the delay
//! is the same for every request, so one queue in arrival order is also
//! sorted by due time, and its front is the poll timeout. Queue entries carry
//! the slot's generation, so answers for connections that closed meanwhile
//! are dropped. A connection the server closes is shut down for writing and
//! drained for up to [`LINGER`], so the client's unread data cannot turn the
//! close into a reset that destroys the last response (nginx's lingering
//! close).
//!
//! With [`ServeConfig::http2`], a connection that opens with HTTP/2's
//! client preface is served as HTTP/2 over cleartext (h2c by prior
//! knowledge, RFC 9113 §3.3), any other as HTTP/1.1: the first bytes are
//! compared with the preface before either protocol reads a byte more
//! (`peer.rs`). Each HTTP/2 stream gets the answer an HTTP/1.1 request
//! would, from the same rendered responses and the same delay queue, with
//! the client's flow control honoured (`h2/`). [`ServeConfig::max_requests`]
//! ends a connection after that many requests, as nginx's
//! `keepalive_requests`: `Connection: close` on HTTP/1.1, GOAWAY on HTTP/2.
//!
//! Request bodies are framed by Content-Length and skipped;
//! `Transfer-Encoding` request bodies are not supported and get `501` and a
//! close. Every status in the mix is chosen by smooth weighted round-robin,
//! so `200:3,500:1` answers 200, 200, 500, 200, again and again.
//!
//! # Use
//!
//! - [`ServeConfig`] says where to listen and how to answer;
//!   [`parse_status_mix`] reads the `--status` form of its mix.
//! - [`Server::bind`] binds and checks the config; [`Server::run`] then
//!   serves on the calling thread until a [`ShutdownHandle`] stops it, and
//!   returns its [`ServeStats`].
//! - [`Server::spawn`] does both on a thread of its own and returns a
//!   [`RunningServer`], which stops the server when dropped.

#![deny(missing_docs)]

mod conn;
mod h2;
mod peer;
mod request;
mod responses;
mod server;
mod shared;
#[cfg(test)]
mod testing;
mod wire;

use std::net::SocketAddr;
use std::time::Duration;

pub use request::{MAX_HEAD_BYTES, MAX_HEADERS};
pub use server::{RunningServer, Server, ShutdownHandle};

/// How long a connection the server closes is drained before it is dropped.
pub const LINGER: Duration = Duration::from_secs(2);

/// How the built-in target answers.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Every response is held this long after its request head arrived
    /// (zero: answer immediately). At most 24 hours.
    pub delay: Duration,
    /// Weighted status mix, e.g. `[(200, 95), (500, 5)]`, spread evenly and
    /// deterministically (smooth weighted round-robin), never at random.
    pub statuses: Vec<(u16, u32)>,
    /// Bytes of body in every response.
    pub body_size: usize,
    /// Serve requests one at a time, each taking 1/capacity s, in arrival
    /// order over all connections (a FIFO queue before a fixed service
    /// time): latency stays low below this rate and grows without bound
    /// above it. `None`: every request at once.
    pub capacity: Option<f64>,
    /// Also speak HTTP/2 over cleartext by prior knowledge (h2c): a
    /// connection that opens with the HTTP/2 client preface is served as
    /// HTTP/2, any other as HTTP/1.1.
    pub http2: bool,
    /// Requests a connection serves before the server ends it, as nginx's
    /// `keepalive_requests`: the last is answered with `Connection: close`
    /// on HTTP/1.1, and followed by GOAWAY (`NO_ERROR`, its stream the last)
    /// on HTTP/2. At least 1; `None`: no limit.
    pub max_requests: Option<u64>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            delay: Duration::ZERO,
            statuses: vec![(200, 1)],
            body_size: 64,
            capacity: None,
            http2: false,
            max_requests: None,
        }
    }
}

/// What a server did, returned by [`Server::run`] when it shuts down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServeStats {
    /// Connections accepted.
    pub connections: u64,
    /// Request heads received (including ones answered with an error status,
    /// but not unparseable ones).
    pub requests: u64,
    /// Responses handed to a connection's output buffer, error responses
    /// included; an answer whose connection closed during its delay is not
    /// counted.
    pub responses: u64,
}

/// Parses a status mix such as `200:95,500:5`; a bare `200` has weight 1.
///
/// Statuses must be 100 to 599 and not 101; weights must be at least 1.
pub fn parse_status_mix(s: &str) -> Result<Vec<(u16, u32)>, String> {
    const FORM: &str = "expected status[:weight],... such as 200:95,500:5";
    if s.trim().is_empty() {
        return Err(format!("empty status mix: {FORM}"));
    }
    let mut mix = Vec::new();
    for item in s.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!("empty item in status mix '{s}': {FORM}"));
        }
        let (status, weight) = match item.split_once(':') {
            Some((status, weight)) => (status.trim(), Some(weight.trim())),
            None => (item, None),
        };
        let status = match status.parse::<u16>() {
            Ok(n) if valid_status(n) => n,
            _ => {
                return Err(format!(
                    "invalid status '{status}' in status mix: expected a number from 100 to 599, \
                     not 101"
                ));
            }
        };
        let weight = match weight.map(str::parse::<u32>) {
            None => 1,
            Some(Ok(w)) if w >= 1 => w,
            Some(_) => {
                let w = weight.unwrap_or_default();
                return Err(format!(
                    "invalid weight '{w}' for status {status} in status mix: expected a whole \
                     number from 1 to {}",
                    u32::MAX
                ));
            }
        };
        mix.push((status, weight));
    }
    Ok(mix)
}

pub(crate) fn valid_status(n: u16) -> bool {
    (100..=599).contains(&n) && n != 101
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mix_parses() {
        assert_eq!(parse_status_mix("200"), Ok(vec![(200, 1)]));
        assert_eq!(
            parse_status_mix("200:95,500:5"),
            Ok(vec![(200, 95), (500, 5)])
        );
        assert_eq!(
            parse_status_mix(" 200 : 2 , 404 "),
            Ok(vec![(200, 2), (404, 1)])
        );
        assert_eq!(parse_status_mix("100,599"), Ok(vec![(100, 1), (599, 1)]));
    }

    #[test]
    fn status_mix_errors_name_the_bad_part() {
        for (input, part) in [
            ("", "empty status mix"),
            ("200,", "empty item"),
            ("abc", "'abc'"),
            ("99", "'99'"),
            ("600:1", "'600'"),
            ("101", "'101'"),
            ("200:0", "'0'"),
            ("200:x", "'x'"),
            ("200:-1", "'-1'"),
            ("200:", "''"),
            (":5", "''"),
        ] {
            let e = parse_status_mix(input).expect_err(input);
            assert!(e.contains(part), "{input:?} gave {e:?}");
            assert!(!e.contains('\n') && e == e.to_lowercase(), "{e:?}");
        }
    }
}
