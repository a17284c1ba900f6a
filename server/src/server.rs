//! The server: its listener, its one mio loop, and the queues of what is
//! due later (delayed answers and lingering closes).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::conn::{Conn, Next};
use crate::peer::{Peer, Sniff, Step};
use crate::responses::{Picker, Responses};
use crate::shared::{Due, Shared};
use crate::{LINGER, ServeConfig, ServeStats, valid_status};
use volley_driver::PreciseTimer;

const LISTENER: Token = Token(0);
/// The token of the shutdown waker.
const WAKER: Token = Token(usize::MAX);
/// The token of the timer that wakes the loop when an answer is due.
const TIMER: Token = Token(usize::MAX - 1);
/// The longest accepted `delay`, so that `now + delay` cannot overflow.
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// Listen backlog asked for; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: libc::c_int = 65_535;

/// Raises the listen backlog from mio's 128 (std's value) to [`BACKLOG`]
/// (Linux applies a second `listen` on a listening socket). A client that
/// opens thousands of connections at once (volley's users, before `t0`)
/// otherwise overflows the accept queue: Linux then drops the handshake's
/// last ACK (or answers with SYN cookies it cannot honour), and the client
/// holds connections the server has not accepted. Best effort.
fn raise_backlog(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: `listen` on a socket descriptor that `listener` owns.
    let _ = unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) };
}

/// A bound target that serves once [`run`](Self::run) is called.
#[derive(Debug)]
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    local_addr: SocketAddr,
    handle: ShutdownHandle,
    timer: PreciseTimer,
    conns: Slab<Peer>,
    /// New connections may speak HTTP/2: their first bytes decide.
    http2: bool,
    shared: Shared,
}

/// Makes a running [`Server::run`] return promptly; cheap to clone and usable
/// from any thread.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
}

