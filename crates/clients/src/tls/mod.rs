//! TLS for the native clients (rustls with ring): how a client decides to trust a server
//! ([`Trust`]), a TLS connection over a byte-counting socket ([`connect`]), and what each
//! handshake negotiated ([`Handshake`]), for the report.
//!
//! - The embedded server's certificate is made at start; clients pin exactly it, and the ones
//!   it renews it to while they run ([`Renewing`]).
//! - Remote servers are verified with the platform's trust store (rustls-platform-verifier),
//!   optionally with the certificates of a file (`--ca-cert`): a private CA's, or, as curl and
//!   Python take it, the server's own (a self-signed certificate made as a CA by the usual
//!   `openssl req -x509` one-liner is trusted for its own names).
//! - `--insecure` verifies nothing; every report of such a run says so.
//! - Every refusal says in words what was wrong and what to do, with the certificate's SHA-256
//!   (for `--fingerprint`) and the file given.

mod verify;

use verify::{CaFile, Expect, Pinned, Worded};

use duplex_model::certificate::fingerprint;
use std::fmt;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use super::ClientError;
use super::counting::{ByteCounter, CountingStream};

pub type TlsStream = tokio_rustls::client::TlsStream<CountingStream<TcpStream>>;

/// How a client trusts a server's certificate.
#[derive(Clone, PartialEq)]
pub enum Trust {
    /// Exactly this certificate.
    Pinned(CertificateDer<'static>),
    /// The certificate of a server this process runs, as it renews it ([`Renewing`]).
    Renewing(Renewing),
    /// The certificate with this SHA-256 fingerprint (`--fingerprint`, as `duplex serve`
    /// prints it): another machine's Duplex server.
    Fingerprint(String),
    /// The platform's trust store, and the certificates of a file (`--ca-cert`): a private CA's,
    /// or the server's own.
    Platform { extra_roots: Vec<CertificateDer<'static>>, ca_file: Option<String> },
    /// Nothing is verified (`--insecure`).
    Insecure,
}

/// The certificate of a server in this process, followed as it renews it: the one it had when
/// the trust was made, and the one it has now (by their SHA-256, as the server announces each),
/// so that a run spanning a renewal opens its later connections as its first.
#[derive(Clone, Debug)]
pub struct Renewing {
    first: String,
    now: tokio::sync::watch::Receiver<String>,
}

impl Renewing {
    /// From the server's announcements of its certificates' SHA-256, the current one first.
    pub fn new(now: tokio::sync::watch::Receiver<String>) -> Renewing {
        let first = now.borrow().clone();
        Renewing { first, now }
    }

    /// Whether `sha256` is the first certificate's or the current one's; the current one's.
    fn accepts(&self, sha256: &str) -> (bool, String) {
        let now = self.now.borrow().clone();
        (sha256 == self.first || sha256 == now, now)
    }
}

impl PartialEq for Renewing {
    fn eq(&self, other: &Renewing) -> bool {
        self.first == other.first && *self.now.borrow() == *other.now.borrow()
    }
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
            Trust::Renewing(r) => {
                format!("pinned certificate, SHA-256 {}, and the ones its server renews it to", r.first)
            }
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
            Trust::Pinned(cert) => {
                Arc::new(Pinned { expect: Expect::Exactly(fingerprint(cert)), algorithms })
            }
            Trust::Renewing(r) => Arc::new(Pinned { expect: Expect::Renewing(r.clone()), algorithms }),
            Trust::Fingerprint(f) => Arc::new(Pinned { expect: Expect::Exactly(f.clone()), algorithms }),
            Trust::Insecure => Arc::new(Pinned { expect: Expect::Any, algorithms }),
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

/// What one TLS handshake negotiated, and what it cost on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Handshake {
    pub version: String,
    pub cipher_suite: String,
    /// The ALPN protocol agreed (`h2`, `http/1.1`), if any.
    pub alpn: Option<String>,
    /// Whether the connection resumed an earlier session (no certificate exchanged).
    pub resumed: bool,
    /// Whether its first request went out before the handshake ended, as 0-RTT data, and the
    /// server took it (QUIC's `h3-new`; never over TCP here).
    pub early_data: bool,
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
        early_data: false,
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
