//! The engine over HTTP/2 (SPEC §11): users are streams, and they share a
//! few connections.
//!
//! Under HTTP/1.1 a user is a connection, and [`ConnId`] names the user.
//! Under HTTP/2 a [`ConnId`] names a connection slot instead, and a user is
//! one request at a time that runs as a stream on whichever connection of
//! its origin can open one. A due request takes a free user as before (the
//! open model is unchanged); the user then waits in its origin's queue
//! until a connection has room under the server's
//! `SETTINGS_MAX_CONCURRENT_STREAMS`, and that wait counts in its latency,
//! as any wait does.
//!
//! Each origin may have `connections` slots active (connecting, open, or
//! backing off), and any number draining: a connection the server sent
//! GOAWAY to finishes its streams in its slot while a fresh one opens in
//! another, so a periodic GOAWAY (nginx's `keepalive_requests`) stalls
//! nothing, however long the old connections take to drain. An origin
//! starts with twice its connections in slots and takes another when
//! none is free; a draining connection holds a stream, so they never
//! outnumber the users. A stream the server did not process goes back into the
//! queue ahead of every request due after it, keeping its due time.

use std::collections::VecDeque;
use std::fmt;
use std::mem;

use super::{Engine, User};
use crate::error::ErrorKind;
use crate::event::{ConnId, Output};
use crate::h2::hpack::encode_http1;
use crate::h2::{ErrorCode, Event, H2Conn, StreamId};
use crate::{Duration, Instant};

/// A request the server refused this many times fails as
/// [`ErrorKind::RefusedStream`] (SPEC §11).
pub(super) const MAX_REFUSALS: u8 = 3;

/// What [`super::Config::http2`] asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Http2 {
    /// HTTP/2 connections this engine keeps to each origin (at least one).
    pub connections: usize,
    /// For each origin (in [`crate::Requests`]' numbering), whether it is
    /// `https`: the requests' `:scheme`.
    pub https: Vec<bool>,
}

impl Http2 {
    /// `connections` connections to each origin, whose schemes `https`
    /// gives.
    pub fn new(connections: usize, https: Vec<bool>) -> Self {
        Self { connections, https }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    /// No connection; free for one.
    Free,
    /// A connect (and TLS handshake) is under way.
    Connecting,
    /// Streams may open on it.
    Open,
    /// The server sent GOAWAY: its streams finish, no new ones open; the
    /// slot does not count against the origin's active connections.
    Draining,
    /// A connect failed; the slot waits before the origin may use it again.
    Backoff,
    /// The engine asked the driver to close the connection and it has not
    /// taken the [`Output::Close`] yet: until it does, what the driver
    /// reports of the slot is of the old connection (the rest of a read
    /// pass, its EOF), so the slot cannot take a new one.
    Closing,
}

#[derive(Debug)]
struct Slot {
    state: SlotState,
    origin: usize,
    conn: Option<H2Conn>,
    /// Bytes for the server, until the driver takes them.
    out: Vec<u8>,
    /// Open streams and the users whose requests they carry.
    streams: Vec<(StreamId, usize)>,
    /// Users whose streams opened since the driver last took `out`, and
    /// the bytes of each, stamped as sent when it takes them.
    unstamped: Vec<(usize, usize)>,
    /// An [`Output::Send`] of this slot is queued.
    send_queued: bool,
    /// The connection failed as this: its lost streams fail so.
    failure: Option<(ErrorKind, String)>,
    failures: u32,
    connect_started: Instant,
}

/// One origin's connections and the users waiting for a stream on one.
#[derive(Debug)]
struct Origin {
    /// Its slots, in the engine's numbering.
    slots: Vec<usize>,
    /// Most slots active at once (not free, not draining).
    active: usize,
    waiting: VecDeque<usize>,
    /// `:scheme` of its requests.
    scheme: &'static str,
    /// The `SETTINGS_MAX_CONCURRENT_STREAMS` its server last announced: a
    /// new connection opens no more before its own SETTINGS come.
    known_limit: Option<u32>,
}

/// The HTTP/2 side of an engine.
#[derive(Debug)]
pub(super) struct Side {
    slots: Vec<Slot>,
    origins: Vec<Origin>,
    /// Each target's header block and the offset of its body in its
    /// HTTP/1.1 rendering, encoded once; `None` for a templated target,
    /// encoded for each request into `block`.
    heads: Vec<Option<(Vec<u8>, usize)>>,
    block: Vec<u8>,
    /// Origins whose queue may move (a stream ended, a connection came or
    /// went) while their connection was being fed.
    to_pump: Vec<usize>,
    /// The most slots there may be: those of the start, and one for each
    /// user (see the module documentation).
    max_slots: usize,
}

impl Side {
    /// Slots for `plan` over the engine's targets.
    pub(super) fn new(
        plan: &Http2,
        engine_requests: &crate::Requests,
        users: usize,
        now: Instant,
    ) -> Self {
        let n = engine_requests.origin_count().max(1);
        let per = plan.connections.max(1);
        let origins: Vec<Origin> = (0..n)
            .map(|o| Origin {
                slots: (o * 2 * per..(o + 1) * 2 * per).collect(),
                active: per,
                waiting: VecDeque::new(),
                known_limit: None,
                scheme: if plan.https.get(o).copied().unwrap_or(false) {
                    "https"
                } else {
                    "http"
                },
            })
            .collect();
        let slots: Vec<Slot> = origins
            .iter()
            .enumerate()
            .flat_map(|(o, origin)| origin.slots.iter().map(move |_| o))
            .map(|origin| Slot::new(origin, now))
            .collect();
        let max_slots = slots.len() + users;
        let heads = engine_requests
            .targets()
            .iter()
            .zip(engine_requests.origins.iter())
            .map(|(t, &o)| {
                let scheme = origins[usize::from(o).min(n - 1)].scheme;
                let mut block = Vec::new();
                (!t.template.is_templated())
                    .then(|| encode_http1(t.template.bytes(), scheme, &mut block))
                    .flatten()
                    .map(|body| (block, body))
            })
            .collect();
        Self {
            slots,
            origins,
            heads,
            block: Vec::new(),
            to_pump: Vec::new(),
            max_slots,
        }
    }

