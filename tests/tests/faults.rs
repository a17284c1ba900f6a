//! Fault injection over real sockets: servers that die, stall, reset,
//! send garbage, never finish, or answer too early. (The cases that run the
//! binary, out of local ports or with 10,000 users, are in
//! `cli/tests/faults.rs`.)
//!
//! Every case asserts that the run ends on time (generous bounds: the
//! machine is shared), that the right error kind is counted, that every
//! scheduled request is accounted for exactly once
//! (`scheduled = completed + failed + unfinished + unsent`), and that
//! nothing panics. Only 127.0.0.1 and a network namespace made by the test
//! itself are used.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use volley_tests::assert_accounted;

use volley_core::{Config, ErrorKind, MAX_DRAIN, Rate, RequestSpec, RequestTemplate, Stats};
use volley_driver::{Control, Endpoint, Origin, RunPlan};
use volley_tests::raw::{RawServer, answer_all, read_request};

/// A good answer, kept alive.
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Slack on every "ends on time" bound: the machine is shared and noisy.
const SLACK: Duration = Duration::from_secs(10);

// ---- in-process runs ------------------------------------------------------

fn template(addr: SocketAddr, close: bool) -> RequestTemplate {
    RequestTemplate::new(&RequestSpec {
        method: "GET".into(),
        target: "/fault".into(),
        host: addr.to_string(),
        close,
        ..RequestSpec::default()
    })
    .unwrap()
}

fn config(users: usize, rps: f64, duration_ms: u64, timeout_ms: u64) -> Config {
    let mut c = Config::new(users, Rate::per_second(rps).unwrap());
    c.duration = Duration::from_millis(duration_ms);
    c.timeout = Duration::from_millis(timeout_ms);
    c.connect_timeout = Duration::from_secs(2);
    c
}

/// Runs `config` against `addr` on one loop thread through
/// `volley_driver::run` and checks what every run must satisfy: it ends
/// within the duration plus the drain plus [`SLACK`], and every scheduled
/// request is counted exactly once. (A panic in the loop would propagate.)
fn run(addr: SocketAddr, config: Config) -> Stats {
    let bound = config.duration + config.timeout.min(MAX_DRAIN) + config.connect_timeout + SLACK;
    let engines = config.split(1);
    let control = Arc::new(Control::new(engines.len()));
    let plan = RunPlan {
        origins: vec![Origin::new(Endpoint::tcp(addr), None)],
        requests: template(addr, !config.keep_alive).into(),
        log: None,
        engines,
        start_at: None,
    };
    let start = Instant::now();
    let stats = volley_driver::run(plan, control).expect("the run is set up");
    let took = start.elapsed();
    let errors: Vec<_> = ErrorKind::ALL
        .iter()
        .filter(|k| count(&stats, **k) > 0)
        .map(|k| (k.name(), count(&stats, *k)))
        .collect();
    eprintln!(
        "{took:.2?}: scheduled {}, completed {}, failed {} {errors:?}, unfinished {}, unsent {}, connections {}, retries {}, examples {:?}",
        stats.scheduled,
        stats.completed,
        stats.failed,
        stats.unfinished,
        stats.unsent,
        stats.connections,
        stats.retries,
        stats.examples.0.iter().flatten().collect::<Vec<_>>()
    );
    assert!(took < bound, "the run took {took:?}, more than {bound:?}");
    assert_accounted(&stats);
    stats
}

fn count(s: &Stats, kind: ErrorKind) -> u64 {
    s.errors[kind.index()]
}

fn example(s: &Stats, kind: ErrorKind) -> &str {
    s.examples.0[kind.index()].as_deref().unwrap_or("")
}

/// Closes `s` with a TCP reset instead of a FIN: SO_LINGER on with a zero
/// timeout, then close (std's `set_linger` is nightly-only).
fn reset(s: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor owned by `s`, and a pointer to a
    // `linger` that lives for the call, with its exact size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast::<libc::c_void>(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_LINGER): {}",
        io::Error::last_os_error()
    );
    drop(s);
}

/// A server that answers each request with `response` and then closes.
fn answer_once_and_close(response: &'static [u8]) -> RawServer {
    RawServer::start(move |mut s| {
        if read_request(&mut s) {
            let _ = s.write_all(response);
        }
    })
}

