//! What runs beside the event loops while a run goes: the progress line on
//! stderr, the `--log` writer and the live views (the metrics endpoint, the
//! `--live` lines).
//! None may slow the loops: the progress line reads counters the loops
//! publish, the views the snapshots they publish when watched (see
//! `volley_driver::Control::watch`), and the log takes batches over a
//! bounded channel.

pub(crate) mod exposition;
pub(crate) mod lines;
pub(crate) mod log;
pub(crate) mod metrics;
pub(crate) mod progress;