impl ShutdownHandle {
    /// Asks the server to stop; `run` returns at its next wakeup, which this
    /// call triggers. Calling it again, or after the server stopped, is harmless.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        // An error means the poll is gone, so the server has stopped already.
        let _ = self.waker.wake();
    }

    fn requested(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// A server running on its own thread, from [`Server::spawn`].
///
/// Dropping it shuts the server down and joins the thread.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<ServeStats>>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that shuts the server down.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Shuts the server down, waits for its thread and returns its stats,
    /// or the error that ended it.
    pub fn stop(mut self) -> io::Result<ServeStats> {
        self.join()
            .unwrap_or_else(|| Err(io::Error::other("volley serve thread panicked")))
    }

    /// Shuts down and joins; `None` if the thread panicked (or was joined).
    fn join(&mut self) -> Option<io::Result<ServeStats>> {
        self.handle.shutdown();
        self.thread.take()?.join().ok()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

impl Server {
    /// Binds the listener and returns without serving yet.
    ///
    /// Fails if the address cannot be bound (in use, not local, ...) or the
    /// config is invalid: an empty status mix, a status outside 100..=599 or
    /// 101, a zero weight, a delay over 24 hours, or a `max_requests` of 0
    /// (`InvalidInput`).
    pub fn bind(config: ServeConfig) -> io::Result<Self> {
        if config.statuses.is_empty() {
            return Err(invalid("status mix is empty"));
        }
        for &(status, weight) in &config.statuses {
            if !valid_status(status) || weight == 0 {
                return Err(invalid(&format!(
                    "invalid status mix entry {status}:{weight}: expected a status from 100 to \
                     599 (not 101) with a weight of at least 1"
                )));
            }
        }
        if config.delay > MAX_DELAY {
            return Err(invalid("delay longer than 24 hours"));
        }
        if config.max_requests == Some(0) {
            return Err(invalid(
                "max_requests of 0: a connection must serve a request",
            ));
        }
        if config
            .capacity
            .is_some_and(|c| !(c.is_finite() && (0.001..=10_000_000.0).contains(&c)))
        {
            return Err(invalid(
                "capacity outside 0.001 to 10,000,000 requests per second",
            ));
        }
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(config.listen)?;
        raise_backlog(&listener);
        let local_addr = listener.local_addr()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let handle = ShutdownHandle {
            waker,
            stop: Arc::new(AtomicBool::new(false)),
        };
        let timer = PreciseTimer::new(&[poll.registry()], TIMER)?;
        Ok(Self {
            poll,
            listener,
            local_addr,
            handle,
            timer,
            conns: Slab::new(),
            http2: config.http2,
            shared: Shared {
                responses: Responses::render(&config.statuses, config.body_size),
                picker: Picker::new(&config.statuses),
                delay: config.delay,
                service: config
                    .capacity
                    .map(|rate| Duration::from_secs_f64(1.0 / rate)),
                free_at: None,
                delayed: VecDeque::new(),
                lingering: VecDeque::new(),
                dirty: Vec::new(),
                again: Vec::new(),
                next_gen: 0,
                max_requests: config.max_requests,
                stats: ServeStats::default(),
            },
        })
    }

    /// The address the listener is bound to (with the real port if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that makes [`run`](Self::run) return promptly, from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Binds, then runs the server on a new thread; the returned guard stops it.
    pub fn spawn(config: ServeConfig) -> io::Result<RunningServer> {
        let server = Self::bind(config)?;
        let addr = server.local_addr();
        let handle = server.shutdown_handle();
        let thread = std::thread::Builder::new()
            .name("volley-serve".into())
            .spawn(move || server.run())?;
        Ok(RunningServer {
            addr,
            handle,
            thread: Some(thread),
        })
    }

    /// Serves until shut down, on the calling thread, with one mio `Poll`.
    ///
    /// Errors only if polling itself fails; a failing connection is closed
    /// and the others carry on.
    pub fn run(mut self) -> io::Result<ServeStats> {
        let mut events = Events::with_capacity(1024);
        loop {
            if self.handle.requested() {
                return Ok(self.shared.stats);
            }
            let now = Instant::now();
            let timeout = self.shared.poll_timeout(now);
            // The poll's own timeout is whole milliseconds, rounded up: the
            // timer wakes the loop on time, the timeout stays as a backstop.
            if let Some(wait) = timeout.filter(|t| !t.is_zero()) {
                self.timer.arm(now + wait)?;
            }
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // Read after waking: a request read now arrived no later than this.
            let now = Instant::now();
            for event in &events {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    TIMER => self.timer.fired(),
                    Token(t) => self.drive(t.wrapping_sub(1), now),
                }
            }
            self.retry(now);
            self.expire(now);
        }
    }

    /// Accepts until `WouldBlock`. Another error (such as running out of
    /// file descriptors) stops this round; the next connection retries.
    fn accept(&mut self) {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    continue;
                }
                Err(_) => return,
            };
            // Without NODELAY only latency suffers, so an error is not fatal.
            let _ = stream.set_nodelay(true);
            let entry = self.conns.vacant_entry();
            let slot = entry.key();
            let token = Token(slot.wrapping_add(1));
            if self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_err()
            {
                continue;
            }
            self.shared.next_gen = self.shared.next_gen.wrapping_add(1);
            let generation = self.shared.next_gen;
            entry.insert(if self.http2 {
                Peer::Sniffing(Sniff::new(stream, generation))
            } else {
                Peer::Http1(Conn::new(stream, slot, generation))
            });
            self.shared.stats.connections += 1;
        }
    }

    /// Runs one connection after an event, and acts on what it decides.
    fn drive(&mut self, slot: usize, now: Instant) {
        // Sporadic events for a slot already closed happen; ignore them.
        let Some(peer) = self.conns.get_mut(slot) else {
            return;
        };
        let next = match peer.drive(&mut self.shared, now) {
            Step::Next(next) => next,
            Step::Decided => return self.decide(slot),
        };
        let generation = peer.generation();
        match next {
            Next::Keep => {}
            Next::Again => self.shared.again.push((slot, generation)),
            Next::Linger => {
                let due = now.checked_add(LINGER).unwrap_or(now);
                self.shared.lingering.push_back(Due {
                    due,
                    slot,
                    generation,
                    reply: None,
                    stream: 0,
                });
            }
            Next::Close => self.close(slot),
        }
    }

    /// Replaces a sniffing connection by the HTTP/1.1 or HTTP/2 one its
    /// first bytes chose, and drives that.
    fn decide(&mut self, slot: usize) {
        if !matches!(self.conns.get(slot), Some(Peer::Sniffing(_))) {
            return;
        }
        let Some(Peer::Sniffing(sniff)) = self.conns.try_remove(slot) else {
            return;
        };
        // The slab hands out the slot it freed last first, so the token
        // registered for it still holds; should that change, reregister.
        let entry = self.conns.vacant_entry();
        let new = entry.key();
        let mut peer = sniff.into_peer(new);
        if new != slot
            && self
                .poll
                .registry()
                .reregister(
                    peer.stream_mut(),
                    Token(new.wrapping_add(1)),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_err()
        {
            return;
        }
        entry.insert(peer);
        // The sniffed bytes were read after the loop's `now`: see
        // `Conn::drive`.
        self.drive(new, Instant::now());
    }

    /// Drives the connections that ran out of read budget last time.
    fn retry(&mut self, now: Instant) {
        let mut again = std::mem::take(&mut self.shared.again);
        for &(slot, generation) in &again {
            if self
                .conns
                .get(slot)
                .is_some_and(|c| c.generation() == generation)
            {
                self.drive(slot, now);
            }
        }
        // Reuse the allocation unless driving queued new retries meanwhile.
        if self.shared.again.is_empty() {
            again.clear();
            self.shared.again = again;
        }
    }

    /// Sends the delayed answers that are due and ends expired lingers.
    fn expire(&mut self, now: Instant) {
        while let Some(d) = self.shared.delayed.front().copied() {
            if d.due > now {
                break;
            }
            self.shared.delayed.pop_front();
            let Some(peer) = self.conns.get_mut(d.slot) else {
                continue;
            };
            let Some(reply) = d.reply else { continue };
            if peer.generation() != d.generation {
                continue;
            }
            if peer.deliver(&mut self.shared, d.stream, reply) {
                self.shared.dirty.push(d.slot);
            }
        }
        while let Some(slot) = self.shared.dirty.pop() {
            if let Some(peer) = self.conns.get_mut(slot) {
                peer.unlist();
                self.drive(slot, now);
            }
        }
        while let Some(d) = self.shared.lingering.front().copied() {
            if d.due > now {
                break;
            }
            self.shared.lingering.pop_front();
            if self
                .conns
                .get(d.slot)
                .is_some_and(|c| c.generation() == d.generation)
            {
                self.close(d.slot);
            }
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut peer) = self.conns.try_remove(slot) {
            // The fd is closed on drop, which also removes it from epoll.
            let _ = self.poll.registry().deregister(peer.stream_mut());
        }
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{GET, connect, read_response, serve};
    use std::io::Write;

    #[test]
    fn status_mix_is_spread_exactly() {
        let statuses = vec![(200, 3), (500, 1)];
        let server = serve(ServeConfig {
            statuses,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        let mut seen = Vec::new();
        for _ in 0..8 {
            s.write_all(GET).unwrap();
            seen.push(read_response(&mut r, false).status);
        }
        assert_eq!(seen.iter().filter(|&&c| c == 200).count(), 6, "{seen:?}");
        assert_eq!(seen.iter().filter(|&&c| c == 500).count(), 2, "{seen:?}");
        assert_eq!(seen, [200, 200, 500, 200, 200, 200, 500, 200]);
    }

    #[test]
    fn delay_holds_the_response() {
        let delay = Duration::from_millis(50);
        let server = serve(ServeConfig {
            delay,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        for _ in 0..2 {
            let sent = Instant::now();
            s.write_all(GET).unwrap();
            assert_eq!(read_response(&mut r, false).status, 200);
            assert!(
                sent.elapsed() >= delay,
                "answered after {:?}",
                sent.elapsed()
            );
        }
    }

    #[test]
    fn a_delay_is_kept_to_well_under_a_millisecond() {
        // mio's poll timeout alone rounds 1.5 ms up to 2 ms; the timer wakes
        // the loop at 1.5 ms. The median of 21 leaves a busy machine's
        // scheduling stalls out.
        let delay = Duration::from_micros(1_500);
        let server = serve(ServeConfig {
            delay,
            ..Default::default()
        });
        let (mut s, mut r) = connect(&server);
        let mut took: Vec<Duration> = (0..21)
            .map(|_| {
                let sent = Instant::now();
                s.write_all(GET).unwrap();
                assert_eq!(read_response(&mut r, false).status, 200);
                sent.elapsed()
            })
            .collect();
        took.sort();
        assert!(took[0] >= delay, "{took:?}");
        assert!(took[10] < Duration::from_micros(1_900), "{took:?}");
    }

    #[test]
    fn a_capacity_serves_one_request_at_a_time_in_arrival_order() {
        // 50 req/s: 20 ms each. Three connections ask at once: one is served
        // after 20 ms, the next after 40, the last after 60.
        let server = serve(ServeConfig {
            capacity: Some(50.0),
            ..Default::default()
        });
        let mut conns: Vec<_> = (0..3).map(|_| connect(&server)).collect();
        let start = Instant::now();
        for (s, _) in &mut conns {
            s.write_all(GET).unwrap();
        }
        let mut done = Vec::new();
        for (_, r) in &mut conns {
            assert_eq!(read_response(r, false).status, 200);
            done.push(start.elapsed());
        }
        done.sort();
        let ms = Duration::from_millis;
        assert!(done[0] >= ms(19), "{done:?}");
        assert!(done[1] >= ms(39), "{done:?}");
        assert!(done[2] >= ms(59), "{done:?}");
        // Idle, the server is free again: the next request takes 20 ms.
        std::thread::sleep(ms(100));
        let (s, r) = &mut conns[0];
        let sent = Instant::now();
        s.write_all(GET).unwrap();
        read_response(r, false);
        let took = sent.elapsed();
        assert!(took >= ms(19) && took < ms(60), "{took:?}");
        assert!(
            Server::bind(ServeConfig {
                capacity: Some(0.0),
                listen: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn answers_for_closed_connections_are_dropped() {
        let delay = Duration::from_millis(30);
        let server = serve(ServeConfig {
            delay,
            ..Default::default()
        });
        for _ in 0..3 {
            let (mut s, _r) = connect(&server);
            s.write_all(&[GET, GET, GET].concat()).unwrap();
        }
        // The slots are reused by a new connection while stale answers wait.
        let (mut s, mut r) = connect(&server);
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut r, false).status, 200);
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut r, false).status, 200);
        drop((s, r));
        let stats = server.stop().unwrap();
        assert_eq!(stats.connections, 4);
        assert!(
            stats.responses >= 2 && stats.responses <= stats.requests,
            "{stats:?}"
        );
    }

    #[test]
    fn shutdown_before_run_and_bind_errors() {
        let server = Server::bind(ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Default::default()
        })
        .unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let again = Server::bind(ServeConfig {
            listen: addr,
            ..Default::default()
        });
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AddrInUse);
        server.shutdown_handle().shutdown();
        assert_eq!(server.run().unwrap(), ServeStats::default());

        let bad = ServeConfig {
            statuses: vec![(200, 0)],
            ..Default::default()
        };
        assert_eq!(
            Server::bind(bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let bad = ServeConfig {
            statuses: vec![],
            ..Default::default()
        };
        assert_eq!(
            Server::bind(bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