/// A run whose every request must fail as `kind`, with `hint` in the
/// example message.
fn every_request_fails(server: &RawServer, timeout_ms: u64, kind: ErrorKind, hint: &str) -> Stats {
    let stats = run(server.addr, config(2, 40.0, 500, timeout_ms));
    assert_eq!(stats.completed, 0, "{stats:?}");
    assert!(stats.failed > 0, "{stats:?}");
    assert_eq!(
        count(&stats, kind),
        stats.failed,
        "all failures are {kind:?}: {:?}",
        stats.errors
    );
    assert!(
        example(&stats, kind).contains(hint),
        "{kind:?} example {:?} lacks {hint:?}",
        example(&stats, kind)
    );
    stats
}

// ---- a server that can be killed and brought back on the same port --------

/// A listener with its connections, all of which [`Life::kill`] drops at
/// once, as if the server process died.
struct Life {
    stop: Arc<AtomicBool>,
    accept: JoinHandle<()>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Life {
    /// Listens on `addr` (retrying briefly if the port is still busy) and
    /// answers every request with [`OK`], counting them in `served`.
    fn start(addr: SocketAddr, served: Arc<AtomicU64>) -> Self {
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(addr) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("rebinding {addr}: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("cannot listen on {addr} again: {e}"),
            }
        };
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (flag, registry) = (Arc::clone(&stop), Arc::clone(&conns));
        let accept = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                        registry.lock().unwrap().push(s.try_clone().unwrap());
                        let served = Arc::clone(&served);
                        std::thread::spawn(move || {
                            while read_request(&mut s) {
                                served.fetch_add(1, Ordering::Relaxed);
                                if s.write_all(OK).is_err() {
                                    return;
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
            // The listener is dropped here: new connects are refused.
        });
        Self {
            stop,
            accept,
            conns,
        }
    }

    /// Closes the listener and every connection.
    fn kill(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.accept.join().unwrap();
        for s in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// A server that closes each keep-alive connection 12 ms after answering on
/// it, without saying so (as an idle timeout does). At 100 req/s with two
/// users the loop sleeps without watching the sockets and collects their
/// events when it wakes for a send (every 10 ms). A response is collected
/// at the first wake after it, the close comes before the second, when the
/// connection is due again: the loop must collect before it sends. Sending
/// first wrote into closed connections: about half the requests went so.
/// A few still race when the server's sleep overruns on a busy machine,
/// and those go again on a new connection (SPEC §2's keep-alive race): no
/// request fails, and the server answers each exactly once.
#[test]
fn keep_alive_connections_closed_while_idle_cost_no_request() {
    let served = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&served);
    let server = RawServer::start(move |mut s| {
        if read_request(&mut s) {
            // Counted before the answer goes: once it is written, the run
            // may end and read the count before this thread adds to it.
            count.fetch_add(1, Ordering::Relaxed);
            if s.write_all(OK).is_ok() {
                std::thread::sleep(Duration::from_millis(12));
            }
        }
    });
    // (`run` prints the counts.)
    let stats = run(server.addr, config(2, 100.0, 1000, 2000));
    assert_eq!(stats.failed, 0, "{:?}", stats.errors);
    assert!(stats.scheduled >= 95);
    assert_eq!(stats.completed, served.load(Ordering::Relaxed));
    // Every request needed a connection of its own, a retry too.
    assert!(stats.connections >= stats.completed);
    assert!(stats.retries <= stats.completed);
}

/// A server that answers the first request on each connection and closes
/// the connection on the second as soon as it has read it (with a FIN, or
/// with a reset), never answering it: the keep-alive race made certain.
/// Every request after the first is the second on its connection, and goes
/// once more on a new connection, where it is the first.
#[test]
fn a_server_that_closes_on_every_second_request_unanswered_costs_no_request() {
    for rst in [false, true] {
        let served = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&served);
        let server = RawServer::start(move |mut s| {
            if read_request(&mut s) {
                // Before the answer, as above.
                count.fetch_add(1, Ordering::Relaxed);
                if s.write_all(OK).is_ok() && read_request(&mut s) && rst {
                    reset(s);
                }
            }
        });
        let mut c = Config::new(1, Rate::Max);
        c.duration = Duration::from_secs(5);
        c.timeout = Duration::from_secs(2);
        c.connect_timeout = Duration::from_secs(2);
        c.max_requests = Some(20);
        let stats = run(server.addr, c);
        let ctx = if rst { "reset" } else { "close" };
        assert_eq!(
            (stats.completed, stats.failed, stats.retries),
            (20, 0, 19),
            "{ctx}: {:?}",
            stats.errors
        );
        assert_eq!(served.load(Ordering::Relaxed), 20, "{ctx}");
        assert_eq!(stats.connections, 20, "{ctx}");
        assert_eq!(stats.sent, 20, "{ctx}");
    }
}

#[test]
fn server_killed_and_restarted_on_the_same_port() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (before, after) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let first = Life::start(addr, Arc::clone(&before));

    // The first request reaches the server at about t0: kill 0.5 s later,
    // restart 0.6 s after that. The run lasts 3 s, so after the restart
    // there is more than the longest connect backoff (1 s) plus a full
    // second of load left.
    let (watch, counter) = (Arc::clone(&before), Arc::clone(&after));
    let chaos = std::thread::spawn(move || {
        let waiting = Instant::now();
        while watch.load(Ordering::Relaxed) == 0 {
            assert!(
                waiting.elapsed() < Duration::from_secs(20),
                "no request arrived"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_millis(500));
        first.kill();
        let killed = t0.elapsed();
        std::thread::sleep(Duration::from_millis(600));
        let second = Life::start(addr, counter);
        (second, killed, t0.elapsed())
    });

    let stats = run(addr, config(5, 100.0, 3000, 1000));
    let (second, killed, restarted) = chaos.join().unwrap();
    second.kill();
    let ctx = format!("killed at {killed:?}, restarted at {restarted:?}: {stats:?}");

    assert_eq!(stats.scheduled, 300, "{ctx}");
    assert!(count(&stats, ErrorKind::ConnectRefused) > 0, "{ctx}");
    // Requests in flight at the kill are cut short; nothing else may fail.
    let cut = count(&stats, ErrorKind::ClosedEarly) + count(&stats, ErrorKind::Reset);
    assert_eq!(
        stats.failed,
        count(&stats, ErrorKind::ConnectRefused) + cut,
        "{ctx}"
    );
    assert!(stats.statuses().all(|(code, _)| code == 200), "{ctx}");
    let (before, after) = (
        before.load(Ordering::Relaxed),
        after.load(Ordering::Relaxed),
    );
    assert!(
        before > 0 && after > 0,
        "served {before} before the kill and {after} after the restart: {ctx}"
    );
    assert!(stats.completed >= after, "{ctx}");
    // Users reconnected to the new server.
    assert!(stats.connections > 5, "{ctx}");

    // The timeline: completions, then errors while the server is down, then
    // completions again in a later second than the last error.
    let rows = &stats.timeline;
    let first_error = rows
        .iter()
        .find(|r| r.errors > 0)
        .unwrap_or_else(|| panic!("no second with errors: {ctx}"));
    let last_error = rows.iter().rev().find(|r| r.errors > 0).unwrap();
    assert!(
        rows.iter()
            .any(|r| r.completed > 0 && r.second <= first_error.second),
        "no completion before the kill: {ctx}"
    );
    assert!(
        rows.iter()
            .any(|r| r.completed > 0 && r.second > last_error.second),
        "completions did not resume: {ctx}"
    );
}

// ---- a server that stops reading ------------------------------------------

#[test]
fn a_server_that_stops_reading_and_answering_times_out() {
    // Answers normally until `stall`, then reads and answers nothing, on old
    // and new connections alike, until `release` (the end of the test).
    let stall = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let (st, rel, ans) = (
        Arc::clone(&stall),
        Arc::clone(&release),
        Arc::clone(&answered),
    );
    let server = RawServer::start(move |mut s| {
        let hold = || {
            let start = Instant::now();
            while !rel.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        loop {
            if st.load(Ordering::Relaxed) {
                return hold();
            }
            if !read_request(&mut s) {
                return;
            }
            if st.load(Ordering::Relaxed) {
                return hold();
            }
            ans.fetch_add(1, Ordering::Relaxed);
            if s.write_all(OK).is_err() {
                return;
            }
        }
    });
    let (watch, stall_now) = (Arc::clone(&answered), Arc::clone(&stall));
    let staller = std::thread::spawn(move || {
        let waiting = Instant::now();
        while watch.load(Ordering::Relaxed) == 0 && waiting.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(300));
        stall_now.store(true, Ordering::Relaxed);
    });

    let stats = run(server.addr, config(4, 50.0, 1500, 400));
    staller.join().unwrap();
    release.store(true, Ordering::Relaxed);

    assert!(stats.completed > 0, "{stats:?}");
    assert!(count(&stats, ErrorKind::Timeout) > 0, "{stats:?}");
    assert_eq!(
        stats.failed,
        count(&stats, ErrorKind::Timeout),
        "{:?}",
        stats.errors
    );
    assert!(
        example(&stats, ErrorKind::Timeout).contains("400ms"),
        "{}",
        example(&stats, ErrorKind::Timeout)
    );
    assert!(stats.completed <= answered.load(Ordering::Relaxed));
}

// ---- resets at random points ----------------------------------------------

/// xorshift64*: deterministic and good enough to pick cut points.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

#[test]
fn connections_reset_at_random_points_count_as_reset() {
    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 32\r\nX-Pad: abcdefghij\r\n\r\n0123456789abcdef0123456789abcdef";
    let head_len = RESPONSE.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let rng = Arc::new(Mutex::new(Rng(0x9E37_79B9_7F4A_7C15)));
    let (answered, resets) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (ans, rst) = (Arc::clone(&answered), Arc::clone(&resets));
    let server = RawServer::start(move |mut s| {
        let _ = s.set_nodelay(true);
        while read_request(&mut s) {
            // Half the requests are answered; the others are reset before
            // the answer, in the head, or in the body.
            let (mode, cut) = {
                let mut r = rng.lock().unwrap();
                (r.below(6), r.below(1 << 16))
            };
            let cut = match mode {
                0..=2 => {
                    ans.fetch_add(1, Ordering::Relaxed);
                    if s.write_all(RESPONSE).is_err() {
                        return;
                    }
                    continue;
                }
                3 => 0,
                4 => 1 + cut % (head_len - 1),
                _ => head_len + cut % (RESPONSE.len() - head_len),
            };
            rst.fetch_add(1, Ordering::Relaxed);
            if cut > 0 {
                let _ = s.write_all(&RESPONSE[..cut]);
                // Let the piece arrive before the reset.
                std::thread::sleep(Duration::from_millis(5));
            }
            return reset(s);
        }
    });

    let stats = run(server.addr, config(8, 100.0, 1500, 2000));
    let (answered, resets) = (
        answered.load(Ordering::Relaxed),
        resets.load(Ordering::Relaxed),
    );
    let ctx = format!("server answered {answered} and reset {resets}: {stats:?}");
    assert!(stats.completed > 0 && stats.failed > 0, "{ctx}");
    assert!(count(&stats, ErrorKind::Reset) > 0, "{ctx}");
    assert_eq!(
        stats.failed,
        count(&stats, ErrorKind::Reset) + count(&stats, ErrorKind::ClosedEarly),
        "{ctx}"
    );
    assert_eq!(
        stats.statuses().collect::<Vec<_>>(),
        [(200, stats.completed)],
        "{ctx}"
    );
    // Nothing lost: each answer is one completion and each reset one
    // failure, or one retry when it came before any byte on a reused
    // connection (the keep-alive race: the retry is then another request
    // the server counts, answered or reset in its turn).
    assert_eq!(stats.unfinished + stats.unsent, 0, "{ctx}");
    assert_eq!(
        (stats.completed, stats.failed + stats.retries),
        (answered, resets),
        "{ctx}"
    );
}

// ---- responses that are not what they should be ---------------------------

#[test]
fn garbage_instead_of_a_status_line_is_malformed() {
    let binary = RawServer::start(|s| {
        answer_all(s, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\xff\xfe")
    });
    every_request_fails(&binary, 1000, ErrorKind::Malformed, "invalid response head");
    let text = RawServer::start(|s| answer_all(s, b"HELLO THERE\r\n\r\n"));
    every_request_fails(&text, 1000, ErrorKind::Malformed, "invalid response head");
}

#[test]
fn a_truncated_chunked_body_then_close_is_closed_early() {
    let server =
        answer_once_and_close(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n01234");
    every_request_fails(
        &server,
        1000,
        ErrorKind::ClosedEarly,
        "closed before the response was complete",
    );
}

#[test]
fn content_length_larger_than_the_body_then_close_is_closed_early() {
    let server = answer_once_and_close(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
    let stats = every_request_fails(
        &server,
        1000,
        ErrorKind::ClosedEarly,
        "closed before the response was complete",
    );
    // The partial bodies were still counted as received.
    assert!(stats.bytes_in >= stats.failed * 9, "{stats:?}");
}

#[test]
fn a_one_mebibyte_header_is_malformed() {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: ".to_vec();
    response.extend(std::iter::repeat_n(b'a', 1 << 20));
    response.extend_from_slice(b"\r\n\r\n");
    let response: &'static [u8] = response.leak();
    let server = RawServer::start(move |s| answer_all(s, response));
    every_request_fails(
        &server,
        2000,
        ErrorKind::Malformed,
        "larger than 65536 bytes",
    );
}

#[test]
fn a_header_line_without_a_colon_is_malformed() {
    let server = RawServer::start(|s| {
        answer_all(
            s,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nNoColonHere\r\n\r\nok",
        )
    });
    every_request_fails(&server, 1000, ErrorKind::Malformed, "invalid response head");
}

#[test]
fn one_hundred_thousand_headers_are_malformed() {
    let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..100_000 {
        response.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    response.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let response: &'static [u8] = response.leak();
    let server = RawServer::start(move |s| answer_all(s, response));
    every_request_fails(
        &server,
        2000,
        ErrorKind::Malformed,
        "more than 100 header fields",
    );
}

#[test]
fn a_response_trickling_one_byte_per_second_times_out() {
    let server = RawServer::start(|mut s| {
        if !read_request(&mut s) {
            return;
        }
        // A valid response that would take a minute to arrive.
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789" {
            if s.write_all(std::slice::from_ref(b)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let stats = every_request_fails(&server, 1000, ErrorKind::Timeout, "within 1s");
    // The first bytes did arrive: a response that has started still times out.
    assert!(stats.bytes_in > 0, "{stats:?}");
    assert!(stats.timeline.iter().all(|r| r.completed == 0));
}

#[test]
fn continue_then_the_final_response_completes_with_the_final_status() {
    let whole = RawServer::start(|s| {
        answer_all(
            s,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        )
    });
    let split = RawServer::start(|mut s| {
        let _ = s.set_nodelay(true);
        while read_request(&mut s) {
            let _ = s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
            std::thread::sleep(Duration::from_millis(20));
            if s.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
                .is_err()
            {
                return;
            }
        }
    });
    for server in [&whole, &split] {
        let stats = run(server.addr, config(3, 40.0, 500, 2000));
        assert_eq!(stats.scheduled, 20);
        assert_eq!((stats.completed, stats.failed), (20, 0), "{stats:?}");
        assert_eq!(stats.statuses().collect::<Vec<_>>(), [(201, 20)]);
        // The interim response did not cost a connection.
        assert_eq!(stats.connections, 3, "{stats:?}");
    }
}

/// A response that arrives before the request was written (the server
/// answers on accept, before reading) is taken as the answer to the
/// request the user is sending: every request completes. Bytes that reach
/// a user with no request in flight (a connection opened before `t0`)
/// answer nothing: that connection is closed (noted as a malformed-response
/// example, not a failure) and the user reconnects for its next request.
#[test]
fn a_response_before_the_request_is_written_counts_as_its_answer() {
    // Keep-alive: the first response is sent on accept; the request it
    // answers is read afterwards and not answered again; later requests are
    // answered as usual.
    let keep_alive = RawServer::start(|mut s| {
        if s.write_all(OK).is_err() || !read_request(&mut s) {
            return;
        }
        answer_all(s, OK);
    });
    // One response per connection, sent on accept and followed by a close;
    // the request is read first so that the close is not a reset.
    let close = RawServer::start(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = read_request(&mut s);
    });
    for (server, what) in [(&keep_alive, "keep-alive"), (&close, "close")] {
        let stats = run(server.addr, config(3, 40.0, 500, 2000));
        assert_eq!(stats.scheduled, 20, "{what}");
        assert_eq!(
            (
                stats.completed,
                stats.failed,
                stats.unfinished,
                stats.unsent
            ),
            (20, 0, 0, 0),
            "{what}: {stats:?}"
        );
        assert_eq!(stats.statuses().collect::<Vec<_>>(), [(200, 20)], "{what}");
        let early = example(&stats, ErrorKind::Malformed);
        assert!(
            early.is_empty() || early.contains("no request was in flight"),
            "{what}: {early}"
        );
    }
}
