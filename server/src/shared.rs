//! What the server's loop and its connections share: the pre-rendered
//! responses, the status picker, the delay and linger queues, and the
//! counts. Its own module, so that the loop (`server.rs`) and a connection
//! (`conn.rs`) both depend on it and not on each other.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::ServeStats;
use crate::responses::{Picker, Reply, Responses};

/// Server state a connection needs while it runs, apart from the slab.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) responses: Responses,
    pub(crate) picker: Picker,
    pub(crate) delay: Duration,
    /// With a capacity, how long each request takes, and when the one
    /// server is next free.
    pub(crate) service: Option<Duration>,
    pub(crate) free_at: Option<Instant>,
    /// Delayed answers in arrival order, which is also due order.
    pub(crate) delayed: VecDeque<Due>,
    /// Connections being drained before close, in due order.
    pub(crate) lingering: VecDeque<Due>,
    /// Connections that got delayed answers this round.
    pub(crate) dirty: Vec<usize>,
    /// Connections that ran out of read budget, with their generation.
    pub(crate) again: Vec<(usize, u64)>,
    pub(crate) next_gen: u64,
    /// Requests a connection serves before the server ends it.
    pub(crate) max_requests: Option<u64>,
    pub(crate) stats: ServeStats,
}

impl Shared {
    /// When the answer to a request read at `now` is due: `None` to answer
    /// at once. With a capacity the one server serves it when it is free,
    /// so answers stay in arrival order; the delay counts from then.
    pub(crate) fn answer_due(&mut self, now: Instant) -> Option<Instant> {
        if self.delay.is_zero() && self.service.is_none() {
            return None;
        }
        let served = match self.service {
            Some(service) => {
                let end = self.free_at.map_or(now, |free| free.max(now)) + service;
                self.free_at = Some(end);
                end
            }
            None => now,
        };
        Some(served.checked_add(self.delay).unwrap_or(served))
    }

    pub(crate) fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.again.is_empty() {
            return Some(Duration::ZERO);
        }
        let front = |q: &VecDeque<Due>| q.front().map(|d| d.due);
        let due = match (front(&self.delayed), front(&self.lingering)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // mio rounds up to whole milliseconds; the timer wakes the loop on time.
        due.map(|d| d.saturating_duration_since(now))
    }
}

/// Something due at a time on one connection slot of one generation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Due {
    pub(crate) due: Instant,
    pub(crate) slot: usize,
    pub(crate) generation: u64,
    /// The answer to send, for the delay queue; `None` for a linger deadline.
    pub(crate) reply: Option<Reply>,
    /// The HTTP/2 stream the answer is for (0 on HTTP/1.1).
    pub(crate) stream: u32,
}
