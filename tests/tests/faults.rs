//! Fault injection over real sockets: servers that die, stall, reset,
//! send garbage, never finish, or answer too early, and a client that runs
//! out of local ports or holds 10,000 connections on one thread.
//!
//! Every case asserts that the run ends on time (generous bounds: the
//! machine is shared), that the right error kind is counted, that every
//! scheduled request is accounted for exactly once
//! (`scheduled = completed + failed + unfinished + unsent`), and that
//! nothing panics. Only 127.0.0.1 and a network namespace made by the test
//! itself are used.

mod support;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use volley_tests::assert_accounted;

use support::{RawServer, answer_all, read_request, volley_bin};
use volley_core::{Config, ErrorKind, MAX_DRAIN, Rate, RequestSpec, RequestTemplate, Stats};
use volley_driver::{Control, RunPlan};
use volley_server::{ServeConfig, Server};

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
        addr,
        template: template(addr, !config.keep_alive),
        tls: None,
        log: None,
        engines,
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
        "{took:.2?}: scheduled {}, completed {}, failed {} {errors:?}, unfinished {}, unsent {}, connections {}, examples {:?}",
        stats.scheduled,
        stats.completed,
        stats.failed,
        stats.unfinished,
        stats.unsent,
        stats.connections,
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
/// first writes into closed connections: about half the requests failed so
/// (`closed_early`). A few may race either way when the server's sleep
/// overruns on a busy machine, as they do with the sockets always watched.
#[test]
fn keep_alive_connections_closed_while_idle_cost_no_request() {
    let server = RawServer::start(|mut s| {
        if read_request(&mut s) && s.write_all(OK).is_ok() {
            std::thread::sleep(Duration::from_millis(12));
        }
    });
    // (`run` prints the counts.)
    let stats = run(server.addr, config(2, 100.0, 1000, 2000));
    assert!(
        stats.failed <= 5,
        "{} of {} failed",
        stats.failed,
        stats.scheduled
    );
    assert!(stats.scheduled >= 95);
    // Every request needed a connection of its own.
    assert!(stats.connections >= stats.completed);
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
    // Nothing lost: each answer is one completion and each reset one failure.
    assert_eq!(stats.unfinished + stats.unsent, 0, "{ctx}");
    assert_eq!((stats.completed, stats.failed), (answered, resets), "{ctx}");
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

// ---- the binary: report, exit code, peak memory, CPU time -----------------

/// What /usr/bin/time measured for a child.
#[derive(Debug)]
struct Usage {
    wall: f64,
    cpu: f64,
    max_rss_kib: u64,
}

/// Runs `volley args...`, after `prefix` (a command that wraps it, such as
/// `ip netns exec NAME`), under /usr/bin/time when it exists.
fn volley_measured(prefix: &[&str], args: &[&str]) -> (Output, Option<Usage>) {
    let bin = volley_bin();
    let time = std::path::Path::new("/usr/bin/time").exists();
    let report = std::env::temp_dir().join(format!(
        "volley-faults-time-{}-{}",
        std::process::id(),
        unique()
    ));
    let mut argv: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
    if time {
        argv.extend(
            [
                "/usr/bin/time",
                "-o",
                report.to_str().unwrap(),
                "-f",
                "%e %U %S %M",
            ]
            .map(String::from),
        );
    } else {
        eprintln!("/usr/bin/time is missing: CPU time and peak memory are not checked");
    }
    argv.push(bin.to_str().unwrap().to_string());
    argv.extend(args.iter().map(|s| s.to_string()));
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .expect("run volley");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "volley panicked: {stderr}");
    let usage = time.then(|| {
        let text = std::fs::read_to_string(&report).expect("/usr/bin/time output");
        let _ = std::fs::remove_file(&report);
        // "Command exited with non-zero status N" may come first.
        let last = text.lines().last().unwrap_or_default();
        let f: Vec<f64> = last
            .split_whitespace()
            .map(|x| x.parse().expect("a number from /usr/bin/time"))
            .collect();
        Usage {
            wall: f[0],
            cpu: f[1] + f[2],
            max_rss_kib: f[3] as u64,
        }
    });
    (out, usage)
}

fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn assert_json_accounted(v: &serde_json::Value) {
    let r = &v["requests"];
    let n = |k: &str| {
        r[k].as_u64()
            .unwrap_or_else(|| panic!("requests.{k} missing: {v}"))
    };
    assert_eq!(
        n("scheduled"),
        n("completed") + n("failed") + n("unfinished") + n("unsent"),
        "{r}"
    );
}

