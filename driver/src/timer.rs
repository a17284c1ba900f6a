//! A precise wakeup for the next send (and, in `volley serve`, for the
//! next answer that is due).
//!
//! mio's poll timeout has millisecond resolution (it rounds up), which
//! would make every paced request leave up to 1 ms after its intended time
//! and add that to every latency. A timerfd registered with the poll wakes
//! the loop at the exact instant instead; it is armed only when the next
//! send time changes, so it costs one `timerfd_settime` per wakeup at most.
//! Re-arming resets the expiry count, so the descriptor never needs a read.
//! (epoll_pwait2 would do the same without a descriptor, but mio does not
//! expose it; a final busy spin would burn the CPU this tool saves.)

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// A timerfd registered with mio polls: wakes a loop at an exact instant.
#[derive(Debug)]
pub struct PreciseTimer {
    fd: OwnedFd,
    armed: Option<Instant>,
}

impl PreciseTimer {
    /// A timer registered with each of `registries` under `token`.
    pub fn new(registries: &[&Registry], token: Token) -> io::Result<Self> {
        // SAFETY: plain syscall; the result is checked before use.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        for registry in registries {
            registry.register(&mut SourceFd(&fd.as_raw_fd()), token, Interest::READABLE)?;
        }
        Ok(Self { fd, armed: None })
    }

    /// Makes the timer fire at `at`, unless it is already set for that
    /// instant.
    pub fn arm(&mut self, at: Instant) -> io::Result<()> {
        if self.armed == Some(at) {
            return Ok(());
        }
        // The delay is measured from a fresh clock reading, not from the
        // loop's `now`: the sends of this pass happened since, and a delay
        // counted from before them would fire that much late. A zero
        // it_value would disarm the timer: fire in 1 ns instead.
        let d = at
            .saturating_duration_since(Instant::now())
            .max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `spec` is a valid itimerspec; the old value is not wanted.
        if unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) }
            != 0
        {
            return Err(io::Error::last_os_error());
        }
        self.armed = Some(at);
        Ok(())
    }

    /// The timer fired (or was found expired): it must be armed again.
    pub fn fired(&mut self) {
        self.armed = None;
    }
}
