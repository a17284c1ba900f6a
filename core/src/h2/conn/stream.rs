//! The open streams of one connection, and sending a request body within
//! the server's flow-control windows.

use crate::h2::frame::{MAX_WINDOW, write_data};

/// Where a stream's response is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// No final (non-1xx) head yet.
    AwaitingHead,
    /// The final head arrived: DATA, then perhaps trailers.
    Body,
}

/// One open stream: a request sent (or being sent) whose response has not
/// ended.
#[derive(Debug)]
pub(super) struct Stream {
    /// Its identifier, odd.
    pub(super) id: u32,
    pub(super) phase: Phase,
    /// A frame of the response has arrived (even an interim head).
    pub(super) answered: bool,
    /// What the server still accepts of the request body on this stream;
    /// `SETTINGS_INITIAL_WINDOW_SIZE` can take it below zero (RFC 9113
    /// §6.9.2).
    pub(super) send_window: i64,
    /// What the server may still send on this stream.
    pub(super) recv_window: u32,
    /// Bytes received but not yet returned to the server in a
    /// WINDOW_UPDATE.
    pub(super) recv_unacked: u32,
    /// The part of the request body that did not fit the windows when the
    /// stream opened; emptied, keeping its capacity, when the stream ends.
    pub(super) body: Vec<u8>,
    /// How much of `body` has been sent.
    pub(super) body_sent: usize,
}

impl Stream {
    /// Part of the request body is still to be sent.
    pub(super) fn sending(&self) -> bool {
        self.body_sent < self.body.len()
    }
}

/// The open streams in ascending order of identifier (the order they
/// opened in), and the records of ended ones kept for reuse, so that a
/// warm connection allocates nothing per request.
#[derive(Debug, Default)]
pub(super) struct Streams {
    pub(super) open: Vec<Stream>,
    pub(super) free: Vec<Stream>,
}

impl Streams {
    /// The open stream `id`.
    pub(super) fn get_mut(&mut self, id: u32) -> Option<&mut Stream> {
        let i = self.open.binary_search_by_key(&id, |s| s.id).ok()?;
        Some(&mut self.open[i])
    }

    /// Opens stream `id`, higher than any opened before.
    pub(super) fn insert(&mut self, id: u32, send_window: i64, recv_window: u32) -> &mut Stream {
        debug_assert!(self.open.last().is_none_or(|s| s.id < id), "ids rise");
        let mut s = self.free.pop().unwrap_or_else(|| Stream {
            id: 0,
            phase: Phase::AwaitingHead,
            answered: false,
            send_window: 0,
            recv_window: 0,
            recv_unacked: 0,
            body: Vec::new(),
            body_sent: 0,
        });
        s.id = id;
        s.phase = Phase::AwaitingHead;
        s.answered = false;
        s.send_window = send_window;
        s.recv_window = recv_window;
        s.recv_unacked = 0;
        s.body.clear();
        s.body_sent = 0;
        let i = self.open.len();
        self.open.push(s);
        &mut self.open[i]
    }

    /// Ends stream `id`: whether any of its response had arrived, and
    /// whether part of its request body was left unsent. `None` if it is
    /// not open.
    pub(super) fn remove(&mut self, id: u32) -> Option<Ended> {
        let i = self.open.binary_search_by_key(&id, |s| s.id).ok()?;
        let s = self.open.remove(i);
        let ended = Ended {
            answered: s.answered,
            unsent_body: s.sending(),
        };
        self.free.push(s);
        Some(ended)
    }

    /// Ends every stream above `id` (all of them for 0), calling `each`
    /// with its identifier and whether any of its response had arrived,
    /// in ascending order.
    pub(super) fn remove_above(&mut self, id: u32, mut each: impl FnMut(u32, bool)) {
        let from = self.open.partition_point(|s| s.id <= id);
        for s in self.open.drain(from..) {
            each(s.id, s.answered);
            self.free.push(s);
        }
    }
}

/// What [`Streams::remove`] found of an ended stream.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ended {
    pub(super) answered: bool,
    pub(super) unsent_body: bool,
}

/// The server's side of flow control, as volley tracks it to send request
/// bodies (RFC 9113 §6.9).
#[derive(Clone, Copy, Debug)]
pub(super) struct SendLimits {
    /// The connection's send window.
    pub(super) window: i64,
    /// The server's `SETTINGS_MAX_FRAME_SIZE`.
    pub(super) max_frame: u32,
}

/// Writes as much of `body` as the windows allow as DATA frames of
/// `stream`, END_STREAM on the frame that finishes it, and takes what was
/// sent from both windows. Returns how many bytes were sent.
pub(super) fn send_body(
    stream: u32,
    body: &[u8],
    limits: &mut SendLimits,
    stream_window: &mut i64,
    out: &mut Vec<u8>,
) -> usize {
    let mut sent = 0;
    while sent < body.len() {
        let allowed = limits
            .window
            .min(*stream_window)
            .min(i64::from(limits.max_frame));
        // A window is at most 2^31 - 1, so the conversion holds; a
        // negative or zero one allows nothing.
        let allowed = usize::try_from(allowed).unwrap_or(0);
        if allowed == 0 {
            break;
        }
        let n = allowed.min(body.len() - sent);
        write_data(stream, &body[sent..sent + n], sent + n == body.len(), out);
        sent += n;
        // n ≤ 2^24 - 1: the conversion is exact.
        let n = n as i64;
        limits.window -= n;
        *stream_window -= n;
    }
    sent
}

/// Adds `increment` to a send window, which must stay within 2^31 - 1
/// (RFC 9113 §6.9.1). False if it would not.
pub(super) fn grow(window: &mut i64, increment: i64) -> bool {
    let grown = *window + increment;
    if grown > i64::from(MAX_WINDOW) {
        return false;
    }
    *window = grown;
    true
}
