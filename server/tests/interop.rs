//! The built-in server's HTTP/2 against a client that is not volley's:
//! nghttp2's `h2load` (Debian package nghttp2-client), over loopback.
//! Ignored unless asked for, as it needs the package; CI installs it and
//! runs ignored tests too. Every run is bounded: h2load is killed (by its
//! own handle) if it outlives its deadline.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use volley_server::{RunningServer, ServeConfig, Server};

const DEADLINE: Duration = Duration::from_secs(30);

fn serve(config: ServeConfig) -> RunningServer {
    Server::spawn(ServeConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        http2: true,
        ..config
    })
    .expect("bind 127.0.0.1:0")
}

/// h2load's counts: total, succeeded, failed, errored.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    total: u64,
    succeeded: u64,
    failed: u64,
    errored: u64,
    status_2xx: u64,
}

/// Runs h2load with `args` against `server` and reads its summary.
fn h2load(server: &RunningServer, args: &[&str]) -> Counts {
    let url = format!("http://{}/", server.addr());
    let mut child = Command::new("h2load")
        .args(args)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run h2load (package nghttp2-client)");
    let started = Instant::now();
    while child.try_wait().expect("wait for h2load").is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("h2load {args:?} took over {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("h2load's output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "h2load {args:?} failed: {text}");
    // "requests: 1000 total, 1000 started, 1000 done, 1000 succeeded,
    // 0 failed, 0 errored, 0 timeout"
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in: {text}"))
            .to_owned()
    };
    let count = |line: &str, what: &str| -> u64 {
        line.split(',')
            .map(str::trim)
            .find_map(|part| {
                let part = part.rsplit(':').next().unwrap_or(part).trim();
                let (n, name) = part.split_once(' ')?;
                (name == what).then(|| n.parse().ok()).flatten()
            })
            .unwrap_or_else(|| panic!("no {what:?} in {line:?}"))
    };
    let requests = line("requests:");
    let statuses = line("status codes:");
    Counts {
        total: count(&requests, "total"),
        succeeded: count(&requests, "succeeded"),
        failed: count(&requests, "failed"),
        errored: count(&requests, "errored"),
        status_2xx: count(&statuses, "2xx"),
    }
}

#[test]
#[ignore = "needs h2load (nghttp2-client)"]
fn h2load_gets_every_answer() {
    let server = serve(ServeConfig::default());
    let counts = h2load(&server, &["-n", "1000", "-c", "1", "-m", "10"]);
    assert_eq!(
        counts,
        Counts {
            total: 1000,
            succeeded: 1000,
            failed: 0,
            errored: 0,
            status_2xx: 1000
        }
    );
    let stats = server.stop().unwrap();
    assert_eq!((stats.requests, stats.responses), (1000, 1000));
}

#[test]
#[ignore = "needs h2load (nghttp2-client)"]
fn h2load_with_small_windows_gets_whole_large_bodies() {
    // -w/-W 16: windows of 2^16 - 1 for each stream and the connection,
    // so every 100 kB body waits for h2load's WINDOW_UPDATEs.
    let server = serve(ServeConfig {
        body_size: 100_000,
        ..Default::default()
    });
    let args = ["-n", "200", "-c", "2", "-m", "20", "-w", "16", "-W", "16"];
    let counts = h2load(&server, &args);
    assert_eq!((counts.succeeded, counts.errored), (200, 0), "{counts:?}");
}

#[test]
#[ignore = "needs h2load (nghttp2-client)"]
fn h2load_sees_goaway_after_max_requests() {
    // h2load does not open another connection after a GOAWAY, so exactly
    // the streams up to the GOAWAY's last one succeed.
    let server = serve(ServeConfig {
        max_requests: Some(30),
        ..Default::default()
    });
    let counts = h2load(&server, &["-n", "100", "-c", "1", "-m", "10"]);
    assert_eq!((counts.total, counts.succeeded), (100, 30), "{counts:?}");
}
