//! The errors a command line can end in, and the exit codes (SPEC §5).
//! Every other module imports these; this one imports none of them.

use std::fmt;
use std::process::ExitCode;

/// How volley exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Everything ran and every threshold passed.
    Ok = 0,
    /// The run could not happen, no request completed, or a file could not
    /// be written.
    NotRun = 1,
    /// The command line was refused (nothing was sent).
    Usage = 2,
    /// The run happened and a threshold failed.
    Threshold = 3,
    /// `volley compare` found a significant regression past a
    /// `--max-regression` tolerance.
    Regression = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        Self::from(e as u8)
    }
}

/// A bad command line (exit code 2): one line naming the flag, the value
/// and what would be accepted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// `Err(UsageError(msg))`.
pub(crate) fn usage<T>(msg: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(msg.into()))
}
