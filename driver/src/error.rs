//! Errors that stop a run before it starts. Failures of single connections
//! never end up here: they go back into the engine as events.

use std::fmt;
use std::io;

/// The run could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum SetupError {
    /// Creating the poll or its waker failed.
    Poll(io::Error),
    /// More users than file descriptors, even after raising the soft limit.
    TooManyUsers {
        /// Users asked for.
        users: usize,
        /// The most users the hard limit allows.
        max: u64,
    },
    /// A loop thread could not be started.
    Thread(io::Error),
    /// A loop failed (its poll returned an error).
    Loop(io::Error),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Poll(e) => write!(f, "cannot create the event loop: {e}"),
            Self::TooManyUsers { users, max } => write!(
                f,
                "{users} users need more open files than this system allows (at most {max} users); \
                 raise the hard limit (ulimit -Hn) or use fewer users"
            ),
            Self::Thread(e) => write!(f, "cannot start a thread: {e}"),
            Self::Loop(e) => write!(f, "event loop failed: {e}"),
        }
    }
}

impl std::error::Error for SetupError {}
