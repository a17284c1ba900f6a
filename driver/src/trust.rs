//! Whom volley trusts and how it proves itself: the server certificate
//! verifiers (the web PKI roots plus `--cacert`, with the exact-certificate
//! rule of SPEC §8; or `--insecure`), the client certificate of `--cert`
//! and `--key` (SPEC §9), and the messages of the failures that end a run
//! at once because every connection would fail alike.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::client::ResolvesClientCert;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};

use crate::error::TlsSetupError;

/// The server certificate verifier: any certificate when `insecure`; else
/// the web PKI roots and `cacert`, whose certificates also count as the
/// server's exact certificate ([`RootsOrPinned`]).
pub(crate) fn server_verifier(
    insecure: bool,
    cacert: Option<&Path>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsSetupError> {
    if insecure {
        return Ok(Arc::new(AcceptAny(Arc::clone(provider))));
    }
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut pinned = Vec::new();
    if let Some(path) = cacert {
        let shown = path.display();
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| TlsSetupError(format!("--cacert {shown}: cannot read it: {e}")))?;
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
        }
        if pinned.is_empty() {
            return Err(TlsSetupError(format!(
                "--cacert {shown}: no certificate found; expected PEM (-----BEGIN CERTIFICATE-----)"
            )));
        }
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|e| TlsSetupError(format!("cannot set up certificate verification: {e}")))?;
    Ok(if pinned.is_empty() {
        webpki
    } else {
        Arc::new(RootsOrPinned { webpki, pinned })
    })
}

/// The client certificate chain of `--cert` and its key of `--key` (PEM;
/// PKCS#8, PKCS#1 RSA or SEC1 EC), checked to belong together.
pub(crate) fn client_key(
    cert: &Path,
    key: &Path,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<CertifiedKey>, TlsSetupError> {
    let (cert_shown, key_shown) = (cert.display(), key.display());
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsSetupError(format!("--cert {cert_shown}: cannot read it: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            TlsSetupError(format!(
                "--cert {cert_shown}: not a PEM certificate chain: {e}"
            ))
        })?;
    if chain.is_empty() {
        return Err(TlsSetupError(format!(
            "--cert {cert_shown}: no certificate found; expected PEM (-----BEGIN CERTIFICATE-----)"
        )));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        TlsSetupError(format!(
            "--key {key_shown}: not a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC): {e}"
        ))
    })?;
    match CertifiedKey::from_der(chain, key_der, provider) {
        Ok(certified) => Ok(Arc::new(certified)),
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsSetupError(format!(
            "--key {key_shown} does not match the certificate of --cert {cert_shown}"
        ))),
        Err(e) => Err(TlsSetupError(format!(
            "--key {key_shown}: unusable with --cert {cert_shown}: {e}"
        ))),
    }
}

/// Answers a server's request for a client certificate with the one of
/// `--cert` (or none), and remembers that the server asked.
#[derive(Debug)]
pub(crate) struct ClientAuth {
    pub(crate) key: Option<Arc<CertifiedKey>>,
    /// The server asked for a client certificate, on some connection.
    pub(crate) asked: AtomicBool,
}

impl ClientAuth {
    pub(crate) fn new(key: Option<Arc<CertifiedKey>>) -> Self {
        Self {
            key,
            asked: AtomicBool::new(false),
        }
    }
}

impl ResolvesClientCert for ClientAuth {
    fn resolve(
        &self,
        _acceptable_issuers: &[&[u8]],
        _schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// A TLS failure that will fail every connection alike, so the run ends at
/// once with this message instead of counting thousands of copies; `None`
/// for failures of one connection. `client_cert` says whether `--cert` was
/// given.
pub(crate) fn fatal_message(e: &rustls::Error, host: &str, client_cert: bool) -> Option<String> {
    use AlertDescription as A;
    let reason = match e {
        rustls::Error::InvalidCertificate(c) => certificate_reason(c, host),
        rustls::Error::AlertReceived(A::CertificateRequired) => {
            return Some(format!(
                "the server {host} refused the TLS handshake: it requires a client certificate; \
                 pass --cert FILE and --key FILE"
            ));
        }
        rustls::Error::AlertReceived(
            alert @ (A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied),
        ) => {
            return Some(if client_cert {
                format!(
                    "the server {host} rejected the TLS client certificate of --cert (alert: {alert:?})"
                )
            } else {
                format!(
                    "the server {host} refused the TLS handshake (alert: {alert:?}); it may require a client \
                     certificate: pass --cert FILE and --key FILE"
                )
            });
        }
        _ => return None,
    };
    // Trusting another CA mends an unknown issuer; it cannot mend a
    // certificate that is out of date, for another name, or for clients.
    let trust_helps = !matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. }
                | CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. }
                | CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. }
                | CertificateError::Revoked
        )
    );
    Some(match trust_helps {
        true => format!(
            "the TLS certificate of {host} was rejected: {reason}; pass --cacert FILE to trust the CA that signed \
             it, or --insecure to skip verification"
        ),
        false => format!(
            "the TLS certificate of {host} was rejected: {reason}; the server needs a certificate that is valid \
             now and for this name, or --insecure skips verification"
        ),
    })
}

