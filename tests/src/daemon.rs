//! A real server from a Debian package, run for one test: what the
//! harnesses of real servers ([`crate::nginx`], [`crate::httpd`]) share.
//!
//! Its configuration, logs and pages live in a directory of the test's own;
//! it runs in the foreground as one process that the test started, on a
//! loopback port, so it is stopped by its PID and nothing is left behind.
//! Every configuration written here logs each request to `access.log` as
//! `STATUS PATH` and its errors to `error.log`, so that the access log
//! counts what the server served.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A server program, as its package installs it.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// A short name for directories and messages.
    pub name: &'static str,
    /// The binary's path.
    pub binary: &'static str,
    /// The Debian package that installs it.
    pub package: &'static str,
}

/// A running server; killed by its PID when dropped.
pub struct Daemon {
    child: Option<Child>,
    program: Program,
    /// The directory of its configuration, logs and pages.
    pub dir: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Daemon {
    /// Starts `program` in a new private directory holding `files` (name,
    /// contents). `configure` gets the directory and a free loopback port,
    /// writes what the server needs there and returns its arguments. Returns
    /// once the server accepts connections.
    ///
    /// Panics, naming what is missing, when the program is not installed.
    pub fn start(
        program: Program,
        files: &[(&str, &[u8])],
        configure: impl FnOnce(&Path, u16) -> Vec<String>,
    ) -> Self {
        let Program {
            name,
            binary,
            package,
        } = program;
        assert!(
            Path::new(binary).exists(),
            "{binary} is missing: apt-get install {package}"
        );
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "volley-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, contents) in files {
            std::fs::write(dir.join(file), contents).unwrap();
        }
        let port = free_port();
        let args = configure(&dir, port);
        let console = std::fs::File::create(dir.join("console.log")).unwrap();
        let child = Command::new(binary)
            .args(&args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(console.try_clone().unwrap())
            .stderr(console)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let mut daemon = Self {
            child: Some(child),
            program,
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        daemon.wait_until_listening();
        daemon
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_err() {
            let child = self.child.as_mut().expect("running");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited ({status}): {}", self.program.name, self.errors());
            }
            assert!(
                Instant::now() < deadline,
                "{} is not listening on {}: {}",
                self.program.name,
                self.addr,
                self.errors()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asks the server to stop (SIGTERM) and waits for it, at most 5 s
    /// before it is killed: a server that buffers its access log (lighttpd)
    /// writes it out as it stops, so the log is complete afterwards.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) takes no pointers; `pid` is our own child, not
        // reaped yet, so it cannot name another process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} did not stop within 5 s of SIGTERM: {}",
                    self.program.name,
                    self.errors()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }

    /// The error log and whatever the server printed, for messages.
    pub fn errors(&self) -> String {
        format!("{}{}", self.read("error.log"), self.read("console.log"))
    }

    /// The access log so far: one `STATUS PATH` line per request.
    pub fn access_log(&self) -> String {
        self.read("access.log")
    }

    /// Requests logged with `status`.
    pub fn served(&self, status: u16) -> u64 {
        let prefix = format!("{status} ");
        self.access_log()
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .count() as u64
    }

    /// Requests for `path` logged with `status`.
    pub fn served_path(&self, status: u16, path: &str) -> u64 {
        let line = format!("{status} {path}");
        self.access_log().lines().filter(|l| *l == line).count() as u64
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
