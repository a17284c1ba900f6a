//! Types that cross the boundary between the engine and its driver. Data
//! only, no logic.

/// A user's connection slot: an index `0..users`, stable for the whole run.
/// The driver uses the same index for its socket slot and poll token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub usize);

/// An action the engine asks of its driver, from [`crate::Engine::poll_output`].
///
/// Unlike the crate's other public enums, this one is closed on purpose: a
/// driver must carry out every action, and one that silently skipped a new
/// kind (a `_ => {}` arm) would leave the engine waiting for something that
/// never happens. Adding a variant is a breaking change that every driver
/// has to answer with code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Open a new connection to the target for this slot, then report
    /// [`crate::Engine::handle_connected`] (for https,
    /// [`crate::Engine::handle_connected_tls`]) or, if it fails,
    /// [`crate::Engine::handle_error`].
    Connect(ConnId),
    /// Write [`crate::Engine::request_bytes`] to this slot's connection,
    /// keeping any unwritten tail until the socket is writable.
    Send(ConnId),
    /// Close this slot's connection (if any) and forget its pending bytes.
    Close(ConnId),
}

/// How far the run has been asked to stop early, for
/// [`crate::Engine::handle_stop`]. The levels are ordered, `Drain < Now`,
/// and a stop only ever rises: the driver hands the engine the level it sees
/// whenever it is higher than the last one it handed.
///
/// Closed, like [`Output`]: a driver keeps the level as a number and maps
/// every level both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stop {
    /// End as at the normal end: no new requests, and those in flight are
    /// awaited (a first Ctrl-C).
    Drain,
    /// End at once: requests in flight count as unfinished (a second Ctrl-C,
    /// or a failure that every request would meet).
    Now,
}
