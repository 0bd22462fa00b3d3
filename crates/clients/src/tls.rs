//! TLS for the native clients (rustls with ring): how a client decides to trust a server
//! ([`Trust`]), a TLS connection over a byte-counting socket ([`connect`]), and what each
//! handshake negotiated ([`Handshake`]), for the report.
//!
//! - The embedded server's certificate is made at start; clients pin exactly it.
//! - Remote servers are verified with the platform's trust store (rustls-platform-verifier),
//!   optionally with a private CA from a file (`--ca-cert`).
//! - `--insecure` verifies nothing; every report of such a run says so.

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
    /// The platform's trust store, and these private CA certificates (`--ca-cert`).
    Platform { extra_roots: Vec<CertificateDer<'static>> },
    /// Nothing is verified (`--insecure`).
    Insecure,
}

impl Default for Trust {
    fn default() -> Self {
        Trust::Platform { extra_roots: Vec::new() }
    }
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Trust {
    /// The CA certificates of a PEM file, added to the platform's trust store.
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
        Ok(Trust::Platform { extra_roots: roots })
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
            Trust::Platform { extra_roots } if extra_roots.is_empty() => "the platform's trust store".into(),
            Trust::Platform { extra_roots } => {
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
            Trust::Platform { extra_roots } => {
                let platform = rustls_platform_verifier::Verifier::new(provider.clone())
                    .map_err(|e| format!("cannot read the platform's trust store: {e}"))?;
                if extra_roots.is_empty() {
                    Arc::new(platform)
                } else {
                    let mut roots = rustls::RootCertStore::empty();
                    for root in extra_roots {
                        roots.add(root.clone()).map_err(|e| format!("unusable CA certificate: {e}"))?;
                    }
                    let private = rustls::client::WebPkiServerVerifier::builder_with_provider(
                        Arc::new(roots),
                        provider.clone(),
                    )
                    .build()
                    .map_err(|e| e.to_string())?;
                    Arc::new(EitherOf { first: private, then: Arc::new(platform) })
                }
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

/// SHA-256 of a certificate, upper-case hex pairs joined by colons (as browsers show it).
pub fn fingerprint(cert: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
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

/// Trusts what the private CA verifies, else what the platform does. When the private CA knows
/// the issuer but refuses the certificate (expired, another name), its reason is the one given.
#[derive(Debug)]
struct EitherOf {
    first: Arc<dyn ServerCertVerifier>,
    then: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for EitherOf {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.first.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
                self.then.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.first.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.first.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.first.supported_verify_schemes()
    }
}

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

/// A handshake error in words a user can act on.
fn tls_reason(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(
            e @ (rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }),
        )) => format!("the server's certificate has expired ({e})"),
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            "the server's certificate is not signed by an authority this device trusts (self-signed? \
             give its CA with --ca-cert FILE)"
                .into()
        }
        Some(rustls::Error::InvalidCertificate(
            e @ (rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. }),
        )) => format!("the server's certificate is not valid for this host name ({e})"),
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) => other.to_string(),
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}
