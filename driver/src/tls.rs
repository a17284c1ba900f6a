//! TLS between the socket and the engine: the client configuration
//! ([`Tls`]) and one connection's session ([`TlsSession`]), pumped as
//! rustls's mio client example does: `read_tls` → `process_new_packets` →
//! `reader()` into the engine; the engine's bytes → `writer()` →
//! `write_tls` while `wants_write()`. The engine never sees TLS, only
//! plaintext.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, HandshakeKind};

use crate::error::{Failure, TlsSetupError};
use crate::read::{ReadEvent, ReadOutcome};
use crate::stamp::StampedReader;
use crate::stream::Stream;
use crate::trust::{self, ClientAuth};

/// How to set up TLS for an https target.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// The host name from the URL: SNI and certificate name.
    pub server_name: String,
    /// Accept any certificate (`--insecure`).
    pub insecure: bool,
    /// Also trust the certificates in this PEM file (`--cacert`).
    pub cacert: Option<PathBuf>,
    /// The client certificate chain and its private key, PEM (`--cert`,
    /// `--key`), for servers that require mutual TLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Offer only HTTP/2 in ALPN (`--http2`, SPEC §11).
    pub http2: bool,
}

/// TLS configured and ready to make connections.
#[derive(Clone, Debug)]
pub struct Tls {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) host: String,
    client: Arc<ClientAuth>,
    /// ALPN offers `h2` alone (`--http2`).
    http2: bool,
}

impl Tls {
    /// Builds the client configuration: webpki roots plus `--cacert` (or
    /// `--insecure`), the client certificate if any, TLS 1.2 and 1.3, ALPN
    /// `http/1.1` (or, for `--http2`, `h2`), SNI from the host, and an in-memory session cache shared
    /// by all connections, so a user that reconnects resumes its session.
    pub fn new(options: &TlsOptions) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            trust::server_verifier(options.insecure, options.cacert.as_deref(), &provider)?;
        let key = match &options.client_cert {
            Some((cert, key)) => Some(trust::client_key(cert, key, &provider)?),
            None => None,
        };
        let client = Arc::new(ClientAuth::new(key));
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError(format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(
                Arc::clone(&client) as Arc<dyn rustls::client::ResolvesClientCert>
            );
        config.alpn_protocols = vec![if options.http2 {
            b"h2".to_vec()
        } else {
            b"http/1.1".to_vec()
        }];
        let server_name = ServerName::try_from(options.server_name.clone()).map_err(|_| {
            TlsSetupError(format!(
                "--url: {:?} is not a valid TLS server name",
                options.server_name
            ))
        })?;
        Ok(Self {
            config: Arc::new(config),
            server_name,
            host: options.server_name.clone(),
            client,
            http2: options.http2,
        })
    }

    /// A TLS failure that will fail every connection alike, so the run ends
    /// at once with this message instead of counting thousands of copies.
    pub(crate) fn fatal_message(&self, e: &rustls::Error) -> Option<String> {
        // A server without HTTP/2 answers an offer of `h2` alone with this
        // alert (OpenSSL's servers, nginx), or selects nothing (see
        // `not_h2_message`).
        let no_protocol =
            rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol);
        if self.http2 && *e == no_protocol {
            return Some(self.not_h2_message());
        }
        trust::fatal_message(e, &self.host, self.client.key.is_some())
    }

    /// The server did not select `h2` in the handshake of an `--http2`
    /// run: every connection would meet the same, so the run ends.
    pub(crate) fn not_h2_message(&self) -> String {
        format!(
            "the server {} did not select HTTP/2 (ALPN h2) in the TLS handshake; \
             it speaks HTTP/1.1 only: run without --http2",
            self.host
        )
    }

    /// The server asked for a client certificate and none was given: what
    /// to say if it then refuses the requests (nginx answers 400 to a
    /// missing certificate, after the handshake).
    pub(crate) fn missing_client_cert(&self) -> Option<String> {
        (self.client.key.is_none() && self.client.asked.load(Ordering::Relaxed)).then(|| {
            format!(
                "the server {} asked for a TLS client certificate and answered 400 Bad Request without one; \
                 pass --cert FILE and --key FILE",
                self.host
            )
        })
    }
}

