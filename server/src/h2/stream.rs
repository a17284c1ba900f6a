//! The streams of one HTTP/2 connection: a record per open stream, and
//! where its answer is.

use crate::responses::Reply;

/// Where a stream's exchange is. A stream is removed once the server has
/// written its END_STREAM: the request is complete by then, as the server
/// answers only complete requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// The request is still arriving: its body, or its trailers.
    Receiving {
        /// A HEAD request: answer without the body.
        head_only: bool,
        /// Its header list was over the limit: answer `431`.
        too_large: bool,
    },
    /// The request is complete; its answer waits in the delay queue.
    Waiting,
    /// The head is written; `body[sent..]` follows as the flow-control
    /// windows allow.
    Sending {
        /// The answer.
        reply: Reply,
        /// Body bytes written so far.
        sent: usize,
    },
}

/// One open stream.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stream {
    pub(super) id: u32,
    pub(super) phase: Phase,
    /// What the server may still send on it; negative after the client
    /// lowered its `SETTINGS_INITIAL_WINDOW_SIZE` (RFC 9113 §6.9.2).
    pub(super) send_window: i64,
    /// What the client may still send on it.
    pub(super) recv_window: u32,
    /// Bytes received on it and not yet returned by a WINDOW_UPDATE.
    pub(super) recv_unacked: u32,
}

impl Stream {
    /// Whether it has body bytes to send and the window to send some.
    pub(super) fn can_send(&self) -> bool {
        matches!(self.phase, Phase::Sending { .. }) && self.send_window > 0
    }
}

/// The open streams, at most `MAX_CONCURRENT_STREAMS`, in a vector whose
/// capacity is reused: a warm connection allocates nothing per stream.
/// Lookups scan it, which for 128 small records is as fast as a map.
#[derive(Debug, Default)]
pub(super) struct Streams {
    pub(super) open: Vec<Stream>,
}

impl Streams {
    pub(super) fn get_mut(&mut self, id: u32) -> Option<&mut Stream> {
        self.open.iter_mut().find(|s| s.id == id)
    }

    pub(super) fn remove(&mut self, id: u32) -> Option<Stream> {
        let i = self.open.iter().position(|s| s.id == id)?;
        Some(self.open.swap_remove(i))
    }

    pub(super) fn len(&self) -> usize {
        self.open.len()
    }
}
