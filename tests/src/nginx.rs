//! A private nginx on loopback for tests that want a real server as the
//! judge (see [`crate::daemon`]): one process (`daemon off`, no master),
//! and an access log that counts what it served.

use std::net::SocketAddr;

use crate::daemon::{Daemon, Program};

/// The nginx binary Debian's package installs.
pub const NGINX: &str = "/usr/sbin/nginx";

const PROGRAM: Program = Program {
    name: "nginx",
    binary: NGINX,
    package: "nginx",
};

/// A running nginx; stopped (killed by its PID) when dropped.
pub struct Nginx {
    daemon: Daemon,
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
        let daemon = Daemon::start(PROGRAM, files, |dir, port| {
            std::fs::create_dir_all(dir.join("tmp")).unwrap();
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
            vec!["-p".into(), d, "-c".into(), path.display().to_string()]
        });
        Self {
            addr: daemon.addr,
            daemon,
        }
    }

    /// The private directory of its configuration, logs and sockets.
    pub fn dir(&self) -> &std::path::Path {
        &self.daemon.dir
    }

    /// The error log so far.
    pub fn error_log(&self) -> String {
        self.daemon.errors()
    }

    /// The access log so far: one `STATUS URI` line per request.
    pub fn access_log(&self) -> String {
        self.daemon.access_log()
    }

    /// Requests logged with `status`.
    pub fn served(&self, status: u16) -> u64 {
        self.daemon.served(status)
    }
}
