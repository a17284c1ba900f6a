//! End-to-end tests of volley, and the harness they share.
//!
//! - [`sim`]: [`sim::Sim`] drives a `volley_core::Engine` in virtual time,
//!   with no sockets and no sleeping (STYLE item 18, after quinn's `Pair`
//!   and str0m's `progress`). Runs are deterministic, so tests assert exact
//!   counts and exact latencies.
//! - [`fake_server`]: [`fake_server::FakeServer`], the sans-io scripted
//!   server the sim talks to: canned responses, latency, connect refusal and
//!   hangs, `Connection: close`, closing or resetting mid-body, replies cut
//!   into pieces, a stall window.
//! - [`h2_sim`] and [`fake_h2`]: the same over HTTP/2,
//!   [`h2_sim::H2Sim`] driving an engine with `Config::http2` against
//!   [`fake_h2::FakeH2`], a scripted HTTP/2 server that reads the client's
//!   frames with core's codecs (stream limits, REFUSED_STREAM, resets,
//!   GOAWAY, EOF with streams open).
//! - [`raw`]: raw TCP servers on loopback that misbehave on purpose, and
//!   [`tls`]: a rustls server with certificates made at test time; both
//!   serve the real-socket tests here and the binary's tests in `cli/tests`.
//! - [`daemon`]: real servers from Debian's packages, run by a test in a
//!   private directory, one process each, with an access log as the judge
//!   of volley's counts: [`nginx`], and apache2, lighttpd and h2o
//!   ([`httpd`]).
//! - [`split_three_ways`]: the ways every byte-level test cuts its input
//!   (STYLE item 17).
//!
//! The tests themselves live in `tests/`: `pacing.rs`, `framing.rs`,
//! `failures.rs` and `retry.rs` use the sim, `h2.rs` the HTTP/2 sim; `loopback.rs`, `faults.rs`
//! and `tls.rs` run the driver over real loopback sockets. Tests of the
//! binary live in `cli/tests/`, where cargo names it.

pub mod daemon;
pub mod fake_h2;
pub mod fake_server;
pub mod h2_sim;
pub mod httpd;
pub mod nginx;
pub mod raw;
pub mod sim;
pub mod tls;

use fake_server::Pieces;

/// The ways to cut an input of `len` bytes into reads: whole, one byte at a
/// time, and in two pieces split at every inner offset (h11's `tr()`,
/// hyper's `all_async_cases`).
pub fn split_three_ways(len: usize) -> Vec<Pieces> {
    let mut ways = vec![Pieces::Whole, Pieces::Bytewise];
    ways.extend((1..len).map(Pieces::SplitAt));
    ways
}

/// Asserts that every value recorded in an HDR histogram equals `want`, to
/// the histogram's precision (3 significant digits): `min` and `max` are
/// both equivalent to it.
#[macro_export]
macro_rules! assert_all_equivalent {
    ($hist:expr, $want:expr) => {{
        let h = &$hist;
        let want: u64 = $want;
        assert!(
            !h.is_empty() && h.equivalent(h.min(), want) && h.equivalent(h.max(), want),
            "{}: want every value ≈ {want}, got min {} max {} (n = {})",
            stringify!($hist),
            h.min(),
            h.max(),
            h.len()
        );
    }};
}

/// Asserts SPEC §2's accounting identity, naming every count if it fails.
pub fn assert_accounted(s: &volley_core::Stats) {
    assert!(
        s.identity_holds(),
        "scheduled {} != completed {} + failed {} + unfinished {} + unsent {}",
        s.scheduled,
        s.completed,
        s.failed,
        s.unfinished,
        s.unsent
    );
}
