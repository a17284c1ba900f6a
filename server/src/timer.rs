//! A precise wakeup for the next answer that is due.
//!
//! mio's poll timeout has millisecond resolution and rounds up, so a
//! `--delay 2200us` answer would leave after 3 ms, and a `--capacity`
//! server would answer in bursts once a millisecond. A timerfd registered
//! with the poll wakes the loop at the due instant instead (as the
//! driver's send timer does). It is armed only when the next due instant
//! changes; re-arming resets its expiry count, so it is never read.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

#[derive(Debug)]
pub(crate) struct DueTimer {
    fd: OwnedFd,
    armed: Option<Instant>,
}

impl DueTimer {
    /// A timer registered with `registry` under `token`.
    pub(crate) fn new(registry: &Registry, token: Token) -> io::Result<Self> {
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
        registry.register(&mut SourceFd(&fd.as_raw_fd()), token, Interest::READABLE)?;
        Ok(Self { fd, armed: None })
    }

    /// Makes the timer fire at `at`, unless it is already set for that
    /// instant.
    pub(crate) fn arm(&mut self, at: Instant) -> io::Result<()> {
        if self.armed == Some(at) {
            return Ok(());
        }
        // A zero it_value would disarm the timer: fire in 1 ns instead.
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

    /// The timer fired: it must be armed again.
    pub(crate) fn fired(&mut self) {
        self.armed = None;
    }
}
