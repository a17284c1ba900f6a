//! Fault injection through the binary: a body that never ends (memory stays
//! flat), a client out of local ports (in a network namespace of the
//! test's own), and 10,000 users on one thread. Only 127.0.0.1 and that
//! namespace are used, and every run is bounded in time.

mod support;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::{assert_json_accounted, json, volley_bin};
use volley_server::{ServeConfig, Server};
use volley_tests::raw::{RawServer, answer_all, read_request};

/// A good answer, kept alive.
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Slack on every "ends on time" bound: the machine is shared and noisy.
const SLACK: Duration = Duration::from_secs(10);

/// What /usr/bin/time measured for a child.
#[derive(Debug)]
struct Usage {
    wall: f64,
    cpu: f64,
    max_rss_kib: u64,
}

/// Runs `volley args...`, after `prefix` (a command that wraps it, such as
/// `ip netns exec NAME`), under /usr/bin/time.
fn volley_measured(prefix: &[&str], args: &[&str]) -> (Output, Usage) {
    let time = "/usr/bin/time";
    assert!(
        std::path::Path::new(time).exists(),
        "{time} is missing (apt-get install time): it measures CPU time and peak memory"
    );
    let report = std::env::temp_dir().join(format!(
        "volley-faults-time-{}-{}",
        std::process::id(),
        unique()
    ));
    let argv: Vec<&str> = prefix.iter().copied().chain([time]).collect();
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .args(["-o", report.to_str().unwrap(), "-f", "%e %U %S %M"])
        .arg(volley_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run volley");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "volley panicked: {stderr}");
    let text = std::fs::read_to_string(&report).expect("/usr/bin/time output");
    let _ = std::fs::remove_file(&report);
    // "Command exited with non-zero status N" may come first.
    let last = text.lines().last().unwrap_or_default();
    let f: Vec<f64> = last
        .split_whitespace()
        .map(|x| x.parse().expect("a number from /usr/bin/time"))
        .collect();
    (
        out,
        Usage {
            wall: f[0],
            cpu: f[1] + f[2],
            max_rss_kib: f[3] as u64,
        },
    )
}

fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
#[ignore = "needs /usr/bin/time (apt-get install time); CI installs it and runs it"]
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
    {
        let (endless, base) = (usage, base_usage);
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
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "volley-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
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

    /// Gives commands run with [`Netns::prefix`] their own /etc/hosts (`ip
    /// netns exec` mounts /etc/netns/NAME/hosts over it).
    fn hosts(&self, hosts: &str) {
        let dir = PathBuf::from("/etc/netns").join(&self.name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hosts"), hosts).unwrap();
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
        let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(&self.name));
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

#[test]
#[ignore = "needs root (it makes a network namespace) and /usr/bin/time; CI runs it"]
fn no_keepalive_out_of_local_ports_is_a_clear_connect_error() {
    let ns = Netns::create()
        .unwrap_or_else(|why| panic!("cannot make a network namespace (root needed): {why}"));
    // The server runs in a thread that joined the namespace. It answers
    // and then waits for the client to close first, so that the client's
    // side of every connection sits in TIME_WAIT and holds its local port.
    let server = std::thread::scope(|scope| {
        scope
            .spawn(|| ns.enter().map(|()| RawServer::start(|s| answer_all(s, OK))))
            .join()
            .unwrap()
    });
    let server = server.unwrap_or_else(|e| panic!("cannot enter the network namespace: {e}"));
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
    {
        let u = usage;
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
#[ignore = "needs an open-file hard limit of 10,100, net.core.somaxconn of 4096 and /usr/bin/time; CI runs it"]
fn ten_thousand_users_on_one_thread() {
    const USERS: usize = 10_000;
    // The server in this process holds one descriptor per connection; the
    // volley child raises its own limit.
    volley_driver::ensure_fd_limit(USERS + 100)
        .unwrap_or_else(|e| panic!("the open-file limit is too low: {e}"));
    // The server listens with a backlog up to net.core.somaxconn. If that
    // is far below 10,000, the burst of connects before t0 can overflow its
    // accept queue: Linux then drops the handshake's last ACK, and the
    // client holds connections the server accepts only later, or never.
    let somaxconn: u64 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        somaxconn >= 4096,
        "net.core.somaxconn is {somaxconn}; sysctl -w net.core.somaxconn=4096 first"
    );
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/", server.addr());
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
    std::thread::sleep(Duration::from_millis(500));
    let served = server.stop().unwrap();
    assert_eq!(
        served.connections, USERS as u64,
        "connections the server accepted"
    );
    assert_eq!(served.requests, 100);
}

/// Runs `volley args...` in `ns`; the report as JSON.
fn volley_in(ns: &Netns, args: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new("ip")
        .args(&ns.prefix()[1..])
        .arg(volley_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run volley");
    let v = json(&out);
    assert_json_accounted(&v);
    (out, v)
}

/// A server in `ns` on `addr` that answers every request.
fn server_in(ns: &Netns, addr: &str) -> RawServer {
    let addr: SocketAddr = addr.parse().unwrap();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                ns.enter()
                    .map(|()| RawServer::start_on(addr, |s| answer_all(s, OK)))
            })
            .join()
            .unwrap()
    })
    .unwrap_or_else(|e| panic!("cannot enter the network namespace: {e}"))
}

/// SPEC §9: a host that resolves to several addresses is connected to at
/// the first that answers, and the report names it. Here the first refuses.
#[test]
#[ignore = "needs root (it makes a network namespace); CI runs it"]
fn the_next_address_is_tried_when_one_refuses() {
    let ns = Netns::create()
        .unwrap_or_else(|why| panic!("cannot make a network namespace (root needed): {why}"));
    let server = server_in(&ns, "127.0.0.2:0");
    let port = server.addr.port();
    ns.hosts("127.0.0.1 multi.test\n127.0.0.2 multi.test\n");
    let url = format!("http://multi.test:{port}/");
    let (out, v) = volley_in(
        &ns,
        &[
            &url, "--rps", "100", "-c", "5", "-n", "50", "-q", "-o", "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["requests"]["completed"], 50, "{v}");
    assert_eq!(
        v["connections"]["by_address"],
        serde_json::json!({ format!("127.0.0.2:{port}"): 5 }),
        "{v}"
    );
    let (out, _) = volley_in(
        &ns,
        &[
            &url, "--rps", "100", "-c", "5", "-n", "50", "-q", "-o", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
}

/// SPEC §9: `--local-addr`, repeated, spreads users over source addresses,
/// so one run holds more connections to one destination than one source
/// address's local ports allow (101 in this namespace).
#[test]
#[ignore = "needs root (it makes a network namespace); CI runs it"]
fn two_source_addresses_hold_more_connections_than_one() {
    let ns = Netns::create()
        .unwrap_or_else(|why| panic!("cannot make a network namespace (root needed): {why}"));
    // A port outside the namespace's narrow ephemeral range.
    let server = server_in(&ns, "127.0.0.1:8080");
    let url = format!("http://{}/", server.addr);
    let run = |sources: &[&str]| {
        let mut args = vec![
            url.as_str(),
            "--rps",
            "150",
            "-c",
            "150",
            "-d",
            "1",
            "--connect-timeout",
            "2s",
            "-q",
            "-o",
            "json",
        ];
        for s in sources {
            args.extend(["--local-addr", s]);
        }
        volley_in(&ns, &args)
    };
    let (_, one) = run(&["127.0.0.1"]);
    let opened = one["connections"]["opened"].as_u64().unwrap();
    assert!(
        (90..=101).contains(&opened),
        "{opened} connections from one source address: {one}"
    );
    assert!(
        one["errors"]["connect_error"].as_u64().unwrap() > 0,
        "{one}"
    );
    // Other sources than the first run's, whose ports now wait in TIME_WAIT.
    let (out, two) = run(&["127.0.0.2", "127.0.0.3"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(two["connections"]["opened"], 150, "{two}");
    assert_eq!(two["requests"]["failed"], 0, "{two}");
    assert_eq!(two["requests"]["completed"], 150, "{two}");
    assert_eq!(
        two["connections"]["by_address"],
        serde_json::json!({ "127.0.0.1:8080": 150 }),
        "{two}"
    );
}
