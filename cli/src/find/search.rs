//! The search of `volley find` (SPEC §14), as a pure state machine: which
//! rate to try next, given what the steps so far found. Rates rise
//! geometrically until a step fails, then the gap between the highest pass
//! and the lowest failure is halved until it is within 5 %, and the highest
//! pass is confirmed by one longer hold.

/// The gap, relative to the highest pass, at which bisection stops.
pub(crate) const PRECISION: f64 = 0.05;

/// What to run next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Next {
    /// A step at this rate.
    Step(f64),
    /// The confirming hold at this rate.
    Hold(f64),
    /// The search is over.
    Done(Answer),
}

/// What the search found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Answer {
    /// The highest rate that passed, confirmed by the hold; `at_max` when it
    /// is `--max-rps` itself (the service may sustain more).
    Sustains { rps: f64, at_max: bool },
    /// Even the lowest rate tried failed.
    NothingPassed,
}

/// The search so far.
#[derive(Clone, Debug)]
pub(crate) struct Search {
    start: f64,
    max: Option<f64>,
    /// Rates that passed and failed (holds included).
    passed: Vec<f64>,
    failed: Vec<f64>,
    /// The hold that confirmed a rate, if one did.
    confirmed: Option<f64>,
}

impl Search {
    pub(crate) fn new(start: f64, max: Option<f64>) -> Self {
        let start = max.map_or(start, |m| start.min(m));
        Self {
            start,
            max,
            passed: Vec::new(),
            failed: Vec::new(),
            confirmed: None,
        }
    }

    /// The highest rate that passed and is below every failure.
    fn lo(&self) -> Option<f64> {
        let hi = self.hi().unwrap_or(f64::INFINITY);
        self.passed
            .iter()
            .copied()
            .filter(|r| *r < hi)
            .reduce(f64::max)
    }

    /// The lowest rate that failed.
    fn hi(&self) -> Option<f64> {
        self.failed.iter().copied().reduce(f64::min)
    }

    pub(crate) fn next(&self) -> Next {
        if let Some(rps) = self.confirmed {
            return Next::Done(Answer::Sustains {
                rps,
                at_max: self.max == Some(rps),
            });
        }
        match (self.lo(), self.hi()) {
            (None, None) => Next::Step(self.start),
            (None, Some(_)) => Next::Done(Answer::NothingPassed),
            (Some(lo), None) if self.max == Some(lo) => Next::Hold(lo),
            (Some(lo), None) => Next::Step(round(self.max.map_or(lo * 2.0, |m| (lo * 2.0).min(m)))),
            (Some(lo), Some(hi)) if (hi - lo) / lo <= PRECISION => Next::Hold(lo),
            (Some(lo), Some(hi)) => {
                let mid = round((lo + hi) / 2.0);
                if mid <= lo || mid >= hi {
                    Next::Hold(lo)
                } else {
                    Next::Step(mid)
                }
            }
        }
    }

    /// A step (or hold) at `rps` passed or not.
    pub(crate) fn record(&mut self, rps: f64, passed: bool, hold: bool) {
        match (passed, hold) {
            (true, true) => self.confirmed = Some(rps),
            (true, false) => self.passed.push(rps),
            (false, _) => self.failed.push(rps),
        }
    }

    /// The best rate found so far, for a search cut short.
    pub(crate) fn best(&self) -> Option<f64> {
        self.confirmed.or_else(|| self.lo())
    }
}

/// A rate to try: whole requests per second from 10 up, three significant
/// digits below.
fn round(rps: f64) -> f64 {
    if rps >= 10.0 {
        rps.round()
    } else {
        (rps * 100.0).round() / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search against a service that sustains `capacity`.
    fn against(capacity: f64, start: f64, max: Option<f64>) -> (Answer, Vec<Next>) {
        let mut s = Search::new(start, max);
        let mut tried = Vec::new();
        loop {
            let next = s.next();
            tried.push(next);
            match next {
                Next::Step(r) => s.record(r, r <= capacity, false),
                Next::Hold(r) => s.record(r, r <= capacity, true),
                Next::Done(a) => return (a, tried),
            }
            assert!(tried.len() < 40, "{tried:?}");
        }
    }

    #[test]
    fn rises_then_bisects_to_five_percent_then_holds() {
        let (answer, tried) = against(2000.0, 100.0, None);
        let Answer::Sustains { rps, at_max } = answer else {
            panic!("{answer:?}")
        };
        assert!(
            (2000.0 * (1.0 - PRECISION)..=2000.0).contains(&rps),
            "{rps}"
        );
        assert!(!at_max);
        let steps: Vec<f64> = tried
            .iter()
            .filter_map(|n| {
                if let Next::Step(r) = n {
                    Some(*r)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(&steps[..6], [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0]);
        assert_eq!(
            tried.iter().filter(|n| matches!(n, Next::Hold(_))).count(),
            1
        );
    }

    #[test]
    fn a_failed_hold_goes_lower() {
        // The steps pass up to 1,000, but the longer hold fails there: the
        // search goes on below it.
        let mut s = Search::new(1000.0, None);
        s.record(1000.0, true, false);
        s.record(2000.0, false, false);
        s.record(1500.0, false, false);
        s.record(1250.0, false, false);
        s.record(1125.0, false, false);
        s.record(1062.0, false, false);
        assert_eq!(s.next(), Next::Step(1031.0), "6.2% apart: one more");
        s.record(1031.0, false, false);
        assert_eq!(s.next(), Next::Hold(1000.0));
        s.record(1000.0, false, true);
        assert_eq!(
            s.next(),
            Next::Done(Answer::NothingPassed),
            "no lower pass to fall back to"
        );
        let mut s = Search::new(500.0, None);
        for (r, ok) in [
            (500.0, true),
            (1000.0, true),
            (2000.0, false),
            (1500.0, false),
            (1250.0, false),
            (1125.0, false),
            (1062.0, false),
        ] {
            s.record(r, ok, false);
        }
        s.record(1000.0, false, true);
        assert_eq!(s.next(), Next::Step(750.0));
    }

    #[test]
    fn the_max_rate_and_the_first_step() {
        let (answer, _) = against(1e9, 100.0, Some(1000.0));
        assert_eq!(
            answer,
            Answer::Sustains {
                rps: 1000.0,
                at_max: true
            }
        );
        let (answer, tried) = against(50.0, 100.0, None);
        assert_eq!(answer, Answer::NothingPassed);
        assert_eq!(tried[0], Next::Step(100.0));
        assert_eq!(Search::new(100.0, Some(40.0)).next(), Next::Step(40.0));
    }
}
