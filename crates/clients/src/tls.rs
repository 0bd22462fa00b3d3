//! TLS for the native clients (rustls with ring): how a client decides to trust a server
//! ([`Trust`]), a TLS connection over a byte-counting socket ([`connect`]), and what each
//! handshake negotiated ([`Handshake`]), for the report.
//!
//! - The embedded server's certificate is made at start; clients pin exactly it.
//! - Remote servers are verified with the platform's trust store (rustls-platform-verifier),
//!   optionally with the certificates of a file (`--ca-cert`): a private CA's, or, as curl and
//!   Python take it, the server's own (a self-signed certificate made as a CA by the usual
//!   `openssl req -x509` one-liner is trusted for its own names).
//! - `--insecure` verifies nothing; every report of such a run says so.
//! - Every refusal says in words what was wrong and what to do, with the certificate's SHA-256
//!   (for `--fingerprint`) and the file given.

use duplex_model::certificate::fingerprint;
use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;

use super::ClientError;
use super::counting::{ByteCounter, CountingStream};

pub type TlsStream = tokio_rustls::client::TlsStream<CountingStream<TcpStream>>;

/// How a client trusts a server's certificate.
#[derive(Clone, PartialEq)]
pub enum Trust {
    /// Exactly this certificate: the embedded server's, made at its start.
    Pinned(CertificateDer<'static>),
    /// The certificate with this SHA-256 fingerprint (`--fingerprint`, as `duplex serve`
    /// prints it): another machine's Duplex server.
    Fingerprint(String),
    /// The platform's trust store, and the certificates of a file (`--ca-cert`): a private CA's,
    /// or the server's own.
    Platform { extra_roots: Vec<CertificateDer<'static>>, ca_file: Option<String> },
    /// Nothing is verified (`--insecure`).
    Insecure,
}

impl Default for Trust {
    fn default() -> Self {
        Trust::Platform { extra_roots: Vec::new(), ca_file: None }
    }
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Trust {
    /// The certificates of a PEM file (a private CA's, or the server's own), added to the
    /// platform's trust store.
    pub fn with_ca_file(path: &std::path::Path) -> Result<Trust, String> {
        use rustls::pki_types::pem::PemObject;
        let shown = path.display();
        let roots: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read CA certificates from {shown}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{shown} is not a PEM certificate file: {e}"))?;
        if roots.is_empty() {
            return Err(format!("{shown} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)"));
        }
        Ok(Trust::Platform { extra_roots: roots, ca_file: Some(shown.to_string()) })
    }

    /// As a person writes it in the app: a SHA-256 fingerprint, or the path of a PEM file; empty
    /// is the platform's trust store.
    pub fn from_words(text: &str) -> Result<Trust, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Trust::default());
        }
        let hex = text.chars().filter(|c| *c != ':').count();
        if hex == 64 && text.chars().all(|c| c == ':' || c.is_ascii_hexdigit()) {
            return Trust::with_fingerprint(text);
        }
        Trust::with_ca_file(std::path::Path::new(text))
    }

