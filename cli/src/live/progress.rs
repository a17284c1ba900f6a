//! The live progress line on stderr (only on a terminal, never with --quiet).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use volley_driver::Control;

use crate::format::{thousands, us};

/// Redraws a few times a second until dropped.
pub(crate) struct Progress {
    done: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    pub(crate) fn start(control: Arc<Control>, total: Duration) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let handle = std::thread::Builder::new()
            .name("volley-progress".into())
            .spawn(move || draw(&control, total, &flag))
            .ok();
        Self { done, handle }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

fn draw(control: &Control, total: Duration, done: &AtomicBool) {
    const TICK: Duration = Duration::from_millis(250);
    let mut start = None;
    let mut last = (Instant::now(), 0u64);
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        let s = control.snapshot();
        let now = Instant::now();
        let line = if !s.started {
            "connecting users...".to_string()
        } else {
            let t0 = *start.get_or_insert(now);
            let elapsed = now.duration_since(t0).min(total);
            let dt = now.duration_since(last.0).as_secs_f64().max(1e-3);
            let rate = (s.completed - last.1.min(s.completed)) as f64 / dt;
            last = (now, s.completed);
            format!(
                "[{:>5.1}s/{:.0}s] {:>8} req/s   p99 {:>8}   done {:>10}   errors {:>6}   in flight {:>5}",
                elapsed.as_secs_f64(),
                total.as_secs_f64(),
                thousands(rate.round() as u64),
                us(s.last_p99_us as f64),
                thousands(s.completed),
                thousands(s.failed),
                thousands(s.in_flight),
            )
        };
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
    }
}
