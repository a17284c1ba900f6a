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

use volley_core::Stage;

/// The run's schedule as the live views show it: the target rate of the
/// moment and the achieved rate so far.
#[derive(Clone, Debug)]
pub(crate) struct Schedule {
    /// This process's `--rps` (the highest stage's with `--stages`); `None`
    /// for `max`.
    pub(crate) rps: Option<f64>,
    /// The load shape, `--ramp-up` included (see `Plan::shape`); empty for
    /// a fixed rate.
    pub(crate) stages: Vec<Stage>,
    pub(crate) duration: Duration,
}

impl Schedule {
    /// The rate the schedule asks for `elapsed` after the start: each stage
    /// moves linearly from the rate before it (0 at the start) to its own.
    pub(crate) fn target_at(&self, elapsed: Duration) -> Option<f64> {
        let rps = self.rps?;
        if self.stages.is_empty() {
            return Some(rps);
        }
        let (mut start, mut rate) = (Duration::ZERO, 0.0);
        for st in &self.stages {
            if elapsed < start + st.duration {
                let into = (elapsed - start).as_secs_f64() / st.duration.as_secs_f64();
                return Some(rate + (st.rps - rate) * into);
            }
            start += st.duration;
            rate = st.rps;
        }
        Some(rate)
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
    fn the_target_rate_follows_the_stages() {
        let stage = |secs, rps| Stage {
            duration: Duration::from_secs(secs),
            rps,
        };
        // --ramp-up 2s --rps 1000 --duration 10s, as Plan::shape gives it.
        let s = Schedule {
            rps: Some(1000.0),
            stages: vec![stage(2, 1000.0), stage(8, 1000.0)],
            duration: Duration::from_secs(10),
        };
        assert_eq!(s.target_at(Duration::ZERO), Some(0.0));
        assert_eq!(s.target_at(Duration::from_secs(1)), Some(500.0));
        assert_eq!(s.target_at(Duration::from_secs(5)), Some(1000.0));
        assert_eq!(s.target_at(Duration::from_secs(30)), Some(1000.0));
        assert_eq!(s.achieved(500, Duration::from_secs(5)), 100.0);
        assert_eq!(s.achieved(500, Duration::from_secs(20)), 50.0);
        assert_eq!(s.achieved(5, Duration::ZERO), 0.0);
        // Up, hold, down.
        let s = Schedule {
            rps: Some(400.0),
            stages: vec![stage(1, 200.0), stage(1, 400.0), stage(2, 0.0)],
            duration: Duration::from_secs(4),
        };
        assert_eq!(s.target_at(Duration::from_millis(1_500)), Some(300.0));
        assert_eq!(s.target_at(Duration::from_secs(3)), Some(200.0));
        let fixed = Schedule {
            rps: Some(50.0),
            stages: Vec::new(),
            duration: Duration::from_secs(4),
        };
        assert_eq!(fixed.target_at(Duration::ZERO), Some(50.0));
        let max = Schedule { rps: None, ..s };
        assert_eq!(max.target_at(Duration::from_secs(5)), None);
    }
}
