//! The certificate verifiers behind [`super::Trust`]: one certificate pinned by its SHA-256, a
//! CA file beside the platform's store, and refusals worded for people.

use duplex_model::certificate::fingerprint;
use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Accepts exactly one certificate, by its SHA-256 (or, without one, any: `--insecure`);
/// signatures are still checked, so the server must hold the certificate's key.
#[derive(Debug)]
pub(super) struct Pinned {
    pub(super) expect: Expect,
    pub(super) algorithms: WebPkiSupportedAlgorithms,
}

/// Which certificates a pin accepts, by SHA-256.
#[derive(Debug)]
pub(super) enum Expect {
    /// Any (`--insecure`).
    Any,
    Exactly(String),
    /// A server's in this process, as it renews it.
    Renewing(super::Renewing),
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = fingerprint(end_entity);
        let (accepted, expected) = match &self.expect {
            Expect::Any => return Ok(ServerCertVerified::assertion()),
            Expect::Exactly(expected) => (*expected == got, expected.clone()),
            Expect::Renewing(renewing) => renewing.accepts(&got),
        };
        if accepted {
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(
            CertificateChanged { expected, got },
        )))))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

struct CertificateChanged {
    expected: String,
    got: String,
}

/// Its words (rustls shows a refusal by its Debug where QUIC carries it as text).
impl fmt::Debug for CertificateChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for CertificateChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's certificate is not the pinned one (expected SHA-256 {}, got {})",
            self.expected, self.got
        )
    }
}

impl std::error::Error for CertificateChanged {}

/// The certificates of a `--ca-cert` file, and a verifier that takes them as roots.
#[derive(Debug)]
pub(super) struct CaFile {
    path: String,
    certificates: Vec<CertificateDer<'static>>,
    verifier: Arc<rustls::client::WebPkiServerVerifier>,
}

impl CaFile {
    pub(super) fn new(
        path: &str,
        certificates: &[CertificateDer<'static>],
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<CaFile, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates {
            roots.add(cert.clone()).map_err(|e| format!("{path}: unusable certificate: {e}"))?;
        }
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("{path}: {e}"))?;
        Ok(CaFile { path: path.to_owned(), certificates: certificates.to_vec(), verifier })
    }

    fn holds(&self, cert: &CertificateDer<'_>) -> bool {
        self.certificates.iter().any(|c| c.as_ref() == cert.as_ref())
    }
}

/// Trusts what the `--ca-cert` file's certificates verify, then what the platform's trust store
/// does; and the file's own certificate when the server presents exactly it, CA flag or not (as
/// curl and Python do: the user meant "trust this certificate"). Every refusal in words.
#[derive(Debug)]
pub(super) struct Worded {
    pub(super) platform: Arc<dyn ServerCertVerifier>,
    pub(super) file: Option<CaFile>,
}

impl Worded {
    fn verifier(&self) -> &dyn ServerCertVerifier {
        match &self.file {
            Some(file) => file.verifier.as_ref(),
            None => self.platform.as_ref(),
        }
    }
}

impl ServerCertVerifier for Worded {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let words = |e: rustls::Error| refusal(e, end_entity, server_name, self.file.as_ref());
        if let Some(file) = &self.file {
            match file.verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Ok(verified) => return Ok(verified),
                // The file holds the server's own certificate, made as a CA. Its dates were
                // checked before its CA flag (webpki checks validity first); its names here.
                Err(e) if is_ca_used_as_end_entity(&e) && file.holds(end_entity) => {
                    let parsed = rustls::server::ParsedCertificate::try_from(end_entity).map_err(words)?;
                    rustls::client::verify_server_name(&parsed, server_name).map_err(words)?;
                    return Ok(ServerCertVerified::assertion());
                }
                // Signed by nobody in the file: perhaps by a CA the platform trusts.
                Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {}
                Err(other) => return Err(words(other)),
            }
        }
        self.platform.verify_server_cert(end_entity, intermediates, server_name, ocsp, now).map_err(words)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.verifier().supported_verify_schemes()
    }
}