/// One connection's TLS session. It reads and writes the connection's
/// stream itself, as rustls needs: the socket slot hands it the stream.
pub(crate) struct TlsSession {
    conn: ClientConnection,
    /// When the handshake started (TCP connected), while it is in progress.
    handshake_started: Option<Instant>,
}

impl TlsSession {
    /// A session for a new connection to the target of `tls`.
    pub(crate) fn new(tls: &Tls) -> Result<Self, rustls::Error> {
        let conn = ClientConnection::new(Arc::clone(&tls.config), tls.server_name.clone())?;
        Ok(Self {
            conn,
            handshake_started: None,
        })
    }

    /// TCP has connected at `now`: the handshake starts, and its first
    /// flight goes out on `wire`.
    pub(crate) fn start(&mut self, now: Instant, wire: &mut impl Write) -> io::Result<()> {
        self.handshake_started = Some(now);
        self.flush(wire)
    }

    /// Records are waiting for the socket to take them.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Encrypts `plaintext` and writes what the socket takes of it.
    pub(crate) fn send(&mut self, plaintext: &[u8], wire: &mut impl Write) -> io::Result<()> {
        self.conn.writer().write_all(plaintext)?;
        self.flush(wire)
    }

    /// Writes the pending records until there are none or the socket
    /// would block.
    pub(crate) fn flush(&mut self, wire: &mut impl Write) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(wire) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One read pass: one `read_tls` from `stream` (keeping the kernel's
    /// receive stamp), `process_new_packets` (an error ends the
    /// connection, after the alert rustls queued for it goes out), the
    /// handshake's end if this pass finished it, then all the plaintext
    /// through `buf` to `on`; last, whatever records the pass queued (the
    /// handshake's next flight, a key update) are written. A close or an
    /// error before the handshake is complete is the handshake's failure.
    pub(crate) fn read(
        &mut self,
        stream: &mut Stream,
        buf: &mut [u8],
        on: &mut dyn FnMut(ReadEvent<'_>),
    ) -> ReadOutcome {
        let mut wire = StampedReader::new(stream.as_raw_fd());
        let eof = match self.conn.read_tls(&mut wire) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return ReadOutcome::More,
            Err(e) => return self.io_failure(e),
        };
        if let Err(e) = self.conn.process_new_packets() {
            let _ = self.conn.write_tls(stream);
            return ReadOutcome::Failed(Failure::Tls(e));
        }
        if let (Some(started), false) = (self.handshake_started, self.conn.is_handshaking()) {
            self.handshake_started = None;
            let resumed = self.conn.handshake_kind() == Some(HandshakeKind::Resumed);
            let h2 = self.conn.alpn_protocol() == Some(b"h2");
            on(ReadEvent::Handshaken {
                started,
                resumed,
                h2,
            });
        }
        let mut closed = eof;
        loop {
            match self.conn.reader().read(buf) {
                Ok(0) => {
                    closed = true; // close_notify
                    break;
                }
                Ok(n) => on(ReadEvent::Data {
                    bytes: &buf[..n],
                    arrived: wire.arrived(),
                }),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    closed = true; // closed without close_notify
                    break;
                }
                Err(e) => return self.io_failure(e),
            }
        }
        if let Err(e) = self.flush(stream) {
            return self.io_failure(e);
        }
        match (closed, self.is_handshaking()) {
            (false, _) => ReadOutcome::More,
            (true, false) => ReadOutcome::Eof,
            (true, true) => ReadOutcome::Failed(Failure::ClosedInHandshake),
        }
    }

    /// The handshake has started and not yet finished.
    fn is_handshaking(&self) -> bool {
        self.handshake_started.is_some()
    }

    /// A read or write error: while the handshake is in progress, the
    /// handshake failed.
    fn io_failure(&self, e: io::Error) -> ReadOutcome {
        ReadOutcome::Failed(if self.is_handshaking() {
            Failure::Handshake(e)
        } else {
            Failure::Io(e)
        })
    }
}
