//! apache2, lighttpd and h2o from Debian's packages as judges (see
//! [`crate::daemon`]), each serving the same three resources: a small
//! file, a 100 KiB file and a response in chunked transfer coding, with
//! keep-alive limits the test chooses.
//!
//! How each one is made to fit the harness:
//!
//! - **apache2**: `-X` runs one process in the foreground (the event MPM's
//!   threads in it). Started as root it serves as `www-data`, after opening
//!   its logs. The chunked response comes from mod_lua: a handler that
//!   flushes between two writes, so the length is not known when the head
//!   goes out. `MaxKeepAliveRequests` and `KeepAliveTimeout` are the limits.
//! - **lighttpd**: `-D` keeps it in the foreground, one process. The
//!   chunked response is a CGI script without a Content-Length, streamed
//!   (`server.stream-response-body = 2`, else lighttpd buffers it and sends
//!   a length). Even streamed, lighttpd sends a length when the script's
//!   whole output is in before it answers, as a short output often is; so
//!   the script writes the 100 KiB file, more than a pipe holds: it cannot
//!   have finished when lighttpd starts the answer. Limits:
//!   `server.max-keep-alive-requests` and
//!   `server.max-keep-alive-idle`. It buffers its access log, which is
//!   complete once it has stopped ([`Httpd::stop`]).
//! - **h2o**: in the foreground by default; it also starts a helper for
//!   crash backtraces, which ends with it. Started as root it serves as
//!   `nobody`. The chunked response is an mruby handler whose body is
//!   yielded in two pieces. h2o 2.2 has no limit on requests per HTTP/1.1
//!   connection (and drops a `Connection: close` a handler sets), so only
//!   the idle limit applies: `http1-request-timeout`.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::daemon::{Daemon, Program};

/// One of the servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Apache,
    Lighttpd,
    H2o,
}

/// What each server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A 6-byte file.
    Small,
    /// A 100 KiB file.
    Big,
    /// A response in chunked transfer coding, made per request: 21 bytes,
    /// or on lighttpd the 100 KiB of [`Resource::Big`].
    Chunked,
}

impl Resource {
    pub const ALL: [Self; 3] = [Self::Small, Self::Big, Self::Chunked];

    pub fn name(self) -> &'static str {
        match self {
            Self::Small => "small file",
            Self::Big => "100 KiB file",
            Self::Chunked => "chunked",
        }
    }
}

/// When a server closes a keep-alive connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    /// After this many requests on it (where the server has such a limit).
    pub max_requests: u32,
    /// After it was idle this many seconds.
    pub idle_s: u32,
}

/// The body of [`Resource::Small`].
pub const SMALL: &[u8] = b"hello\n";
/// The size of [`Resource::Big`].
pub const BIG_LEN: usize = 100 * 1024;
/// The body of [`Resource::Chunked`] on apache2 and h2o, in its two pieces.
pub const CHUNKED: [&str; 2] = ["hello, ", "chunked world\n"];

impl Kind {
    pub const ALL: [Self; 3] = [Self::Apache, Self::Lighttpd, Self::H2o];

    fn program(self) -> Program {
        match self {
            Self::Apache => Program {
                name: "apache2",
                binary: "/usr/sbin/apache2",
                package: "apache2",
            },
            Self::Lighttpd => Program {
                name: "lighttpd",
                binary: "/usr/sbin/lighttpd",
                package: "lighttpd",
            },
            Self::H2o => Program {
                name: "h2o",
                binary: "/usr/bin/h2o",
                package: "h2o",
            },
        }
    }

    /// The server closes connections after [`KeepAlive::max_requests`].
    pub fn limits_requests(self) -> bool {
        self != Self::H2o
    }

