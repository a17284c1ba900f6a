//! Internals for the fuzz targets in `fuzz/`, compiled only with
//! `--cfg fuzzing` (which `cargo fuzz` sets). Not part of the API.
//!
//! The connection state machine stays `pub(crate)`; this module wraps just
//! the part the targets drive, so nothing becomes public for other users.

use crate::conn;
use crate::error::ParseError;

/// What feeding bytes to a [`Conn`] achieved (a copy of the internal `Feed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// The response is not complete; all bytes were used.
    More,
    /// The final response is complete.
    Done {
        /// Its status code.
        status: u16,
        /// The connection may be reused.
        keep_alive: bool,
        /// Bytes of the input after the response.
        trailing: usize,
    },
}

/// One connection that has connected and written its request, so the next
/// bytes fed are its response.
#[derive(Debug)]
pub struct Conn(conn::Conn);

impl Conn {
    /// A connection awaiting the response head.
    #[allow(clippy::new_without_default)] // a Default would hide the state it starts in
    pub fn new() -> Self {
        let mut c = conn::Conn::new();
        c.start_connect();
        c.connected();
        c.send();
        Self(c)
    }

    /// Feeds bytes from the server, as the engine does on a read.
    pub fn feed(&mut self, data: &[u8], head_request: bool) -> Result<Feed, ParseError> {
        Ok(match self.0.feed(data, head_request)? {
            conn::Feed::More => Feed::More,
            conn::Feed::Done {
                status,
                keep_alive,
                trailing,
            } => Feed::Done {
                status,
                keep_alive,
                trailing,
            },
        })
    }
}

/// Cuts `bytes` into pieces: each split takes that many bytes (at most
/// what is left) off the front of the rest, which is the last piece.
pub fn pieces<'a>(bytes: &'a [u8], splits: &[u16]) -> Vec<&'a [u8]> {
    let mut pieces = vec![bytes];
    for &n in splits {
        let rest = pieces.pop().unwrap_or_default();
        let (piece, rest) = rest.split_at(usize::from(n).min(rest.len()));
        pieces.extend([piece, rest]);
    }
    pieces
}

/// An HTTP/2 connection that opened `streams` requests (streams 1, 3, …;
/// the first with a body larger than the server's initial windows), then
/// was fed `pieces` of the server's bytes in turn, then saw EOF: the
/// events, as text, and the bytes it wrote after opening the streams.
///
/// Checks the events' contract on the way: every stream opened ends in
/// exactly one `Done`, `Reset`, `Malformed` or `Lost`, and no event names
/// a stream that was not open.
pub fn h2_conn(streams: u8, pieces: &[&[u8]]) -> (Vec<String>, Vec<u8>) {
    use crate::h2::{Event, H2Conn, hpack};

    let mut out = vec![];
    let mut conn = H2Conn::new(&mut out);
    let mut block = vec![];
    hpack::encode_request("POST", "https", "fuzz", "/", &[], &mut block);
    let mut open = vec![];
    for i in 0..streams {
        let body = if i == 0 { &[7; 100_000][..] } else { b"" };
        match conn.open(&block, body, &mut out) {
            Ok(id) => open.push(id),
            Err(_) => break,
        }
    }
    out.clear();
    let mut events = vec![];
    let mut on_event = |e: Event<'_>| {
        match e {
            Event::Done { stream }
            | Event::Reset { stream, .. }
            | Event::Malformed { stream, .. }
            | Event::Lost { stream, .. } => {
                let i = open.iter().position(|&s| s == stream);
                assert!(i.is_some(), "{e:?} for a stream not open");
                open.retain(|&s| s != stream);
            }
            Event::Response { stream, .. } | Event::Body { stream, .. } => {
                assert!(open.contains(&stream), "{e:?} for a stream not open");
            }
            _ => {}
        }
        events.push(format!("{e:?}"));
    };
    for piece in pieces {
        conn.feed(piece, &mut out, &mut on_event);
    }
    conn.eof(&mut on_event);
    assert!(open.is_empty(), "streams never ended: {open:?}");
    assert!(conn.is_idle());
    (events, out)
}
