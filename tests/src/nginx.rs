//! A private nginx on loopback for tests that want a real server as the
//! judge: its configuration, logs and sockets live in a directory of the
//! test's own, it runs in the foreground as one process that the test
//! started (so it is stopped by its PID), and its access log counts what it
//! served.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The nginx binary Debian's package installs.
pub const NGINX: &str = "/usr/sbin/nginx";

/// A running nginx; stopped (killed by its PID) when dropped.
pub struct Nginx {
    child: Child,
    /// The directory of its configuration, logs and any socket files.
    pub dir: PathBuf,
    /// Where the `listen {port}` placeholder of the server block listens.
    pub addr: SocketAddr,
}

impl Nginx {
    /// Starts nginx with one `server { … }` block. In `server`, `{port}` is
    /// replaced by a free loopback port and `{dir}` by the private directory.
    /// Every request is logged to `access.log` there as `STATUS URI`.
    ///
    /// Panics, naming what is missing, when nginx is not installed.
    pub fn start(server: &str) -> Self {
        Self::start_with(server, &[])
    }

    /// [`Nginx::start`], with `files` (name, contents) written to its
    /// directory first: certificates and keys, pages to serve.
    pub fn start_with(server: &str, files: &[(&str, &[u8])]) -> Self {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: apt-get install nginx"
        );
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "volley-nginx-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        for (name, contents) in files {
            std::fs::write(dir.join(name), contents).unwrap();
        }
        let port = free_port();
        let d = dir.display().to_string();
        let server = server
            .replace("{port}", &port.to_string())
            .replace("{dir}", &d);
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  log_format volley '$status $request_uri';\n  access_log {d}/access.log volley;\n\
             client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n\
             uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  default_type text/plain;\n\
             server_tokens off;\n  {server}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new(NGINX)
            .args(["-p", &d, "-c"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {NGINX}: {e}"));
        let mut nginx = Self {
            child,
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        nginx.wait_until_listening();
        nginx
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited ({status}): {}", self.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx is not listening on {}: {}",
                self.addr,
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// The access log so far: one `STATUS URI` line per request.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Requests logged with `status`.
    pub fn served(&self, status: u16) -> u64 {
        let prefix = format!("{status} ");
        self.access_log()
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .count() as u64
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
