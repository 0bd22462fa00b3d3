//! The server's TLS identity: a certificate made at start (rcgen) for the names the server
//! answers to, its private key (which never leaves this module: not printed, not stored), and
//! the rustls configuration that offers HTTP/2 and HTTP/1.1 by ALPN (and `h3` over QUIC).
//! Clients that know the certificate (Duplex's own, given it at start) pin it; others compare
//! its SHA-256 fingerprint, which `duplex serve`, the app and the LAN banner show.
//!
//! A certificate made here is valid 13 days (what browsers take by its hash for WebTransport),
//! so a server that runs longer renews it a day before it expires: TCP and QUIC handshakes from
//! then on get the new one, and [`TlsIdentity::renewals`] says so with its SHA-256.

use duplex_model::certificate::fingerprint;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// ALPN protocols the server offers, most preferred first.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// How long a generated certificate is valid: under the 14 days browsers allow a certificate
/// they accept by its SHA-256 (WebTransport's `serverCertificateHashes`).
pub const VALIDITY: time::Duration = time::Duration::days(13);

/// How long before a generated certificate expires it is renewed (at most half its life).
pub const RENEW_BEFORE: time::Duration = time::Duration::days(1);

/// The certificate handshakes get now.
struct Current {
    key: Arc<CertifiedKey>,
    fingerprint: String,
    /// When to renew it; None for a certificate made elsewhere (never renewed here).
    renew_at: Option<SystemTime>,
}

/// Hands every handshake the current certificate.
struct Resolver(RwLock<Arc<Current>>);

impl Resolver {
    fn current(&self) -> Arc<Current> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").field("sha256", &self.current().fingerprint).finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current().key.clone())
    }
}

/// What a made certificate is made again from.
#[derive(Clone)]
struct Recipe {
    names: Vec<String>,
    /// From its making to its end.
    lifetime: time::Duration,
}

/// A certificate and its key, renewed before it expires when made here. `Debug` shows the
/// fingerprint only.
#[derive(Clone)]
pub struct TlsIdentity {
    resolver: Arc<Resolver>,
    config: Arc<rustls::ServerConfig>,
    recipe: Option<Recipe>,
    renewed: Arc<tokio::sync::watch::Sender<String>>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").field("sha256", &self.fingerprint()).finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A new self-signed certificate (ECDSA P-256) for `names`: DNS names and IP addresses,
    /// valid from an hour ago (clocks differ) for [`VALIDITY`]: what browsers take by its hash
    /// (`serverCertificateHashes`) for WebTransport. Renewed a day before it expires.
    pub fn generate(names: &[String]) -> Result<TlsIdentity, String> {
        Self::with_recipe(Recipe { names: names.to_vec(), lifetime: VALIDITY - time::Duration::hours(1) })
    }

    /// As [`TlsIdentity::generate`], expiring `lifetime` from now (tests renew in seconds).
    pub fn generate_for(names: &[String], lifetime: std::time::Duration) -> Result<TlsIdentity, String> {
        let lifetime = time::Duration::try_from(lifetime).map_err(|e| e.to_string())?;
        Self::with_recipe(Recipe { names: names.to_vec(), lifetime })
    }

    fn with_recipe(recipe: Recipe) -> Result<TlsIdentity, String> {
        let current = made(&recipe)?;
        Self::with(current, Some(recipe))
    }

    /// An identity from a certificate and key made elsewhere (tests make expired ones); never
    /// renewed here.
    pub fn from_parts(
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsIdentity, String> {
        Self::with(current_of(cert, &key, None)?, None)
    }

    fn with(current: Current, recipe: Option<Recipe>) -> Result<TlsIdentity, String> {
        let (renewed, _) = tokio::sync::watch::channel(current.fingerprint.clone());
        let resolver = Arc::new(Resolver(RwLock::new(Arc::new(current))));
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_cert_resolver(resolver.clone());
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(TlsIdentity { resolver, config: Arc::new(config), recipe, renewed: Arc::new(renewed) })
    }

    /// The certificate (DER) handshakes get now, for clients to pin.
    pub fn certificate(&self) -> CertificateDer<'static> {
        self.resolver.current().key.cert[0].clone()
    }

    /// SHA-256 of the current certificate, as browsers show it: `AB:CD:…`.
    pub fn fingerprint(&self) -> String {
        self.resolver.current().fingerprint.clone()
    }

    /// When the current certificate is renewed; None if it is not (made elsewhere).
    pub fn renews_at(&self) -> Option<SystemTime> {
        self.resolver.current().renew_at
    }

