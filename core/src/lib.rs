//! volley-core: the sans-io heart of the volley HTTP load generator.
//!
//! This crate contains no networking code, starts no threads and never
//! reads a clock: every method that depends on time takes `now: Instant`
//! from its caller, and every byte comes in through a handler and goes out
//! as an instruction to the caller. That makes the whole protocol and
//! pacing logic testable in virtual time, and lets one driver (the mio loop
//! in `volley-driver`) or another (a simulator in tests) run it unchanged.
//!
//! ```text
//!            ┌──────────── driver (sockets, clock) ────────────┐
//!            │ now = the clock, read once per wakeup           │
//!  events ──►│ engine.handle_connected / handle_data /         │
//!            │        handle_eof / handle_error / handle_timeout│
//!            │ while let Some(out) = engine.poll_output(now) { │──► Connect / Send / Close
//!            │     act on out                                  │
//!            │ }                                               │
//!            │ sleep until engine.poll_timeout()               │
//!            └─────────────────────────────────────────────────┘
//! ```
//!
//! - [`Engine`]: a fixed pool of users fed by an arrival schedule (SPEC §2).
//! - [`RequestTemplate`]: the request rendered once, written as-is, or
//!   rendered for each request when it holds placeholders ([`template`]).
//! - [`Requests`]: the targets of a run and the [`Mix`] that picks one for
//!   each request index.
//! - [`response`] and [`body`]: response heads via httparse and RFC 9112
//!   body framing; bodies are counted, never stored.
//! - [`Pacer`]: the intended start time of request k, computed from k.
//! - [`Stats`]: HDR histograms and counters; memory independent of run length.
//! - [`Buckets`]: the fixed log-spaced buckets live views derive from them.
//! - [`h2`]: HTTP/2 frames and HPACK, the codecs under `--http2` (SPEC §11).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod body;
pub mod buckets;
mod conn;
mod engine;
pub mod error;
mod event;
pub mod h2;
pub mod mix;
pub mod pacer;
pub mod request;
pub mod response;
pub mod spread;
pub mod stats;
pub mod targets;
pub mod template;
mod timeline;
mod timer;

pub(crate) use std::time::{Duration, Instant};

pub use buckets::{BOUNDS_US, Buckets};
pub use engine::{Config, Engine, Http2, MAX_DRAIN, Outcome, RequestRecord, Wake};
pub use error::{ErrorKind, ParseError};
pub use event::{ConnId, Output, Stop};
pub use mix::{Mix, MixError, Order};
pub use pacer::{Pacer, Rate, Stage};
pub use request::{RequestError, RequestSpec, RequestTemplate};
pub use response::{MAX_HEAD_BYTES, MAX_HEADERS, reason_phrase};
pub use spread::Spread;
pub use stats::{Second, Stats, TargetStats};
pub use targets::{Expect, Needle, Requests, StatusSet, Target, divide_users};
pub use template::{Data, TemplateError};

#[cfg(fuzzing)]
pub mod fuzzing;