    /// Trust in one certificate by its SHA-256 fingerprint: 64 hex digits, with or without
    /// colons, in either case.
    pub fn with_fingerprint(text: &str) -> Result<Trust, String> {
        let hex: String = text.chars().filter(|c| *c != ':').collect::<String>().to_ascii_uppercase();
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "{text:?} is not a SHA-256 fingerprint (64 hex digits, as duplex serve prints it)"
            ));
        }
        let pairs: Vec<&str> = (0..32).map(|i| &hex[2 * i..2 * i + 2]).collect();
        Ok(Trust::Fingerprint(pairs.join(":")))
    }

    /// How the report names it.
    pub fn describe(&self) -> String {
        match self {
            Trust::Pinned(cert) => format!("pinned certificate, SHA-256 {}", fingerprint(cert)),
            Trust::Fingerprint(f) => format!("pinned certificate, SHA-256 {f}"),
            Trust::Platform { extra_roots, .. } if extra_roots.is_empty() => {
                "the platform's trust store".into()
            }
            Trust::Platform { extra_roots, .. } => {
                format!("the platform's trust store and {} private CA certificate(s)", extra_roots.len())
            }
            Trust::Insecure => {
                "NOT VERIFIED (--insecure): anyone on the path could read and change the traffic".into()
            }
        }
    }

    pub fn is_insecure(&self) -> bool {
        *self == Trust::Insecure
    }

    /// A client configuration offering `alpn` (most preferred first), with session resumption.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let verifier: Arc<dyn ServerCertVerifier> = match self {
            Trust::Pinned(cert) => Arc::new(Pinned { fingerprint: Some(fingerprint(cert)), algorithms }),
            Trust::Fingerprint(f) => Arc::new(Pinned { fingerprint: Some(f.clone()), algorithms }),
            Trust::Insecure => Arc::new(Pinned { fingerprint: None, algorithms }),
            Trust::Platform { extra_roots, ca_file } => {
                let platform = rustls_platform_verifier::Verifier::new(provider.clone())
                    .map_err(|e| format!("cannot read the platform's trust store: {e}"))?;
                let file = match ca_file {
                    Some(path) => Some(CaFile::new(path, extra_roots, provider.clone())?),
                    None => None,
                };
                Arc::new(Worded { platform: Arc::new(platform), file })
            }
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

/// Accepts exactly one certificate, by its SHA-256 (or, without one, any: `--insecure`);
/// signatures are still checked, so the server must hold the certificate's key.
#[derive(Debug)]
struct Pinned {
    /// SHA-256 of the one certificate accepted; None: any (`--insecure`).
    fingerprint: Option<String>,
    algorithms: WebPkiSupportedAlgorithms,
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
        match &self.fingerprint {
            Some(expected) if *expected != got => {
                Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
                    Arc::new(CertificateChanged { expected: expected.clone(), got }),
                ))))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
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

#[derive(Debug)]
struct CertificateChanged {
    expected: String,
    got: String,
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
struct CaFile {
    path: String,
    certificates: Vec<CertificateDer<'static>>,
    verifier: Arc<rustls::client::WebPkiServerVerifier>,
}

impl CaFile {
    fn new(
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
struct Worded {
    platform: Arc<dyn ServerCertVerifier>,
    file: Option<CaFile>,
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

#[derive(Debug)]
struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// What one TLS handshake negotiated, and what it cost on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Handshake {
    pub version: String,
    pub cipher_suite: String,
    /// The ALPN protocol agreed (`h2`, `http/1.1`), if any.
    pub alpn: Option<String>,
    /// Whether the connection resumed an earlier session (no certificate exchanged).
    pub resumed: bool,
    pub bytes_out: u64,
    pub bytes_in: u64,
}

/// A new TCP connection to `authority` with Nagle off, counting its bytes, and a TLS
/// handshake over it for `host`. The counter then holds the handshake's bytes.
pub async fn connect(
    authority: &str,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<(TlsStream, Arc<ByteCounter>, Handshake), ClientError> {
    let connect_err = |reason: String| ClientError::Connect { url: authority.to_owned(), reason };
    let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_owned())
        .map_err(|e| connect_err(format!("{host:?} cannot be a TLS server name: {e}")))?;
    let tcp = TcpStream::connect(authority).await.map_err(|e| connect_err(e.to_string()))?;
    tcp.set_nodelay(true).map_err(|e| connect_err(e.to_string()))?;
    let (stream, counter) = CountingStream::new(tcp);
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| connect_err(format!("TLS handshake failed: {}", tls_reason(&e))))?;
    let (bytes_in, bytes_out) = counter.totals();
    let conn = tls.get_ref().1;
    let handshake = Handshake {
        version: match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
            other => format!("{other:?}"),
        },
        cipher_suite: conn
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .unwrap_or("?")
            .to_owned(),
        alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
        resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
        bytes_out,
        bytes_in,
    };
    Ok((tls, counter, handshake))
}

/// A handshake error in words a user can act on (certificate refusals are worded by the
/// verifiers above).
fn tls_reason(e: &std::io::Error) -> String {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) => other.to_string(),
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}
