//! Helpers for the tests that talk to a running server over loopback.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::time::Duration;

use crate::{RunningServer, ServeConfig, Server};

/// Bounds every blocking read and write in these tests.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a server with `config` on a free loopback port.
pub(crate) fn serve(config: ServeConfig) -> RunningServer {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    Server::spawn(ServeConfig { listen, ..config }).expect("bind 127.0.0.1:0")
}

/// Connects to `server`: a stream to write to and a reader of its answers.
pub(crate) fn connect(server: &RunningServer) -> (StdStream, BufReader<StdStream>) {
    let stream = StdStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    let reader = BufReader::new(stream.try_clone().expect("clone"));
    (stream, reader)
}

/// A response as read off the wire.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }
}

/// Reads one response; the body by its Content-Length unless `head`.
pub(crate) fn read_response(r: &mut BufReader<StdStream>, head: bool) -> Response {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect(&line);
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).expect("header line");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').expect(l);
        headers.push((n.to_owned(), v.trim().to_owned()));
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if !head {
        let len = resp
            .header("content-length")
            .map_or(0, |v| v.parse().expect(v));
        resp.body = vec![0; len];
        r.read_exact(&mut resp.body).expect("body");
    }
    resp
}

/// Asserts the server closed the connection and sent nothing more.
pub(crate) fn assert_closed(r: &mut BufReader<StdStream>) {
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).expect("read to end of stream");
    assert_eq!(String::from_utf8_lossy(&rest), "");
}

/// A plain HTTP/1.1 request, which keeps the connection open.
pub(crate) const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
