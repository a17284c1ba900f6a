//! Errors that stop a run before it starts ([`SetupError`]), and how a
//! single connection failed ([`Failure`]), which never stops the run: it
//! goes back into the engine as an error of a kind.

use std::fmt;
use std::io;

use volley_core::ErrorKind;

/// Why TLS could not be set up (the user's input: exit code 2).
#[derive(Debug)]
pub struct TlsSetupError(pub String);

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsSetupError {}

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

/// How one connection failed, as the driver saw it. The engine is told it
/// as an error of [`Failure::kind`] with the failure as its message; whether
/// that is a failed connect or a failed request is the engine's to decide,
/// from the state it keeps for the connection.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The connect failed, or the socket reported an error before the
    /// connect was confirmed.
    Connect(io::Error),
    /// A read or a write on the established stream failed.
    Io(io::Error),
    /// TLS failed: an alert, a bad record, a rejected certificate.
    Tls(rustls::Error),
    /// A read or a write failed while the TLS handshake was in progress.
    Handshake(io::Error),
    /// The server closed the connection while the TLS handshake was in
    /// progress (rustls calls that an unexpected EOF, too).
    ClosedInHandshake,
}

impl Failure {
    /// The kind the report counts it under.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Self::Connect(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
                io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
                _ => ErrorKind::ConnectError,
            },
            Self::Io(e) => match e.kind() {
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe => ErrorKind::Reset,
                io::ErrorKind::TimedOut => ErrorKind::Timeout,
                _ => ErrorKind::Io,
            },
            Self::Tls(_) | Self::Handshake(_) | Self::ClosedInHandshake => ErrorKind::Tls,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) | Self::Io(e) => e.fmt(f),
            Self::Tls(e) => e.fmt(f),
            Self::Handshake(e) => write!(f, "TLS handshake failed: {e}"),
            Self::ClosedInHandshake => {
                f.write_str("the server closed the connection during the TLS handshake")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_have_the_kinds_and_messages_users_see() {
        let io = |kind: io::ErrorKind| io::Error::new(kind, "x");
        let table = [
            (
                Failure::Connect(io(io::ErrorKind::ConnectionRefused)),
                ErrorKind::ConnectRefused,
                "x",
            ),
            (
                Failure::Connect(io(io::ErrorKind::TimedOut)),
                ErrorKind::ConnectTimeout,
                "x",
            ),
            (
                Failure::Connect(io(io::ErrorKind::AddrNotAvailable)),
                ErrorKind::ConnectError,
                "x",
            ),
            (
                Failure::Io(io(io::ErrorKind::ConnectionReset)),
                ErrorKind::Reset,
                "x",
            ),
            (
                Failure::Io(io(io::ErrorKind::BrokenPipe)),
                ErrorKind::Reset,
                "x",
            ),
            (
                Failure::Io(io(io::ErrorKind::TimedOut)),
                ErrorKind::Timeout,
                "x",
            ),
            (Failure::Io(io(io::ErrorKind::Other)), ErrorKind::Io, "x"),
            (
                Failure::Tls(rustls::Error::DecryptError),
                ErrorKind::Tls,
                "cannot decrypt peer's message",
            ),
            (
                Failure::Handshake(io(io::ErrorKind::ConnectionReset)),
                ErrorKind::Tls,
                "TLS handshake failed: x",
            ),
            (
                Failure::ClosedInHandshake,
                ErrorKind::Tls,
                "the server closed the connection during the TLS handshake",
            ),
        ];
        for (failure, kind, message) in table {
            assert_eq!(failure.kind(), kind, "{failure:?}");
            assert_eq!(failure.to_string(), message, "{failure:?}");
        }
    }
}