/// Why the server's certificate was refused, in words.
fn certificate_reason(c: &CertificateError, host: &str) -> String {
    match c {
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
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "its extended key usage does not allow a TLS server (no serverAuth)".to_string()
        }
        other => other_reason(other),
    }
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
        // Its extended key usage and the name come after, so check them here.
        if matches!(webpki_error(c), Some(webpki::Error::CaUsedAsEndEntity))
            && self.is_pinned(end_entity)
        {
            let cert = ParsedCertificate::try_from(end_entity)?;
            if !serves_tls(end_entity).ok_or(CertificateError::BadEncoding)? {
                return Err(CertificateError::InvalidPurpose.into());
            }
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

/// Whether the certificate `der` may be a TLS server's, as webpki rules for
/// the server's own: with no extended key usage extension, or one that
/// lists serverAuth. `None` if the DER is not a certificate's.
fn serves_tls(der: &[u8]) -> Option<bool> {
    const EXTENSIONS: u8 = 0xa3; // [3] EXPLICIT, in the TBSCertificate
    const EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25]; // 2.5.29.37
    const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    let (_, certificate, _) = der_element(der)?;
    let (_, mut tbs, _) = der_element(certificate)?;
    while !tbs.is_empty() {
        let (tag, field, rest) = der_element(tbs)?;
        tbs = rest;
        if tag != EXTENSIONS {
            continue;
        }
        let (_, mut extensions, _) = der_element(field)?;
        while !extensions.is_empty() {
            let (_, extension, rest) = der_element(extensions)?;
            extensions = rest;
            let (_, id, fields) = der_element(extension)?;
            if id != EXTENDED_KEY_USAGE {
                continue;
            }
            // `critical` (a BOOLEAN) may come before the OCTET STRING.
            let (tag, mut value, rest) = der_element(fields)?;
            if tag == 0x01 {
                (_, value, _) = der_element(rest)?;
            }
            let (_, mut purposes, _) = der_element(value)?;
            while !purposes.is_empty() {
                let (_, purpose, rest) = der_element(purposes)?;
                if purpose == SERVER_AUTH {
                    return Some(true);
                }
                purposes = rest;
            }
            return Some(false);
        }
    }
    Some(true)
}

/// The DER element at the start of `der`: its tag, its contents and what
/// follows it.
fn der_element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len, rest) = rest.split_at(n);
        (len.iter().fold(0, |l, &b| l << 8 | usize::from(b)), rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
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
        let message = fatal_message(&verify(&cert, &cert), "localhost", false).unwrap();
        assert!(
            message.contains("it is a CA certificate used as the server's own"),
            "{message}"
        );
    }

    #[test]
    fn a_pinned_ca_certificate_must_allow_a_tls_server() {
        use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verify_pinned = |purposes| {
            let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.extended_key_usages = purposes;
            let key = KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap().der().clone();
            let mut roots = RootCertStore::empty();
            roots.add(cert.clone()).unwrap();
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .unwrap();
            let pinned = RootsOrPinned {
                webpki,
                pinned: vec![cert.clone()],
            };
            let name = ServerName::try_from("localhost").unwrap();
            pinned
                .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
                .map(drop)
        };
        assert!(verify_pinned(vec![]).is_ok());
        assert!(verify_pinned(vec![ClientAuth, ServerAuth]).is_ok());
        let refused = verify_pinned(vec![ClientAuth]).unwrap_err();
        let message = fatal_message(&refused, "localhost", false).unwrap();
        assert!(message.contains("does not allow a TLS server"), "{message}");
    }

    #[test]
    fn certificate_errors_are_named() {
        let root = self_signed("ca", true);
        let named = |end_entity: &CertificateDer<'_>| {
            fatal_message(&verify(&root, end_entity), "localhost", false).unwrap()
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
        assert_eq!(
            fatal_message(&rustls::Error::DecryptError, "h", false),
            None
        );
    }
}