    /// The path of `resource` on this server.
    pub fn path(self, resource: Resource) -> &'static str {
        match (self, resource) {
            (_, Resource::Small) => "/small.txt",
            (_, Resource::Big) => "/big.txt",
            (Self::Lighttpd, Resource::Chunked) => "/chunked.cgi",
            (_, Resource::Chunked) => "/chunked",
        }
    }

    /// Writes this server's configuration into `dir` and returns its
    /// arguments.
    fn configure(self, dir: &Path, port: u16, limits: KeepAlive) -> Vec<String> {
        let d = dir.display();
        let KeepAlive {
            max_requests,
            idle_s,
        } = limits;
        let [first, second] = CHUNKED;
        let www = dir.join("www");
        let (conf, args): (String, &[&str]) = match self {
            Self::Apache => {
                let lua = format!(
                    "function handle(r)\n  r.content_type = \"text/plain\"\n  r:puts({first:?})\n  \
                     r:flush()\n  r:puts({second:?})\n  return apache2.OK\nend\n"
                );
                std::fs::write(dir.join("chunked.lua"), lua).unwrap();
                let modules = "/usr/lib/apache2/modules";
                (
                    format!(
                        "ServerRoot {d}\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\n\
                         PidFile {d}/httpd.pid\nDefaultRuntimeDir {d}\nMutex file:{d}\n\
                         ErrorLog {d}/error.log\nLogLevel warn\nUser www-data\nGroup www-data\n\
                         LoadModule mpm_event_module {modules}/mod_mpm_event.so\n\
                         LoadModule authz_core_module {modules}/mod_authz_core.so\n\
                         LoadModule mime_module {modules}/mod_mime.so\n\
                         LoadModule lua_module {modules}/mod_lua.so\n\
                         TypesConfig /dev/null\nAddType text/plain .txt\n\
                         LogFormat \"%>s %U\" volley\nCustomLog {d}/access.log volley\n\
                         KeepAlive On\nMaxKeepAliveRequests {max_requests}\nKeepAliveTimeout {idle_s}\n\
                         DocumentRoot {www}\n<Directory {www}>\n  Require all granted\n</Directory>\n\
                         LuaMapHandler ^/chunked$ {d}/chunked.lua\n",
                        www = www.display()
                    ),
                    &["-X", "-f"],
                )
            }
            Self::Lighttpd => {
                let cgi = www.join("chunked.cgi");
                std::fs::write(
                    &cgi,
                    "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nexec cat big.txt\n",
                )
                .unwrap();
                std::fs::set_permissions(&cgi, std::fs::Permissions::from_mode(0o755)).unwrap();
                (
                    format!(
                        "server.document-root = \"{www}\"\nserver.bind = \"127.0.0.1\"\n\
                         server.port = {port}\nserver.errorlog = \"{d}/error.log\"\n\
                         server.modules = (\"mod_accesslog\", \"mod_cgi\")\n\
                         accesslog.filename = \"{d}/access.log\"\naccesslog.format = \"%>s %U\"\n\
                         cgi.assign = (\".cgi\" => \"\")\nserver.stream-response-body = 2\n\
                         server.max-keep-alive-requests = {max_requests}\n\
                         server.max-keep-alive-idle = {idle_s}\n\
                         mimetype.assign = (\".txt\" => \"text/plain\")\n",
                        www = www.display()
                    ),
                    &["-D", "-f"],
                )
            }
            Self::H2o => (
                format!(
                    "listen:\n  host: 127.0.0.1\n  port: {port}\nerror-log: {d}/error.log\n\
                     num-threads: 1\nhttp1-request-timeout: {idle_s}\nhosts:\n  default:\n    \
                     access-log:\n      path: {d}/access.log\n      format: \"%s %U\"\n    \
                     paths:\n      /chunked:\n        mruby.handler: |\n          \
                     class Body\n            def each\n              yield {first:?}\n              \
                     yield {second:?}\n            end\n          end\n          \
                     Proc.new do |env|\n            [200, {{\"content-type\" => \"text/plain\"}}, Body.new]\n          \
                     end\n      /:\n        file.dir: {www}\n",
                    www = www.display()
                ),
                &["-c"],
            ),
        };
        let path = dir.join("server.conf");
        std::fs::write(&path, conf).unwrap();
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(path.display().to_string());
        args
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program().name)
    }
}

/// A running apache2, lighttpd or h2o; killed by its PID when dropped.
pub struct Httpd {
    kind: Kind,
    daemon: Daemon,
}

impl Httpd {
    /// Starts `kind` on a free loopback port, serving the three
    /// [`Resource`]s under `limits`.
    ///
    /// Panics, naming what is missing, when the server is not installed.
    pub fn start(kind: Kind, limits: KeepAlive) -> Self {
        let big: Vec<u8> = (0..BIG_LEN).map(|i| b'a' + (i % 26) as u8).collect();
        let daemon = Daemon::start(kind.program(), &[], |dir, port| {
            let www = dir.join("www");
            std::fs::create_dir_all(&www).unwrap();
            std::fs::write(www.join("small.txt"), SMALL).unwrap();
            std::fs::write(www.join("big.txt"), &big).unwrap();
            kind.configure(dir, port, limits)
        });
        Self { kind, daemon }
    }

    /// The URL of `resource`.
    pub fn url(&self, resource: Resource) -> String {
        format!("http://{}{}", self.daemon.addr, self.kind.path(resource))
    }

    /// Stops the server (see [`Daemon::stop`]); its access log is then
    /// complete.
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    /// Requests for `resource` logged with `status`.
    pub fn served(&self, status: u16, resource: Resource) -> u64 {
        self.daemon.served_path(status, self.kind.path(resource))
    }

    /// The error log and what the server printed, for messages.
    pub fn errors(&self) -> String {
        self.daemon.errors()
    }
}
