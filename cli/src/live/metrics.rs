//! `--metrics-listen ADDR`: the Prometheus endpoint, `GET /metrics`.
//!
//! A small HTTP/1.1 responder on its own thread over std's blocking
//! sockets: one connection at a time, one response each, then the
//! connection closes. A scrape reads what the loops last published (see
//! `Control::watch`), which never waits for a loop nor makes one wait;
//! after the run it serves the final values, the report's, for
//! `--metrics-linger`.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use volley_core::Stats;
use volley_driver::{Control, Snapshot};

use super::Schedule;
use super::exposition::{self, View};

/// The longest request head read; a scrape's is a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;
/// How long one client may take to send its request or read the answer,
/// so that a stuck one cannot hold the endpoint.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the labels and gauges need to know of the run.
#[derive(Clone, Debug)]
pub(crate) struct Labels {
    /// `I/N` of `--shard`, `0/1` without it.
    pub(crate) shard: String,
    /// The request's name, `METHOD path`, or `*` for a list of targets.
    pub(crate) target: String,
    /// With `--targets`, their names in order; empty for one request.
    pub(crate) targets: Vec<String>,
    pub(crate) schedule: Schedule,
}

struct Shared {
    control: Arc<Control>,
    labels: Labels,
    /// The report's values, once the run has ended.
    last: Mutex<Option<(Snapshot, f64)>>,
    done: AtomicBool,
}

impl Shared {
    fn text(&self) -> String {
        let last = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let l = &self.labels;
        let (snapshot, achieved_rps, target_rps) = match last {
            Some((s, achieved)) => (s, achieved, l.schedule.rps),
            None => {
                let s = self.control.published();
                let achieved = l.schedule.achieved(s.completed, s.elapsed);
                let target = l.schedule.target_at(s.elapsed);
                (s, achieved, target)
            }
        };
        exposition::render(&View {
            snapshot: &snapshot,
            shard: &l.shard,
            target: &l.target,
            targets: &l.targets,
            target_rps,
            achieved_rps,
        })
    }
}