    /// The most slots there may be: the engine's [`ConnId`]s are below it.
    pub(super) fn max_slots(&self) -> usize {
        self.max_slots
    }

    /// A free slot of `origin`, made if it has none and the limit allows.
    fn free_slot(&mut self, origin: usize, now: Instant) -> Option<usize> {
        let slots = &self.slots;
        let o = &mut self.origins[origin];
        if let Some(&s) = o.slots.iter().find(|&&s| slots[s].state == SlotState::Free) {
            return Some(s);
        }
        if self.slots.len() >= self.max_slots {
            return None;
        }
        let s = self.slots.len();
        self.slots.push(Slot::new(origin, now));
        o.slots.push(s);
        Some(s)
    }

    /// Connection slots: the engine's [`ConnId`]s are `0..slots()`.
    pub(super) fn slots(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn origin_of(&self, conn: ConnId) -> usize {
        self.slots.get(conn.0).map_or(0, |s| s.origin)
    }

    /// How many connects the engine starts before the run: every origin's
    /// active connections.
    fn initial(&self) -> impl Iterator<Item = usize> + '_ {
        self.origins
            .iter()
            .flat_map(|o| o.slots[..o.active].iter().copied())
    }
}

impl Slot {
    fn new(origin: usize, now: Instant) -> Self {
        Self {
            state: SlotState::Free,
            origin,
            conn: None,
            out: Vec::new(),
            streams: Vec::new(),
            unstamped: Vec::new(),
            send_queued: false,
            failure: None,
            failures: 0,
            connect_started: now,
        }
    }
}

impl Engine {
    /// Starts the connections of every origin (the warm-up's connects).
    pub(super) fn h2_start(&mut self, now: Instant) -> usize {
        let Some(side) = &self.h2 else { return 0 };
        let first: Vec<usize> = side.initial().collect();
        for &s in &first {
            self.h2_connect(s, now);
        }
        first.len()
    }

