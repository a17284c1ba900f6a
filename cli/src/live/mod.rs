//! What runs beside the event loops while a run goes: the progress line on
//! stderr, the `--log` writer and the live views (the metrics endpoint, the
//! `--live` lines, the `--tui` screen).
//! None may slow the loops: the progress line reads counters the loops
//! publish, the views the snapshots they publish when watched (see
//! `volley_driver::Control::watch`), and the log takes batches over a
//! bounded channel.

pub(crate) mod exposition;
pub(crate) mod lines;
pub(crate) mod log;
pub(crate) mod metrics;
pub(crate) mod progress;
pub(crate) mod tui;

use std::time::Duration;

/// The run's schedule as the live views show it: the target rate of the
/// moment and the achieved rate so far.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schedule {
    /// This process's `--rps`; `None` for `max`.
    pub(crate) rps: Option<f64>,
    pub(crate) ramp_up: Duration,
    pub(crate) duration: Duration,
}

impl Schedule {
    /// The rate the schedule asks for `elapsed` after the start.
    pub(crate) fn target_at(&self, elapsed: Duration) -> Option<f64> {
        let rps = self.rps?;
        Some(if elapsed < self.ramp_up {
            rps * elapsed.as_secs_f64() / self.ramp_up.as_secs_f64()
        } else {
            rps
        })
    }

    /// `completed` per second of the sending window, `elapsed` after the
    /// start.
    pub(crate) fn achieved(&self, completed: u64, elapsed: Duration) -> f64 {
        let window = elapsed.min(self.duration).as_secs_f64();
        if window > 0.0 {
            completed as f64 / window
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_rate_follows_the_ramp() {
        let s = Schedule {
            rps: Some(1000.0),
            ramp_up: Duration::from_secs(2),
            duration: Duration::from_secs(10),
        };
        assert_eq!(s.target_at(Duration::ZERO), Some(0.0));
        assert_eq!(s.target_at(Duration::from_secs(1)), Some(500.0));
        assert_eq!(s.target_at(Duration::from_secs(5)), Some(1000.0));
        assert_eq!(s.achieved(500, Duration::from_secs(5)), 100.0);
        assert_eq!(s.achieved(500, Duration::from_secs(20)), 50.0);
        assert_eq!(s.achieved(5, Duration::ZERO), 0.0);
        let max = Schedule { rps: None, ..s };
        assert_eq!(max.target_at(Duration::from_secs(5)), None);
    }
}