#[test]
fn an_endless_chunked_body_times_out_with_flat_memory() {
    // 64 KiB chunks, about 64 MB/s per connection, never a last chunk.
    let endless = RawServer::start(|mut s| {
        if !read_request(&mut s) {
            return;
        }
        let mut chunk = format!("{:x}\r\n", 1 << 16).into_bytes();
        chunk.extend(std::iter::repeat_n(b'x', 1 << 16));
        chunk.extend_from_slice(b"\r\n");
        if s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .is_err()
        {
            return;
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) && s.write_all(&chunk).is_ok() {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let normal = RawServer::start(|s| answer_all(s, OK));
    volley_bin(); // build outside the timed part
    let args = |addr: SocketAddr| {
        let url = format!("http://{addr}/");
        let list = [
            &url[..],
            "--rps",
            "4",
            "--users",
            "2",
            "-d",
            "1",
            "--timeout",
            "1s",
            "--threads",
            "1",
            "-o",
            "json",
            "-q",
        ];
        list.map(String::from)
    };

    let start = Instant::now();
    let a = args(endless.addr);
    let (out, usage) = volley_measured(&[], &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        start.elapsed() < Duration::from_secs(2) + SLACK,
        "took {:?}",
        start.elapsed()
    );
    let v = json(&out);
    assert_json_accounted(&v);
    assert_eq!(out.status.code(), Some(1), "no request completed: exit 1");
    assert_eq!(v["requests"]["completed"].as_u64(), Some(0), "{v}");
    let timeouts = v["errors"]["timeout"].as_u64().unwrap();
    assert!(
        timeouts > 0 && v["requests"]["failed"].as_u64() == Some(timeouts),
        "{v}"
    );
    let received = v["bytes"]["received"].as_u64().unwrap();
    assert!(
        received > 16 << 20,
        "the body did stream ({received} bytes): {v}"
    );

    let b = args(normal.addr);
    let (base_out, base_usage) =
        volley_measured(&[], &b.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        base_out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&base_out.stderr)
    );
    if let (Some(endless), Some(base)) = (usage, base_usage) {
        // Bodies are counted, never stored: tens of MB went through, the
        // peak memory is that of a run of tiny responses, within a few MiB.
        eprintln!(
            "peak RSS: endless body {} KiB, small responses {} KiB",
            endless.max_rss_kib, base.max_rss_kib
        );
        assert!(
            endless.max_rss_kib <= base.max_rss_kib + 8 * 1024,
            "peak RSS {} KiB with an endless body against {} KiB with small responses ({received} bytes received)",
            endless.max_rss_kib,
            base.max_rss_kib
        );
    }
}

/// A network namespace for one test, deleted on drop (also when the test
/// fails).
struct Netns {
    name: String,
}

impl Netns {
    fn create() -> Result<Self, String> {
        let name = format!("volley-test-{}", std::process::id());
        // A namespace left behind by an earlier process with this pid.
        let _ = Command::new("ip")
            .args(["netns", "delete", &name])
            .stderr(Stdio::null())
            .status();
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .map_err(|e| format!("cannot run ip: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ip netns add {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let ns = Self { name };
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        // 101 local ports, in this namespace only.
        ns.exec(&[
            "sysctl",
            "-q",
            "-w",
            "net.ipv4.ip_local_port_range=40000 40100",
        ])?;
        // Loopback may reuse TIME_WAIT ports after a second; not here.
        let _ = ns.exec(&["sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=0"]);
        Ok(ns)
    }

    fn prefix(&self) -> [&str; 4] {
        ["ip", "netns", "exec", &self.name]
    }

    fn exec(&self, cmd: &[&str]) -> Result<(), String> {
        let out = Command::new("ip")
            .args(&self.prefix()[1..])
            .args(cmd)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{cmd:?} in {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Moves the calling thread into the namespace: sockets it opens from
    /// now on belong there.
    fn enter(&self) -> io::Result<()> {
        let file = std::fs::File::open(PathBuf::from("/var/run/netns").join(&self.name))?;
        // SAFETY: a valid namespace descriptor; affects only this thread.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

#[test]
fn no_keepalive_out_of_local_ports_is_a_clear_connect_error() {
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(why) => {
            eprintln!("skipped: cannot make a network namespace ({why})");
            return;
        }
    };
    // The server runs in a thread that joined the namespace. It answers
    // and then waits for the client to close first, so that the client's
    // side of every connection sits in TIME_WAIT and holds its local port.
    let server = std::thread::scope(|scope| {
        scope
            .spawn(|| ns.enter().map(|()| RawServer::start(|s| answer_all(s, OK))))
            .join()
            .unwrap()
    });
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipped: cannot enter the network namespace ({e})");
            return;
        }
    };
    volley_bin(); // build outside the timed part
    let url = format!("http://{}/", server.addr);
    let start = Instant::now();
    let (out, usage) = volley_measured(
        &ns.prefix(),
        &[
            &url,
            "--rps",
            "500",
            "--users",
            "20",
            "-d",
            "2",
            "--no-keepalive",
            "--timeout",
            "2s",
            "--threads",
            "1",
            "-o",
            "json",
            "-q",
        ],
    );
    let wall = start.elapsed();
    drop(server);
    let v = json(&out);
    eprintln!(
        "out of ports: requests {}, errors {}, examples {}, warnings {}",
        v["requests"], v["errors"], v["error_examples"], v["warnings"]
    );
    assert!(wall < Duration::from_secs(4) + SLACK, "took {wall:?}: {v}");
    assert_json_accounted(&v);
    // Some requests got through before the ports ran out.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opened = v["connections"]["opened"].as_u64().unwrap();
    assert!(
        opened > 0 && opened <= 101,
        "{opened} connections from 101 ports: {v}"
    );
    let connect_errors = v["errors"]["connect_error"].as_u64().unwrap();
    assert!(connect_errors > 0, "{v}");
    assert_eq!(
        v["requests"]["failed"].as_u64(),
        Some(connect_errors),
        "only connect errors: {v}"
    );
    let example = v["error_examples"]["connect_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        example.contains("address") || example.contains("os error 99"),
        "example {example:?}: {v}"
    );
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("TIME_WAIT") && warnings.contains("keep-alive"),
        "the hint is missing: {warnings}"
    );
    if let Some(u) = usage {
        // Backoff, not a busy loop: the CPU time is a fraction of the wall time.
        eprintln!("volley out of ports: {u:?}");
        assert!(
            u.cpu < 0.5 * u.wall,
            "CPU {:.2} s in {:.2} s of wall time",
            u.cpu,
            u.wall
        );
    }
}

#[test]
fn ten_thousand_users_on_one_thread() {
    const USERS: usize = 10_000;
    // The server in this process holds one descriptor per connection; the
    // volley child raises its own limit.
    if let Err(e) = volley_driver::ensure_fd_limit(USERS + 100) {
        eprintln!("skipped: {e}");
        return;
    }
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/", server.addr());
    volley_bin();
    let users = USERS.to_string();
    let start = Instant::now();
    let (out, usage) = volley_measured(
        &[],
        &[
            &url,
            "--rps",
            "100",
            "--users",
            &users,
            "--threads",
            "1",
            "-d",
            "1",
            "--connect-timeout",
            "20s",
            "-o",
            "json",
            "-q",
        ],
    );
    let wall = start.elapsed();
    let v = json(&out);
    assert!(wall < Duration::from_secs(30) + SLACK, "took {wall:?}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_json_accounted(&v);
    assert_eq!(
        v["run"]["users"].as_u64(),
        Some(USERS as u64),
        "{}",
        v["run"]
    );
    assert_eq!(v["run"]["threads"].as_u64(), Some(1), "{}", v["run"]);
    assert_eq!(
        v["connections"]["opened"].as_u64(),
        Some(USERS as u64),
        "connections {} ({} failed attempts, examples {}), warnings {}",
        v["connections"],
        v["connections"]["failed_attempts"],
        v["error_examples"],
        v["warnings"]
    );
    assert_eq!(
        v["requests"]["completed"].as_u64(),
        Some(100),
        "{}",
        v["requests"]
    );
    eprintln!(
        "10,000 users: {wall:?}, {usage:?}, connect times {}",
        v["connect_us"]
    );
    // The server listens with a backlog up to net.core.somaxconn. If that
    // is far below 10,000, the burst of connects before t0 can overflow its
    // accept queue: Linux then drops the handshake's last ACK, and the
    // client holds connections the server accepts only later, or never.
    let somaxconn: u64 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    std::thread::sleep(Duration::from_millis(500));
    let served = server.stop().unwrap();
    if somaxconn >= 4096 {
        assert_eq!(
            served.connections, USERS as u64,
            "connections the server accepted (somaxconn {somaxconn})"
        );
    } else {
        eprintln!(
            "net.core.somaxconn is {somaxconn}: the server accepted {} of {USERS} connections",
            served.connections
        );
    }
    assert_eq!(served.requests, 100);
}