    /// Moves bytes queued for the server on `conn` to `dst` (appending, or
    /// swapping buffers when `dst` is empty, so that nothing is copied or
    /// allocated in the steady state).
    pub(super) fn h2_take_bytes(&mut self, conn: ConnId, dst: &mut Vec<u8>) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(conn.0)) else {
            return;
        };
        if dst.is_empty() {
            mem::swap(dst, &mut slot.out);
        } else {
            dst.extend_from_slice(&slot.out);
        }
        slot.out.clear();
    }

    /// The driver takes the bytes of slot `s` at `now`: the streams opened
    /// into them are sent.
    pub(super) fn h2_sending(&mut self, s: usize, now: Instant) {
        let Some(side) = &mut self.h2 else { return };
        let Some(slot) = side.slots.get_mut(s) else {
            return;
        };
        slot.send_queued = false;
        let mut unstamped = mem::take(&mut slot.unstamped);
        let control = slot.out.len()
            - unstamped
                .iter()
                .map(|&(_, n)| n)
                .sum::<usize>()
                .min(slot.out.len());
        self.stats.bytes_out += control as u64;
        for &(u, len) in &unstamped {
            let retry = self.users[u].req.as_mut().is_some_and(|req| {
                req.sent = Some(req.sent.map_or(now, |queued| queued.max(now)));
                req.retried
            });
            self.stats.record_write(!retry, len);
            if let Some(t) = self.stats.targets.get_mut(self.users[u].target) {
                t.sent += u64::from(!retry);
                t.bytes_out += len as u64;
            }
        }
        unstamped.clear();
        if let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) {
            slot.unstamped = unstamped;
        }
    }

    /// The driver takes the close of slot `s`: from now on what it
    /// reports of the slot is of its next connection.
    pub(super) fn h2_closed(&mut self, s: usize, now: Instant) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        if slot.state == SlotState::Closing {
            slot.state = SlotState::Free;
            let origin = slot.origin;
            self.h2_pump(origin, now);
        }
    }

    /// A due request of `u` looks for a stream.
    pub(super) fn h2_dispatch(&mut self, u: usize, now: Instant) {
        let origin = self.users[u].origin;
        let Some(side) = &mut self.h2 else { return };
        side.origins[origin].waiting.push_back(u);
        self.h2_pump(origin, now);
    }

    /// Opens streams for the origin's waiting users while a connection has
    /// room. While users wait, the origin keeps its connections: fewer
    /// active than it may have (one went after a GOAWAY or an EOF), it
    /// starts one in a free slot, even if another connection has room. Else
    /// the run would go on with fewer connections than `--connections`
    /// after the first GOAWAY, since the others would take every stream.
    fn h2_pump(&mut self, origin: usize, now: Instant) {
        loop {
            let Some(side) = &mut self.h2 else { return };
            let o = &side.origins[origin];
            if o.waiting.is_empty() {
                return;
            }
            let slots = &side.slots;
            let active = o
                .slots
                .iter()
                .filter(|&&s| {
                    matches!(
                        slots[s].state,
                        SlotState::Connecting | SlotState::Open | SlotState::Backoff
                    )
                })
                .count();
            if active < o.active {
                if let Some(s) = side.free_slot(origin, now) {
                    self.h2_connect(s, now);
                    continue;
                }
            }
            let (o, slots) = (&side.origins[origin], &side.slots);
            let open = o
                .slots
                .iter()
                .copied()
                .filter(|&s| {
                    slots[s].state == SlotState::Open
                        && slots[s].conn.as_ref().is_some_and(H2Conn::can_open)
                })
                .min_by_key(|&s| slots[s].streams.len());
            let Some(mut s) = open else { return };
            let Some(u) = side.origins[origin].waiting.pop_front() else {
                return;
            };
            // A request the server refused goes to another connection
            // when one has room (SPEC §11).
            if let Some(refused) = self.users[u].refused_on.filter(|&r| r == s) {
                let (o, slots) = (&side.origins[origin], &side.slots);
                if let Some(other) = o
                    .slots
                    .iter()
                    .copied()
                    .filter(|&i| {
                        i != refused
                            && slots[i].state == SlotState::Open
                            && slots[i].conn.as_ref().is_some_and(H2Conn::can_open)
                    })
                    .min_by_key(|&i| slots[i].streams.len())
                {
                    s = other;
                }
            }
            self.h2_open(s, u, now);
        }
    }

    /// Opens a stream on slot `s` for the request of `u`.
    fn h2_open(&mut self, s: usize, u: usize, now: Instant) {
        let Some(side) = &mut self.h2 else { return };
        let user = &mut self.users[u];
        let target = &self.requests.targets[user.target];
        let Side {
            slots,
            heads,
            block,
            origins,
            ..
        } = &mut **side;
        let slot = &mut slots[s];
        let (head, body): (&[u8], &[u8]) = match &heads[user.target] {
            Some((head, body)) => (head, &target.template.bytes()[*body..]),
            None => {
                block.clear();
                let request = if target.template.is_templated() {
                    &user.buf[..]
                } else {
                    target.template.bytes()
                };
                let at = encode_http1(request, origins[slot.origin].scheme, block)
                    .unwrap_or(request.len());
                (block, &request[at..])
            }
        };
        let Some(conn) = &mut slot.conn else { return };
        let before = slot.out.len();
        let Ok(stream) = conn.open(head, body, &mut slot.out) else {
            // `h2_pump` checked `can_open`; wait for the next chance.
            origins[slot.origin].waiting.push_front(u);
            return;
        };
        let len = slot.out.len() - before;
        slot.streams.push((stream, u));
        slot.unstamped.push((u, len));
        user.stream = Some((s, stream));
        user.refused_on = None;
        user.found = 0;
        if let Some(req) = &mut user.req {
            // Provisional, as for HTTP/1.1: the driver's take sets it.
            req.sent = Some(now);
        }
        self.stats.streams += 1;
        self.responding.push_back(u, now + self.config.timeout);
        self.h2_queue_send(s);
    }

    fn h2_queue_send(&mut self, s: usize) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        if !slot.send_queued && !slot.out.is_empty() {
            slot.send_queued = true;
            self.outputs.push_back(Output::Send(ConnId(s)));
        }
    }

    fn h2_connect(&mut self, s: usize, now: Instant) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        slot.state = SlotState::Connecting;
        slot.connect_started = now;
        slot.failure = None;
        self.connecting
            .push_back(s, now + self.config.connect_timeout);
        self.outputs.push_back(Output::Connect(ConnId(s)));
    }

    /// The driver starts the connect of slot `s` at `now` (see
    /// [`Engine::connecting_from`]).
    pub(super) fn h2_connecting_from(&mut self, s: usize, now: Instant) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        if slot.state != SlotState::Connecting || now <= slot.connect_started {
            return;
        }
        slot.connect_started = now;
        self.connecting
            .push_back(s, now + self.config.connect_timeout);
    }

    pub(super) fn h2_connected(&mut self, s: usize, now: Instant, tls: Option<(Instant, bool)>) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        if slot.state != SlotState::Connecting {
            return;
        }
        slot.state = SlotState::Open;
        slot.failures = 0;
        slot.out.clear();
        let mut conn = H2Conn::new(&mut slot.out);
        let (started, origin) = (slot.connect_started, slot.origin);
        if let Some(limit) = self.h2.as_ref().and_then(|h| h.origins[origin].known_limit) {
            conn.assume_max_streams(limit);
        }
        if let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) {
            slot.conn = Some(conn);
        }
        let tcp_done = tls.map_or(now, |(t, _)| t);
        self.stats
            .record_connect(tcp_done.checked_duration_since(started).unwrap_or_default());
        if let Some((t, resumed)) = tls {
            self.stats
                .record_handshake(now.checked_duration_since(t).unwrap_or_default(), resumed);
        }
        self.connecting.remove(s);
        self.h2_queue_send(s);
        self.warmup_progress();
        self.h2_pump(origin, now);
    }

    pub(super) fn h2_data(&mut self, s: usize, now: Instant, data: &[u8]) {
        self.stats.bytes_in += data.len() as u64;
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        let (Some(mut conn), mut out) = (slot.conn.take(), mem::take(&mut slot.out)) else {
            return;
        };
        conn.feed(data, &mut out, |event| self.h2_event(s, now, event));
        let failed = conn.is_closed();
        if let Some(side) = &mut self.h2 {
            let slot = &mut side.slots[s];
            if conn.settings_seen() {
                side.origins[slot.origin].known_limit = Some(conn.max_streams());
            }
            slot.conn = Some(conn);
            slot.out = out;
        }
        self.h2_queue_send(s);
        if failed {
            self.h2_close(s);
        }
        self.h2_settle(s, now);
    }

    /// What one event of slot `s`'s connection means for its streams.
    fn h2_event(&mut self, s: usize, now: Instant, event: Event<'_>) {
        match event {
            Event::Response { stream, status } => {
                if let Some(req) = self
                    .h2_user(s, stream)
                    .and_then(|u| self.users[u].req.as_mut())
                {
                    req.status = status;
                    req.first_byte.get_or_insert(now);
                }
            }
            Event::Body { stream, data } => {
                let Some(u) = self.h2_user(s, stream) else {
                    return;
                };
                let user = &mut self.users[u];
                if let Some(req) = &mut user.req {
                    req.bytes_in += data.len() as u64;
                }
                if let Some(t) = self.stats.targets.get_mut(user.target) {
                    t.bytes_in += data.len() as u64;
                }
                if let Some(needle) = &self.requests.targets[user.target].expect.body {
                    user.found = needle.advance(user.found, data);
                }
            }
            Event::Done { stream } => {
                let Some(u) = self.h2_end_stream(s, stream) else {
                    return;
                };
                let status = self.users[u].req.map_or(0, |r| r.status);
                self.complete_checked(u, now, status);
                self.free(u, now);
            }
            Event::Reset {
                stream,
                code,
                unprocessed,
            } => {
                let Some(u) = self.h2_end_stream(s, stream) else {
                    return;
                };
                if unprocessed {
                    self.users[u].refused_on = Some(s);
                    self.h2_refused(u, now, code);
                } else {
                    self.fail(
                        u,
                        now,
                        ErrorKind::StreamReset,
                        &format_args!("stream reset by the server: {code}"),
                    );
                    self.free(u, now);
                }
            }
            Event::Malformed { stream, error } => {
                let Some(u) = self.h2_end_stream(s, stream) else {
                    return;
                };
                self.fail(u, now, ErrorKind::Malformed, &error);
                self.free(u, now);
            }
            Event::GoAway { .. } => {
                self.stats.goaways += 1;
                if let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) {
                    if slot.state == SlotState::Open {
                        slot.state = SlotState::Draining;
                    }
                    let origin = slot.origin;
                    self.h2_later(origin);
                }
            }
            Event::Failed(e) => {
                self.stats.note_example(ErrorKind::Malformed, &e);
                if let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) {
                    slot.failure = Some((ErrorKind::Malformed, e.to_string()));
                }
            }
            Event::Lost { stream, answered } => {
                let Some(u) = self.h2_end_stream(s, stream) else {
                    return;
                };
                self.h2_lost(s, u, now, answered);
            }
        }
    }

    /// The user whose request stream `stream` of slot `s` carries.
    fn h2_user(&self, s: usize, stream: StreamId) -> Option<usize> {
        let slot = self.h2.as_ref()?.slots.get(s)?;
        slot.streams
            .iter()
            .find(|&&(id, _)| id == stream)
            .map(|&(_, u)| u)
    }

    /// Forgets stream `stream` of slot `s`; its user, whose request ends
    /// or goes again.
    fn h2_end_stream(&mut self, s: usize, stream: StreamId) -> Option<usize> {
        let slot = self.h2.as_mut()?.slots.get_mut(s)?;
        let i = slot.streams.iter().position(|&(id, _)| id == stream)?;
        let (_, u) = slot.streams.swap_remove(i);
        slot.unstamped.retain(|&(v, _)| v != u);
        let origin = slot.origin;
        self.users[u].stream = None;
        self.responding.remove(u);
        self.h2_later(origin);
        Some(u)
    }

    /// Marks `origin`'s queue to be moved once the connection being fed is
    /// back in its slot.
    fn h2_later(&mut self, origin: usize) {
        if let Some(side) = &mut self.h2 {
            if !side.to_pump.contains(&origin) {
                side.to_pump.push(origin);
            }
        }
    }

    /// The server did not process the request of `u`: it goes again,
    /// keeping its due time, unless this was its last refusal.
    fn h2_refused(&mut self, u: usize, now: Instant, code: ErrorCode) {
        let Some(req) = &mut self.users[u].req else {
            return;
        };
        req.refusals += 1;
        if req.refusals >= MAX_REFUSALS {
            self.fail(
                u,
                now,
                ErrorKind::RefusedStream,
                &format_args!(
                    "the server did not process the request {MAX_REFUSALS} times (last: {code})"
                ),
            );
            self.free(u, now);
            return;
        }
        self.h2_again(u);
    }

    /// The request of `u` goes back into its origin's queue, ahead of
    /// every request due after it. The queue stays in the order requests
    /// were due: the streams above a GOAWAY's last stream, which come back
    /// together in the order they opened, go again in that order (pushed
    /// to the front one by one, they went in reverse).
    fn h2_again(&mut self, u: usize) {
        let mut k = 0;
        if let Some(req) = &mut self.users[u].req {
            req.retried = true;
            req.sent = None;
            req.first_byte = None;
            req.bytes_in = 0;
            req.status = 0;
            k = req.k;
        }
        self.stats.retries += 1;
        let origin = self.users[u].origin;
        let users = &self.users;
        if let Some(side) = &mut self.h2 {
            let waiting = &mut side.origins[origin].waiting;
            let at = waiting.partition_point(|&v| users[v].req.is_some_and(|r| r.k < k));
            waiting.insert(at, u);
        }
        self.h2_later(origin);
    }

    /// The connection of slot `s` ended with the request of `u` open. If
    /// nothing of the answer came, the server may not have seen it: an
    /// idempotent request goes again (SPEC §2's rule, which a GOAWAY's
    /// last stream or a REFUSED_STREAM would have made certain).
    fn h2_lost(&mut self, s: usize, u: usize, now: Instant, answered: bool) {
        let idempotent = self.requests.targets[self.users[u].target]
            .template
            .is_idempotent();
        let refusals = self.users[u].req.map_or(0, |r| r.refusals);
        if !answered && idempotent && refusals + 1 < MAX_REFUSALS {
            if let Some(req) = &mut self.users[u].req {
                req.refusals += 1;
            }
            self.h2_again(u);
            return;
        }
        let failure = self
            .h2
            .as_ref()
            .and_then(|h| h.slots.get(s))
            .and_then(|slot| slot.failure.clone());
        match failure {
            Some((kind, message)) => self.fail(u, now, kind, &message),
            None => self.fail(
                u,
                now,
                ErrorKind::ClosedEarly,
                &"connection closed before the response was complete",
            ),
        }
        self.free(u, now);
    }

    /// After slot `s` was fed or closed: a draining connection with no
    /// stream left closes, and the queues that may move do.
    fn h2_settle(&mut self, s: usize, now: Instant) {
        let drained = self
            .h2
            .as_ref()
            .and_then(|h| h.slots.get(s))
            .is_some_and(|slot| slot.state == SlotState::Draining && slot.streams.is_empty());
        if drained {
            self.h2_close(s);
        }
        while let Some(origin) = self.h2.as_mut().and_then(|h| h.to_pump.pop()) {
            self.h2_pump(origin, now);
        }
        self.finish_if_drained(now);
    }

    /// Drops slot `s`'s connection (its streams must have ended); the slot
    /// is free for another.
    fn h2_close(&mut self, s: usize) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        if matches!(
            slot.state,
            SlotState::Free | SlotState::Backoff | SlotState::Closing
        ) {
            return;
        }
        slot.state = SlotState::Closing;
        slot.conn = None;
        slot.unstamped.clear();
        slot.send_queued = false;
        let origin = slot.origin;
        self.connecting.remove(s);
        self.outputs.push_back(Output::Close(ConnId(s)));
        self.h2_later(origin);
    }

    /// The server closed slot `s`'s connection.
    pub(super) fn h2_eof(&mut self, s: usize, now: Instant) {
        let state = self
            .h2
            .as_ref()
            .and_then(|h| h.slots.get(s))
            .map(|slot| slot.state);
        match state {
            Some(SlotState::Connecting) => self.h2_connect_failed(
                s,
                now,
                ErrorKind::ConnectError,
                &"connection closed during connect",
            ),
            Some(SlotState::Open | SlotState::Draining) => self.h2_lose(s, now),
            _ => {}
        }
    }

    /// An error on slot `s`'s connection.
    pub(super) fn h2_error(
        &mut self,
        s: usize,
        now: Instant,
        kind: ErrorKind,
        message: &dyn fmt::Display,
    ) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        match slot.state {
            SlotState::Connecting => self.h2_connect_failed(s, now, kind, message),
            SlotState::Open | SlotState::Draining => {
                slot.failure = Some((kind, message.to_string()));
                self.stats.note_example(kind, message);
                self.h2_lose(s, now);
            }
            SlotState::Free | SlotState::Backoff | SlotState::Closing => {}
        }
    }

    /// Slot `s`'s connection is gone: its open streams are lost.
    fn h2_lose(&mut self, s: usize, now: Instant) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        if let Some(mut conn) = slot.conn.take() {
            conn.eof(|event| self.h2_event(s, now, event));
        }
        // Streams the connection no longer knew (none, normally).
        let orphans: Vec<usize> = self
            .h2
            .as_mut()
            .and_then(|h| h.slots.get_mut(s))
            .map(|slot| slot.streams.drain(..).map(|(_, u)| u).collect())
            .unwrap_or_default();
        for u in orphans {
            self.users[u].stream = None;
            self.responding.remove(u);
            self.h2_lost(s, u, now, true);
        }
        self.h2_close(s);
        self.h2_settle(s, now);
    }

    fn h2_connect_failed(
        &mut self,
        s: usize,
        now: Instant,
        kind: ErrorKind,
        message: &dyn fmt::Display,
    ) {
        self.connecting.remove(s);
        self.stats.connect_failures += 1;
        self.stats.note_example(kind, message);
        self.outputs.push_back(Output::Close(ConnId(s)));
        let Some(side) = &mut self.h2 else { return };
        let slot = &mut side.slots[s];
        slot.state = SlotState::Backoff;
        slot.conn = None;
        slot.failures = slot.failures.saturating_add(1);
        let delay = super::backoff_after(slot.failures);
        let origin = slot.origin;
        self.backoff.push(std::cmp::Reverse((now + delay, s)));
        // With no connection of the origin open, its waiting requests
        // meet the same failure, as each HTTP/1.1 user's would.
        let o = &side.origins[origin];
        let none_open = o
            .slots
            .iter()
            .all(|&i| side.slots[i].state != SlotState::Open);
        if none_open {
            let waiting: Vec<usize> = side.origins[origin].waiting.drain(..).collect();
            for u in waiting {
                self.fail(u, now, kind, message);
                self.free(u, now);
            }
        }
        self.warmup_progress();
        self.finish_if_drained(now);
    }

    /// Slot `s`'s connect did not complete within `limit`.
    pub(super) fn h2_connect_failed_timeout(&mut self, s: usize, now: Instant, limit: Duration) {
        self.h2_connect_failed(
            s,
            now,
            ErrorKind::ConnectTimeout,
            &format_args!("connect did not complete within {limit:?}"),
        );
    }

    /// Slot `s`'s backoff is over.
    pub(super) fn h2_backoff_over(&mut self, s: usize, now: Instant) {
        let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) else {
            return;
        };
        if slot.state == SlotState::Backoff {
            slot.state = SlotState::Free;
        }
        let origin = slot.origin;
        self.h2_pump(origin, now);
    }

    /// The request of `u` timed out: its stream is cancelled, and the
    /// connection goes on.
    pub(super) fn h2_timeout(&mut self, u: usize, now: Instant, limit: Duration) {
        let on = self.users[u].stream.take();
        if let Some((s, stream)) = on {
            if let Some(slot) = self.h2.as_mut().and_then(|h| h.slots.get_mut(s)) {
                slot.streams.retain(|&(id, _)| id != stream);
                slot.unstamped.retain(|&(v, _)| v != u);
                if let Some(conn) = &mut slot.conn {
                    conn.cancel(stream, &mut slot.out);
                }
                let origin = slot.origin;
                self.h2_queue_send(s);
                self.h2_later(origin);
            }
        }
        self.fail(
            u,
            now,
            ErrorKind::Timeout,
            &format_args!("no complete response within {limit:?}"),
        );
        self.free(u, now);
        if let Some((s, _)) = on {
            // A draining connection whose last stream this was closes, so
            // that its slot can take a replacement; and the queues move.
            self.h2_settle(s, now);
        }
    }

    /// At the end: every connection closes.
    pub(super) fn h2_finish(&mut self) {
        let Some(side) = &mut self.h2 else { return };
        for (s, slot) in side.slots.iter_mut().enumerate() {
            if !matches!(
                slot.state,
                SlotState::Free | SlotState::Backoff | SlotState::Closing
            ) {
                self.outputs.push_back(Output::Close(ConnId(s)));
            }
            slot.state = SlotState::Free;
            slot.conn = None;
            slot.streams.clear();
            slot.unstamped.clear();
        }
        for o in &mut side.origins {
            o.waiting.clear();
        }
        for user in &mut self.users {
            user.stream = None;
        }
    }
}

/// Users of an HTTP/2 engine never connect: they are free from the start.
pub(super) fn users_free(users: &[User]) -> impl Iterator<Item = (usize, usize)> + '_ {
    users.iter().enumerate().map(|(u, user)| (user.origin, u))
}
