//! The open-file limit: one descriptor per user, plus a few for the loop.

use crate::error::SetupError;

/// Descriptors kept free for everything that is not a user's socket
/// (epoll, wakers, stdio, log files).
const RESERVED_FDS: u64 = 64;

/// Raises the soft RLIMIT_NOFILE so `users` sockets fit, up to the hard
/// limit; fails with the number of users that would fit when they cannot.
// rlim_t is u64 on Linux but not on every platform.
#[allow(clippy::unnecessary_cast)]
pub fn ensure_fd_limit(users: usize) -> Result<(), SetupError> {
    let need = users as u64 + RESERVED_FDS;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        // Cannot tell; let the connects fail one by one if they must.
        return Ok(());
    }
    if lim.rlim_cur as u64 >= need {
        return Ok(());
    }
    let hard = lim.rlim_max as u64;
    if hard < need {
        return Err(SetupError::TooManyUsers {
            users,
            max: hard.saturating_sub(RESERVED_FDS),
        });
    }
    lim.rlim_cur = need as libc::rlim_t;
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(SetupError::TooManyUsers {
            users,
            max: (lim.rlim_cur as u64).saturating_sub(RESERVED_FDS),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_fit_and_absurd_ones_are_refused() {
        assert!(ensure_fd_limit(10).is_ok());
        let err = ensure_fd_limit(usize::MAX / 2).unwrap_err();
        assert!(err.to_string().contains("users"), "{err}");
    }
}
