//! What runs beside the event loops while a run goes: the progress line on
//! stderr and the `--log` writer. Neither may slow the loops: the progress
//! line reads counters the loops publish, and the log takes batches over a
//! bounded channel.

pub(crate) mod log;
pub(crate) mod progress;
