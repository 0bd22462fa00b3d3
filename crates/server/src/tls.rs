//! The server's TLS identity: a certificate made at start (rcgen) for the names the server
//! answers to, its private key (which never leaves this module: not printed, not stored), and
//! the rustls configuration that offers HTTP/2 and HTTP/1.1 by ALPN. Clients that know the
//! certificate (Duplex's own, given it at start) pin it; others compare its SHA-256
//! fingerprint, which `duplex serve`, the app and the LAN banner show.

use duplex_model::certificate::fingerprint;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// ALPN protocols the server offers, most preferred first.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// How long a generated certificate is valid: under the 14 days browsers allow a certificate
/// they accept by its SHA-256 (WebTransport's `serverCertificateHashes`).
pub const VALIDITY: time::Duration = time::Duration::days(13);

/// A certificate and its key. `Debug` shows the fingerprint only.
#[derive(Clone)]
pub struct TlsIdentity {
    cert: CertificateDer<'static>,
    config: Arc<rustls::ServerConfig>,
    fingerprint: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").field("sha256", &self.fingerprint).finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A new self-signed certificate (ECDSA P-256) for `names`: DNS names and IP addresses,
    /// valid from an hour ago (clocks differ) for [`VALIDITY`]: what browsers take by its hash
    /// (`serverCertificateHashes`) for WebTransport.
    pub fn generate(names: &[String]) -> Result<TlsIdentity, String> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| format!("cannot make a TLS key: {e}"))?;
        let mut params = rcgen::CertificateParams::new(names.to_vec())
            .map_err(|e| format!("cannot make a TLS certificate for {names:?}: {e}"))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, "Duplex echo server");
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = params.not_before + VALIDITY;
        let cert = params.self_signed(&key).map_err(|e| format!("cannot sign the TLS certificate: {e}"))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Self::from_parts(cert.der().clone(), key)
    }

    /// An identity from a certificate and key made elsewhere (tests make expired ones).
    pub fn from_parts(
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsIdentity, String> {
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_single_cert(vec![cert.clone()], key)
                .map_err(|e| format!("unusable TLS certificate or key: {e}"))?;
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        let fingerprint = fingerprint(&cert);
        Ok(TlsIdentity { cert, config: Arc::new(config), fingerprint })
    }

    /// The certificate (DER), for clients to pin.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// SHA-256 of the certificate, as browsers show it: `AB:CD:…`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The same certificate for QUIC: ALPN `h3`, and 0-RTT data taken (its replay risk is an
    /// echo's: harmless, and what a resumed client measures).
    pub(crate) fn quic_config(&self) -> rustls::ServerConfig {
        let mut config = (*self.config).clone();
        config.alpn_protocols = vec![b"h3".to_vec()];
        config.max_early_data_size = u32::MAX;
        config
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_identity_has_a_fingerprint_and_never_shows_its_key() {
        let id = TlsIdentity::generate(&["localhost".into(), "127.0.0.1".into()]).expect("identity");
        assert_eq!(id.fingerprint().len(), 32 * 3 - 1);
        assert_eq!(id.fingerprint(), fingerprint(id.certificate()));
        let shown = format!("{id:?}");
        assert!(shown.contains(id.fingerprint()) && !shown.contains("PRIVATE"), "{shown}");
        let other = TlsIdentity::generate(&["localhost".into()]).expect("identity");
        assert_ne!(id.fingerprint(), other.fingerprint());
    }

    /// Chromium's rules for a certificate accepted by its hash: ECDSA P-256, valid at most 14
    /// days, and valid now.
    #[test]
    fn a_new_certificate_fits_webtransport_certificate_hashes() {
        let id = TlsIdentity::generate(&["localhost".into()]).expect("identity");
        let (_, cert) = x509_parser::parse_x509_certificate(id.certificate()).expect("parse");
        let validity = cert.validity();
        let days = (validity.not_after.timestamp() - validity.not_before.timestamp()) as f64 / 86_400.0;
        assert!(days <= 14.0 && days > 12.0, "valid for {days} days");
        assert!(validity.is_valid(), "{validity:?}");
        assert_eq!(cert.public_key().algorithm.algorithm.to_id_string(), "1.2.840.10045.2.1", "an EC key");
        let curve = cert.public_key().algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        assert_eq!(curve.map(|c| c.to_id_string()).as_deref(), Some("1.2.840.10045.3.1.7"), "P-256");
    }
}