/// The endpoint; it stops when dropped.
pub(crate) struct MetricsServer {
    addr: SocketAddr,
    linger: Duration,
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` and starts answering. Fails when the address
    /// cannot be had (in use, not this machine's, a privileged port).
    pub(crate) fn start(
        addr: SocketAddr,
        linger: Duration,
        control: Arc<Control>,
        labels: Labels,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            control,
            labels,
            last: Mutex::new(None),
            done: AtomicBool::new(false),
        });
        let handle = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("volley-metrics".into())
                .spawn(move || accept(&listener, &shared))?
        };
        Ok(Self {
            addr,
            linger,
            shared,
            handle: Some(handle),
        })
    }

    /// Where it listens (the port the system chose, for port 0).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on, serves the final statistics: the report's counts.
    pub(crate) fn finish(&self, stats: &Stats) {
        // The loops' slots of status codes, so that each keeps its series.
        let slots = self.shared.control.status_slots();
        let snapshot = Snapshot::of(stats, 0, stats.elapsed, true, slots);
        *self
            .shared
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((snapshot, stats.achieved_rps()));
    }

    /// Keeps serving for `--metrics-linger`, or until `interrupted` says
    /// Ctrl-C came.
    pub(crate) fn linger(&self, interrupted: impl Fn() -> bool) {
        if self.linger.is_zero() {
            return;
        }
        eprintln!(
            "volley: the final metrics stay at http://{}/metrics for {}; Ctrl-C ends the wait",
            self.addr,
            crate::format::dur(self.linger)
        );
        let end = Instant::now() + self.linger;
        while !interrupted() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shared.done.store(true, Ordering::Relaxed);
        // A connection of our own wakes the blocking accept to see `done`.
        let ip = self.addr.ip();
        let wake_at = if ip.is_unspecified() {
            let local = if ip.is_ipv4() {
                Ipv4Addr::LOCALHOST.into()
            } else {
                Ipv6Addr::LOCALHOST.into()
            };
            SocketAddr::new(local, self.addr.port())
        } else {
            self.addr
        };
        if TcpStream::connect_timeout(&wake_at, Duration::from_secs(1)).is_ok() {
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
    }
}

fn accept(listener: &TcpListener, shared: &Shared) {
    for conn in listener.incoming() {
        if shared.done.load(Ordering::Relaxed) {
            return;
        }
        match conn {
            // A client that misbehaves loses its own answer only.
            Ok(stream) => {
                let _ = answer(stream, shared);
            }
            // Out of file descriptors, or the like: wait, then go on.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Ask {
    /// `GET /metrics` (`head`: `HEAD`, the same without the body).
    Metrics {
        head: bool,
    },
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Reads the request line of `head` (the bytes up to the blank line).
fn ask(head: &[u8]) -> Ask {
    let Some(line) = head
        .split(|&b| b == b'\n')
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
    else {
        return Ask::BadRequest;
    };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ask::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Ask::BadRequest;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => Ask::Metrics {
            head: method == "HEAD",
        },
        ("GET" | "HEAD", _) => Ask::NotFound,
        _ => Ask::MethodNotAllowed,
    }
}

fn answer(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            break;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let (status, content_type, body, head_only) = match ask(&head) {
        Ask::Metrics { head } => ("200 OK", exposition::CONTENT_TYPE, shared.text(), head),
        Ask::NotFound => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: the metrics are at /metrics\n".to_string(),
            false,
        ),
        Ask::MethodNotAllowed => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET and HEAD\n".to_string(),
            false,
        ),
        Ask::BadRequest => (
            "400 Bad Request",
            "text/plain; charset=utf-8",
            "bad request\n".to_string(),
            false,
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n{}\r\n",
        body.len(),
        if status.starts_with("405") {
            "Allow: GET, HEAD\r\n"
        } else {
            ""
        }
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&response)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_request_asks_for() {
        let a = |s: &str| ask(s.as_bytes());
        assert_eq!(
            a("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Ask::Metrics { head: false }
        );
        assert_eq!(
            a("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Ask::Metrics { head: true }
        );
        assert_eq!(a("GET / HTTP/1.1\r\n\r\n"), Ask::NotFound);
        assert_eq!(a("GET /metricsx HTTP/1.1\r\n\r\n"), Ask::NotFound);
        assert_eq!(a("POST /metrics HTTP/1.1\r\n\r\n"), Ask::MethodNotAllowed);
        assert_eq!(a("GET /metrics\r\n\r\n"), Ask::BadRequest);
        assert_eq!(a("GET /metrics SPDY/3\r\n\r\n"), Ask::BadRequest);
        assert_eq!(a(""), Ask::BadRequest);
    }

    #[test]
    fn serves_the_metrics_and_nothing_else() {
        let control = Arc::new(Control::new(1));
        let labels = Labels {
            shard: "0/1".into(),
            target: "GET /".into(),
            targets: Vec::new(),
            schedule: Schedule {
                rps: Some(10.0),
                stages: Vec::new(),
                duration: Duration::from_secs(1),
            },
        };
        let server = MetricsServer::start(
            "127.0.0.1:0".parse().unwrap(),
            Duration::ZERO,
            control,
            labels,
        )
        .unwrap();
        let get = |request: &str| {
            let mut s = TcpStream::connect(server.addr()).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let metrics = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
        assert!(metrics.contains("\r\nContent-Type: text/plain; version=0.0.4"));
        assert!(metrics.contains("\nvolley_run_finished{shard=\"0/1\"} 0\n"));
        let mut stats = Stats::new();
        stats.completed = 7;
        server.finish(&stats);
        let after = get("GET /metrics HTTP/1.1\r\n\r\n");
        assert!(
            after.contains(
                "\nvolley_requests_total{shard=\"0/1\",target=\"GET /\",outcome=\"completed\"} 7\n"
            ),
            "{after}"
        );
        assert!(after.contains("\nvolley_run_finished{shard=\"0/1\"} 1\n"));
        assert!(get("GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
        assert!(get("DELETE /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 "));
        let head = get("HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"));
        drop(server);
    }
}
