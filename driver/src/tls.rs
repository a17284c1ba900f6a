//! TLS between the socket and the engine: the client configuration
//! ([`Tls`]) and one connection's session ([`TlsSession`]), pumped as
//! rustls's mio client example does: `read_tls` → `process_new_packets` →
//! `reader()` into the engine; the engine's bytes → `writer()` →
//! `write_tls` while `wants_write()`. The engine never sees TLS, only
//! plaintext.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind,
    OtherError, RootCertStore, SignatureScheme,
};

use crate::error::Failure;
use crate::read::{ReadEvent, ReadOutcome};
use crate::stamp::StampedReader;

/// How to set up TLS for an https target.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// The host name from the URL: SNI and certificate name.
    pub server_name: String,
    /// Accept any certificate (`--insecure`).
    pub insecure: bool,
    /// Also trust the certificates in this PEM file (`--cacert`).
    pub cacert: Option<PathBuf>,
}

/// TLS configured and ready to make connections.
#[derive(Clone, Debug)]
pub struct Tls {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) host: String,
}

/// Why TLS could not be set up (the user's input: exit code 2).
#[derive(Debug)]
pub struct TlsSetupError(pub String);

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsSetupError {}

impl Tls {
    /// Builds the client configuration: webpki roots plus `--cacert`,
    /// TLS 1.2 and 1.3, ALPN `http/1.1`, SNI from the host, and an
    /// in-memory session cache shared by all connections, so a user that
    /// reconnects resumes its session.
    pub fn new(options: &TlsOptions) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError(format!("cannot set up TLS: {e}")))?;
        let mut config = if options.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let mut pinned = Vec::new();
            if let Some(path) = &options.cacert {
                let shown = path.display();
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| TlsSetupError(format!("--cacert {shown}: cannot read it: {e}")))?;
                let mut added = 0;
                for cert in certs {
                    let cert = cert.map_err(|e| {
                        TlsSetupError(format!(
                            "--cacert {shown}: not a PEM certificate bundle: {e}"
                        ))
                    })?;
                    roots.add(cert.clone()).map_err(|e| {
                        TlsSetupError(format!("--cacert {shown}: unusable certificate: {e}"))
                    })?;
                    pinned.push(cert);
                    added += 1;
                }
                if added == 0 {
                    return Err(TlsSetupError(format!(
                        "--cacert {shown}: no certificate found; expected PEM (-----BEGIN CERTIFICATE-----)"
                    )));
                }
            }
            if pinned.is_empty() {
                builder.with_root_certificates(roots).with_no_client_auth()
            } else {
                let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| {
                        TlsSetupError(format!("cannot set up certificate verification: {e}"))
                    })?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(RootsOrPinned { webpki, pinned }))
                    .with_no_client_auth()
            }
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
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
        stream: &mut TcpStream,
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
            on(ReadEvent::Handshaken { started, resumed });
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

/// A TLS failure that will fail every connection alike, so the run ends at
/// once with this message instead of counting thousands of copies.
pub(crate) fn fatal_message(e: &rustls::Error, host: &str) -> Option<String> {
    let rustls::Error::InvalidCertificate(c) = e else {
        return None;
    };
    let reason = match c {
        CertificateError::UnknownIssuer => "it is signed by an unknown issuer".to_string(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired".to_string()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet".to_string()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("it is not valid for the name {host:?}")
        }
        CertificateError::Revoked => "it has been revoked".to_string(),
        other => other_reason(other),
    };
    Some(format!(
        "the TLS certificate of {host} was rejected: {reason}; pass --cacert FILE to trust the CA that signed it, \
         or --insecure to skip verification"
    ))
}

/// A readable reason for the rarer certificate errors.
fn other_reason(e: &CertificateError) -> String {
    match webpki_error(e) {
        Some(webpki::Error::CaUsedAsEndEntity) => {
            "it is a CA certificate used as the server's own (a self-signed certificate made as a CA); \
             give that exact certificate to --cacert, or make a server certificate signed by the CA"
                .to_string()
        }
        _ => format!("{}", rustls::Error::InvalidCertificate(e.clone())),
    }
}

/// The webpki error behind `e`: rustls passes on a webpki error it has no
/// variant of its own for as `Other`, holding the webpki error itself.
fn webpki_error(e: &CertificateError) -> Option<&webpki::Error> {
    match e {
        CertificateError::Other(OtherError(inner)) => inner.downcast_ref::<webpki::Error>(),
        _ => None,
    }
}

/// `--cacert` trusts its certificates as roots (webpki), and also as the
/// server's exact certificate when the server presents one of them itself:
/// a self-signed certificate given to `--cacert` works, as users expect from
/// curl, although webpki refuses a CA certificate as an end entity. Being
/// pinned waives only that refusal: the certificate must still be valid now
/// and name the host (SPEC §8).
#[derive(Debug)]
struct RootsOrPinned {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl RootsOrPinned {
    fn is_pinned(&self, cert: &CertificateDer<'_>) -> bool {
        self.pinned.iter().any(|c| c.as_ref() == cert.as_ref())
    }
}

impl ServerCertVerifier for RootsOrPinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refusal = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        let rustls::Error::InvalidCertificate(c) = &refusal else {
            return Err(refusal);
        };
        // webpki checks the end entity's dates before its basic constraints,
        // so a CA certificate refused as the server's own is valid now (the
        // trust matrix in cli/tests/tls.rs holds an expired one to that).
        // The name is not checked until the chain is, so check it here.
        if matches!(webpki_error(c), Some(webpki::Error::CaUsedAsEndEntity))
            && self.is_pinned(end_entity)
        {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&cert, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        Err(refusal)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `--insecure`: accepts any certificate, but still checks that the
/// handshake signatures are made with the certificate's key.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

    use super::*;

    /// Verifies `end_entity`, trusting `root`, as a client of `localhost`.
    fn verify(root: &CertificateDer<'static>, end_entity: &CertificateDer<'_>) -> rustls::Error {
        let mut roots = RootCertStore::empty();
        roots.add(root.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        verifier
            .verify_server_cert(end_entity, &[], &name, &[], UnixTime::now())
            .unwrap_err()
    }

    /// A self-signed certificate for `localhost`, made as a CA or not, whose
    /// subject is `subject`.
    fn self_signed(subject: &str, is_ca: bool) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, subject);
        if is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params
            .self_signed(&KeyPair::generate().unwrap())
            .unwrap()
            .der()
            .clone()
    }

    #[test]
    fn a_ca_certificate_as_the_servers_own_is_named_from_the_verifiers_error() {
        // The webpki error comes from the verifier rustls really uses, so a
        // rustls that moved to another webpki would fail here.
        let cert = self_signed("ca", true);
        let message = fatal_message(&verify(&cert, &cert), "localhost").unwrap();
        assert!(
            message.contains("it is a CA certificate used as the server's own"),
            "{message}"
        );
    }

    #[test]
    fn certificate_errors_are_named() {
        let root = self_signed("ca", true);
        let named = |end_entity: &CertificateDer<'_>| {
            fatal_message(&verify(&root, end_entity), "localhost").unwrap()
        };
        let message = named(&self_signed("stranger", false));
        assert!(
            message.contains("it is signed by an unknown issuer"),
            "{message}"
        );
        // Claims the root as its issuer, but the root did not sign it: a
        // rarer error, named as rustls names it.
        let message = named(&self_signed("ca", false));
        assert!(
            message.contains("was rejected: invalid peer certificate: BadSignature;"),
            "{message}"
        );
        assert_eq!(fatal_message(&rustls::Error::DecryptError, "h"), None);
    }
}