/// webpki's refusal of a CA certificate (CA:TRUE) presented as a server's own, which rustls
/// passes on as `Other`.
fn is_ca_used_as_end_entity(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))
        if matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity)))
}

/// A refusal in words: what was wrong with the certificate, its SHA-256, the file given (if
/// any), and what to do.
fn refusal(
    error: rustls::Error,
    cert: &CertificateDer<'_>,
    name: &ServerName<'_>,
    file: Option<&CaFile>,
) -> rustls::Error {
    use rustls::CertificateError as E;
    let sha = fingerprint(cert);
    let host = name.to_str();
    // The command line's flags; the app's Trust field takes the same.
    let pin = format!("to trust exactly this certificate, give --fingerprint {sha} (the app: Trust)");
    let given = file.map_or_else(String::new, |f| format!(" (--ca-cert {})", f.path));
    let why = match &error {
        rustls::Error::InvalidCertificate(e) => match e {
            E::UnknownIssuer => match file {
                Some(f) => format!(
                    "the server's certificate (SHA-256 {sha}) is signed neither by a certificate in {} nor by an authority this device trusts: give the CA that signed it, or the server's own certificate, with --ca-cert FILE; or {pin}",
                    f.path
                ),
                None => format!(
                    "the server's certificate (SHA-256 {sha}) is not signed by an authority this device trusts (self-signed?): give its CA, or the certificate itself, with --ca-cert FILE; or {pin}"
                ),
            },
            _ if is_ca_used_as_end_entity(&error) => format!(
                "the server's certificate (SHA-256 {sha}) is a CA certificate (CA:TRUE) serving as the server's own, and it is not the one given{given}: give that very certificate with --ca-cert, or {pin}"
            ),
            E::NotValidForName => format!(
                "the server's certificate (SHA-256 {sha}) is not valid for {host}{given}: connect by a name it lists, or make it for {host} (openssl req … -addext subjectAltName=DNS:{host} or IP:{host})"
            ),
            E::NotValidForNameContext { presented, .. } => format!(
                "the server's certificate (SHA-256 {sha}) is for {}, not {host}{given}: connect by one of those names, or make it for {host} (openssl req … -addext subjectAltName=DNS:{host} or IP:{host})",
                if presented.is_empty() {
                    "no name".to_owned()
                } else {
                    presented.iter().map(|n| bare_name(n)).collect::<Vec<_>>().join(", ")
                }
            ),
            E::Expired | E::ExpiredContext { .. } => format!(
                "the server's certificate (SHA-256 {sha}) has expired{given} ({e}): the server needs a new one"
            ),
            E::NotValidYet | E::NotValidYetContext { .. } => format!(
                "the server's certificate (SHA-256 {sha}) is not valid yet{given} ({e}): check this device's clock, or the certificate's start date"
            ),
            E::Revoked => format!("the server's certificate (SHA-256 {sha}) has been revoked{given}"),
            E::InvalidPurpose | E::InvalidPurposeContext { .. } => format!(
                "the server's certificate (SHA-256 {sha}) is not for TLS servers{given} ({e}): make it with extendedKeyUsage serverAuth, or {pin}"
            ),
            E::Other(other) => other.to_string(),
            other => format!("the server's certificate (SHA-256 {sha}) is refused{given}: {other}; {pin}"),
        },
        other => return other.clone(),
    };
    rustls::Error::InvalidCertificate(E::Other(rustls::OtherError(Arc::new(Refusal(why)))))
}

/// `localhost` of webpki's `DnsName("localhost")`, `1.2.3.4` of `IpAddress(1.2.3.4)`.
fn bare_name(presented: &str) -> &str {
    match presented.split_once('(') {
        Some((_, inner)) => inner.trim_end_matches(')').trim_matches('"'),
        None => presented,
    }
}

struct Refusal(String);

/// Its words, as [`CertificateChanged`]'s.
impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}