    /// Makes a new certificate for the same names and lifetime, which every handshake gets from
    /// now on; its SHA-256 goes to [`TlsIdentity::renewals`]. Connections made before keep theirs.
    pub fn renew(&self) -> Result<String, String> {
        let recipe = self.recipe.as_ref().ok_or("a certificate made elsewhere is not renewed here")?;
        let fresh = Arc::new(made(recipe)?);
        let sha = fresh.fingerprint.clone();
        *self.resolver.0.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.renewed.send_replace(sha.clone());
        Ok(sha)
    }

    /// The SHA-256 of each certificate made from now on (renewals), the current one first.
    pub fn renewals(&self) -> tokio::sync::watch::Receiver<String> {
        self.renewed.subscribe()
    }

    /// The same certificates for QUIC: ALPN `h3`, and 0-RTT data taken (a resumed client's
    /// request in its first flight); only the echo is answered before the handshake ends, since
    /// early data can be replayed (see the QUIC server's `answers_now`).
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

/// A certificate made now from `recipe`, renewed at most a day (and at most half its life)
/// before it ends.
fn made(recipe: &Recipe) -> Result<Current, String> {
    let names = &recipe.names;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| format!("cannot make a TLS key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .map_err(|e| format!("cannot make a TLS certificate for {names:?}: {e}"))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "Duplex echo server");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + recipe.lifetime;
    let cert = params.self_signed(&key).map_err(|e| format!("cannot sign the TLS certificate: {e}"))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let lead = RENEW_BEFORE.min(recipe.lifetime / 2);
    let renew_at = SystemTime::from(params.not_after - lead);
    current_of(cert.der().clone(), &key, Some(renew_at))
}

fn current_of(
    cert: CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
    renew_at: Option<SystemTime>,
) -> Result<Current, String> {
    let signing = rustls::crypto::ring::sign::any_supported_type(key)
        .map_err(|e| format!("unusable TLS certificate or key: {e}"))?;
    let fingerprint = fingerprint(&cert);
    let key = CertifiedKey::new(vec![cert], signing);
    key.keys_match().map_err(|e| format!("unusable TLS certificate or key: {e}"))?;
    Ok(Current { key: Arc::new(key), fingerprint, renew_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_identity_has_a_fingerprint_and_never_shows_its_key() {
        let id = TlsIdentity::generate(&["localhost".into(), "127.0.0.1".into()]).expect("identity");
        assert_eq!(id.fingerprint().len(), 32 * 3 - 1);
        assert_eq!(id.fingerprint(), fingerprint(&id.certificate()));
        let shown = format!("{id:?}");
        assert!(shown.contains(&id.fingerprint()) && !shown.contains("PRIVATE"), "{shown}");
        let other = TlsIdentity::generate(&["localhost".into()]).expect("identity");
        assert_ne!(id.fingerprint(), other.fingerprint());
    }

    /// Chromium's rules for a certificate accepted by its hash: ECDSA P-256, valid at most 14
    /// days, and valid now.
    #[test]
    fn a_new_certificate_fits_webtransport_certificate_hashes() {
        let id = TlsIdentity::generate(&["localhost".into()]).expect("identity");
        let der = id.certificate();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("parse");
        let validity = cert.validity();
        let days = (validity.not_after.timestamp() - validity.not_before.timestamp()) as f64 / 86_400.0;
        assert!(days <= 14.0 && days > 12.0, "valid for {days} days");
        assert!(validity.is_valid(), "{validity:?}");
        assert_eq!(cert.public_key().algorithm.algorithm.to_id_string(), "1.2.840.10045.2.1", "an EC key");
        let curve = cert.public_key().algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        assert_eq!(curve.map(|c| c.to_id_string()).as_deref(), Some("1.2.840.10045.3.1.7"), "P-256");
    }

    /// A certificate made here is renewed before it ends: a new one (new key, new SHA-256),
    /// announced; one made elsewhere is not.
    #[test]
    fn a_made_certificate_is_renewed_and_the_renewal_announced() {
        let id = TlsIdentity::generate(&["localhost".into()]).expect("identity");
        let renew_at = id.renews_at().expect("renewed");
        let in_days = renew_at.duration_since(SystemTime::now()).expect("later").as_secs_f64() / 86_400.0;
        assert!((11.9..12.0).contains(&in_days), "renewed in {in_days} days");
        let (first, mut renewals) = (id.fingerprint(), id.renewals());
        let second = id.renew().expect("renewed");
        assert_ne!(first, second);
        assert_eq!(id.fingerprint(), second);
        assert_eq!(fingerprint(&id.certificate()), second);
        assert!(renewals.has_changed().expect("open"));
        assert_eq!(*renewals.borrow_and_update(), second);
        let short =
            TlsIdentity::generate_for(&["localhost".into()], std::time::Duration::from_secs(10)).expect("id");
        let lead = short.renews_at().expect("renewed").duration_since(SystemTime::now()).expect("later");
        assert!(lead.as_secs_f64() <= 5.0, "half its life at most: {lead:?}");
    }
}
