//! TLS, HTTP/2 and Server-Sent Events: the new transports through the real runner, what their
//! handshakes negotiated, and every way a certificate can be refused.

use std::io::Write;

use duplex_core::clients::{Client, ClientOptions, Endpoints, Transport, Trust};
use duplex_core::plan::Plan;
use duplex_core::record::{ClientKind, RunStatus};
use duplex_core::runner::Target;
use duplex_core::server::{ServerConfig, TlsIdentity, TlsSetting};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::util::{run_against, run_embedded, server, server_with, small_plan};

#[tokio::test]
async fn tls_transports_report_version_suite_alpn_and_resumption() {
    let plan = Plan {
        concurrency: 2,
        ..small_plan(&[Transport::Wss, Transport::Https, Transport::HttpsNew, Transport::H2])
    };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert!(record.samples.iter().all(|s| s.is_ok()), "{:?}", record.samples.iter().find(|s| !s.is_ok()));
    let tls =
        |t: Transport| record.tls.iter().find(|u| u.transport == t).unwrap_or_else(|| panic!("{t}: no TLS"));
    for t in [Transport::Wss, Transport::Https, Transport::HttpsNew, Transport::H2] {
        let u = tls(t);
        assert_eq!((u.client, u.version.as_str()), (ClientKind::Native, "TLS 1.3"), "{t}");
        assert!(u.cipher_suite.starts_with("TLS13_"), "{t}: {}", u.cipher_suite);
        assert!(u.verification.starts_with("pinned certificate, SHA-256 "), "{}", u.verification);
        assert!(u.handshake_bytes_in > 300, "{t}: the certificate crossed: {} B", u.handshake_bytes_in);
    }
    assert_eq!(tls(Transport::H2).alpn.as_deref(), Some("h2"));
    assert_eq!(tls(Transport::Https).alpn.as_deref(), Some("http/1.1"));
    // Two clients, one HTTP/2 connection; two keep-alive connections; a connection per call.
    assert_eq!(tls(Transport::H2).connections, 1);
    assert_eq!(tls(Transport::Https).connections, 2);
    let new = tls(Transport::HttpsNew);
    assert_eq!(new.connections, 2 * (2 + 2 * 20), "warm-up and recorded calls");
    assert!(
        new.resumed >= new.connections - 2,
        "a session ticket is used: {} of {}",
        new.resumed,
        new.connections
    );
    // A new connection's handshake is part of what its request costs.
    let mean_bytes = |t: Transport| {
        let s: Vec<_> = record.samples.iter().filter(|s| s.transport == t).collect();
        s.iter().map(|s| s.bytes_out + s.bytes_in).sum::<u64>() / s.len() as u64
    };
    assert!(
        mean_bytes(Transport::HttpsNew) > mean_bytes(Transport::Https) + 500,
        "https-new {} B vs https {} B",
        mean_bytes(Transport::HttpsNew),
        mean_bytes(Transport::Https)
    );
}

#[tokio::test]
async fn sse_delivers_the_same_events_as_websocket_push() {
    let record = run_embedded(small_plan(&[Transport::Sse, Transport::WsPush])).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let sse: Vec<_> = record.samples.iter().filter(|s| s.transport == Transport::Sse).collect();
    assert_eq!(sse.len(), 40);
    for s in &sse {
        assert!(s.is_ok() && s.server_time_unix_ns.is_some(), "{:?}", s.error);
        // id, data and the chunk's framing: a ~70-byte tick in ~100 bytes.
        assert!((60..200).contains(&s.bytes_in), "{} B", s.bytes_in);
    }
    // Events arrive in order: each one's creation time after the last.
    assert!(
        sse.windows(2).all(|w| w[1].server_time_unix_ns > w[0].server_time_unix_ns || w[1].set != w[0].set)
    );
}

fn identity_with(
    params: rcgen::CertificateParams,
    issuer: Option<&rcgen::Issuer<'_, rcgen::KeyPair>>,
) -> TlsIdentity {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = match issuer {
        Some(issuer) => params.signed_by(&key, issuer),
        None => params.self_signed(&key),
    }
    .expect("certificate");
    TlsIdentity::from_parts(
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .expect("identity")
}

/// A private CA: the trust a client has when given its PEM file (`--ca-cert`), and an issuer to
/// sign server certificates with.
fn private_ca() -> (Trust, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, "Duplex test CA");
    let cert = params.self_signed(&key).expect("CA certificate");
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(cert.pem().as_bytes()).expect("write");
    let trust = Trust::with_ca_file(file.path()).expect("a PEM CA file");
    (trust, rcgen::Issuer::new(params, key))
}

fn leaf(not_after_year: i32) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
    params
}

/// A server presenting `identity`, a certificate the test made.
async fn server_using(identity: TlsIdentity) -> duplex_core::server::Server {
    server_with(ServerConfig { tls: TlsSetting::Use(identity), ..ServerConfig::default() }).await
}

/// A certificate for this machine's names, made here, valid `secs` seconds: the server renews
/// it halfway through its life.
fn short_lived(secs: u64) -> TlsIdentity {
    let names = ["127.0.0.1".to_owned(), "localhost".to_owned()];
    TlsIdentity::generate_for(&names, std::time::Duration::from_secs(secs)).expect("identity")
}

async fn run_remote(identity: TlsIdentity, trust: Trust) -> duplex_core::record::RunRecord {
    let server = server_using(identity).await;
    let url = format!("https://{}", server.local_addr());
    let target = Target::remote(&url).expect("valid").trusting(trust);
    run_against(small_plan(&[Transport::Https]), target).await
}

#[tokio::test]
async fn a_private_ca_is_trusted_when_given_and_its_expired_certificates_are_not() {
    let (trust, issuer) = private_ca();

    let record = run_remote(identity_with(leaf(2999), Some(&issuer)), trust.clone()).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert!(
        record.tls[0].verification.contains("1 private CA certificate"),
        "{}",
        record.tls[0].verification
    );

    let record = run_remote(identity_with(leaf(2021), Some(&issuer)), trust).await;
    assert_eq!(record.status, RunStatus::Failed);
    let error = record.error.unwrap_or_default();
    assert!(error.contains("has expired") && error.contains("the server needs a new one"), "{error}");

    // Without the CA, the same valid certificate is refused, and the user told what to do.
    let record = run_remote(identity_with(leaf(2999), Some(&issuer)), Trust::default()).await;
    let error = record.error.unwrap_or_default();
    if crate::util::under_wine() {
        // Wine's certificate chain engine reports a failed revocation check instead of an
        // unknown root (Windows says CERT_E_UNTRUSTEDROOT): refused all the same.
        assert!(error.contains("TLS handshake failed"), "{error}");
        return;
    }
    assert!(
        error.contains("not signed by an authority this device trusts") && error.contains("--ca-cert"),
        "{error}"
    );
}

/// Over an emulated link, a remote server verified by name: the connections dial the relay and
/// keep the server's name (TLS's server name, verification and Host).
#[tokio::test]
async fn a_server_verified_by_name_is_verified_through_the_link_relay() {
    let (trust, issuer) = private_ca();
    // A certificate for the name only: a connection that named the relay's 127.0.0.1 would fail.
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.not_after = rcgen::date_time_ymd(2999, 1, 1);
    let identity = identity_with(params, Some(&issuer));
    let server = server_using(identity).await;
    let target = Target::remote(&format!("https://localhost:{}", server.local_addr().port()))
        .expect("valid")
        .trusting(trust);
    let transports = [Transport::Wss, Transport::Https, Transport::HttpsNew, Transport::H2];
    let plan = Plan {
        link: Some(duplex_core::link::Link::parse("rtt=4ms").expect("link")),
        ..small_plan(&transports)
    };
    let record = run_against(plan, target).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert_eq!(record.tls.len(), transports.len());
    for t in transports {
        let calls: Vec<_> = record.samples.iter().filter(|s| s.transport == t && s.error.is_none()).collect();
        assert_eq!(calls.len(), 40, "{t}");
        // Each crossed the link: at least one round trip.
        assert!(calls.iter().all(|s| s.latency_ns >= 4_000_000), "{t} went around the relay");
    }
}

/// The usual one-liner's certificate (`openssl req -x509 -newkey … -addext subjectAltName=…`):
/// self-signed, CA:TRUE, the server's names. A TLS server of its own, and the PEM of it.
fn self_signed_ca_like_openssls(names: &[&str], not_after_year: i32) -> (TlsIdentity, String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
    let cert = params.self_signed(&key).expect("certificate");
    let sha = duplex_core::certificate::fingerprint(cert.der());
    let identity = TlsIdentity::from_parts(
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .expect("identity");
    (identity, cert.pem(), sha)
}

/// What curl and Python do with `--cacert`: a certificate given that is the server's own is
/// trusted, CA flag or not, for its own names; another server's is refused, and every refusal
/// says what was wrong, names the file and the certificate's fingerprint, and what to do.
#[tokio::test]
async fn the_servers_own_certificate_given_as_ca_cert_is_trusted_and_every_refusal_says_why() {
    let (identity, pem, _) = self_signed_ca_like_openssls(&["127.0.0.1", "localhost"], 2999);
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(pem.as_bytes()).expect("write");
    let path = file.path().display().to_string();
    let trust = Trust::with_ca_file(file.path()).expect("a PEM file");

    // Its own server, as a foreign WebSocket echo (wss) and a Duplex server (https) alike.
    let server = server_using(identity).await;
    let foreign =
        Target::foreign(Some(&format!("wss://{}/ws/echo", server.local_addr())), None, Default::default())
            .expect("valid")
            .trusting(trust.clone());
    let record = run_against(small_plan(&[Transport::Wss]), foreign).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let remote =
        Target::remote(&format!("https://{}", server.local_addr())).expect("valid").trusting(trust.clone());
    let record = run_against(small_plan(&[Transport::Https]), remote).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);

    // Another server's certificate made the same way: not the one given.
    let (other, _, other_sha) = self_signed_ca_like_openssls(&["127.0.0.1"], 2999);
    let error = run_remote(other, trust.clone()).await.error.unwrap_or_default();
    assert!(
        error.contains(&format!(
            "(SHA-256 {other_sha}) is a CA certificate (CA:TRUE) serving as the server's own, and it is not the one given (--ca-cert {path})"
        )) && error.contains(&format!("--fingerprint {other_sha}")),
        "{error}"
    );
    // A server certificate signed by a CA that is not in the file.
    let (_, issuer) = private_ca();
    let signed = identity_with(leaf(2999), Some(&issuer));
    let signed_sha = duplex_core::certificate::fingerprint(&signed.certificate());
    let error = run_remote(signed, trust.clone()).await.error.unwrap_or_default();
    if !crate::util::under_wine() {
        assert!(
            error.contains(&format!("(SHA-256 {signed_sha}) is signed neither by a certificate in {path}"))
                && error.contains(&format!("--fingerprint {signed_sha}")),
            "{error}"
        );
    }

    // Its own certificate, but the server reached by a name it does not list.
    let (named, named_pem, named_sha) = self_signed_ca_like_openssls(&["localhost"], 2999);
    let mut named_file = tempfile::NamedTempFile::new().expect("temp file");
    named_file.write_all(named_pem.as_bytes()).expect("write");
    let error = run_remote(named, Trust::with_ca_file(named_file.path()).expect("PEM"))
        .await
        .error
        .unwrap_or_default();
    assert!(
        error.contains(&format!("(SHA-256 {named_sha}) is for localhost, not 127.0.0.1"))
            && error.contains("subjectAltName=DNS:127.0.0.1 or IP:127.0.0.1"),
        "{error}"
    );

    // Its own certificate, expired: its dates count as a CA's would.
    let (expired, expired_pem, _) = self_signed_ca_like_openssls(&["127.0.0.1"], 2021);
    let mut expired_file = tempfile::NamedTempFile::new().expect("temp file");
    expired_file.write_all(expired_pem.as_bytes()).expect("write");
    let error = run_remote(expired, Trust::with_ca_file(expired_file.path()).expect("PEM"))
        .await
        .error
        .unwrap_or_default();
    assert!(
        error.contains("has expired")
            && error.contains(&format!("--ca-cert {}", expired_file.path().display())),
        "{error}"
    );
}

#[tokio::test]
async fn a_self_signed_remote_certificate_is_refused_unless_insecure_which_every_record_says() {
    let record = run_remote(identity_with(leaf(2999), None), Trust::default()).await;
    assert_eq!(record.status, RunStatus::Failed);
    let error = record.error.unwrap_or_default();
    // (Wine's chain engine words it otherwise: see the private CA test.)
    assert!(
        error.contains(if crate::util::under_wine() {
            "TLS handshake failed"
        } else {
            "not signed by an authority"
        }),
        "{error}"
    );

    let record = run_remote(identity_with(leaf(2999), None), Trust::Insecure).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert!(record.tls.iter().all(|t| t.unverified()), "{:?}", record.tls);
}

#[tokio::test]
async fn a_pinned_certificate_is_refused_when_it_changes() {
    let server = server().await;
    let other = server_with(ServerConfig::default()).await;
    let wrong = Trust::Pinned(other.tls().expect("TLS").certificate().clone());
    let endpoints = Endpoints::for_addr(server.local_addr()).trusting(wrong);
    for transport in [Transport::Wss, Transport::Https, Transport::H2] {
        let error = match Client::connect(
            transport,
            &endpoints,
            &ClientOptions::default(),
            &Default::default(),
        )
        .await
        {
            Ok(mut c) => c.measure(1).await.expect_err("refused"),
            Err(e) => e,
        };
        assert!(error.to_string().contains("not the pinned one"), "{transport}: {error}");
    }
}

/// A server whose certificate nears its end renews it and says so: handshakes from then on (TLS
/// and QUIC) get the new one, a client pinned to the old one is refused, and the join plan's
/// hash for WebTransport is the new one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_renews_its_certificate_before_it_expires() {
    // Valid 4 s from now: renewed after 2.
    let server = server_using(short_lived(4)).await;
    let tls = server.tls().expect("TLS on");
    let (old, old_sha, mut renewals) = (tls.certificate(), tls.fingerprint(), tls.renewals());
    let reached = |pin: &rustls::pki_types::CertificateDer<'static>, transport| {
        let endpoints = Endpoints::for_addr(server.local_addr()).trusting(Trust::Pinned(pin.clone()));
        async move {
            let mut client =
                Client::connect(transport, &endpoints, &ClientOptions::default(), &Default::default())
                    .await?;
            client.measure(1).await.map(|_| ())
        }
    };
    let quic = crate::util::quic_unavailable(&server).is_none();
    let transports: &[Transport] = if quic { &[Transport::Wss, Transport::Wt] } else { &[Transport::Wss] };
    for &t in transports {
        reached(&old, t).await.unwrap_or_else(|e| panic!("{t} before the renewal: {e}"));
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), renewals.changed())
        .await
        .expect("renewed within 10 s")
        .expect("announced");
    let new_sha = renewals.borrow_and_update().clone();
    assert_ne!(new_sha, old_sha);
    let new = tls.certificate();
    assert_eq!(duplex_core::certificate::fingerprint(&new), new_sha);
    for &t in transports {
        let refused = reached(&old, t).await.expect_err("the old certificate is gone");
        assert!(refused.to_string().contains("not the pinned one"), "{t}: {refused}");
        reached(&new, t).await.unwrap_or_else(|e| panic!("{t} after the renewal: {e}"));
    }
}

/// A run against a server of this process spans its certificate's renewal: the clients that
/// connect after it (the transports measured later, each with TLS sessions of its own, so a full
/// handshake) trust the new certificate, as the first ones trusted the old (the run's trust
/// follows the server's renewals; pinned to the first certificate, they were refused). Valid
/// 6 s, the certificate is renewed 3 s after the server starts; `https` takes the first 3.5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_spanning_a_renewal_keeps_connecting() {
    use duplex_core::plan::Order;
    let server = server_using(short_lived(6)).await;
    let tls = server.tls().expect("TLS on");
    let first = tls.fingerprint();
    let quic = crate::util::quic_unavailable(&server).is_none();
    let transports: &[Transport] = if quic {
        &[Transport::Https, Transport::Wss, Transport::Wt]
    } else {
        &[Transport::Https, Transport::Wss]
    };
    let plan = Plan {
        sets: 1,
        calls: 20,
        warmup: 1,
        interval_ms: 175.0,
        order: Order::InTurn,
        ..small_plan(transports)
    };
    let target =
        Target::InProcess { addr: server.local_addr(), trust: Some(duplex_core::runner::own_trust(tls)) };
    let record = run_against(plan, target).await;
    assert_ne!(tls.fingerprint(), first, "renewed during the run");
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let failed: Vec<_> = record.samples.iter().filter_map(|s| s.error.as_deref()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let verification = &record.tls[0].verification;
    assert!(verification.contains(&first) && verification.contains("renews"), "{verification}");
}

#[test]
fn a_broken_ca_file_says_why() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(b"not a certificate").expect("write");
    let error = Trust::with_ca_file(file.path()).expect_err("refused");
    assert!(error.contains("holds no certificate"), "{error}");
    assert!(Trust::with_ca_file(std::path::Path::new("/no/such/file.pem")).is_err());
}

/// A raw HTTP/2 connection (cleartext, prior knowledge) to `addr`.
async fn h2_client(
    addr: std::net::SocketAddr,
) -> (h2::client::SendRequest<bytes::Bytes>, tokio::task::JoinHandle<Result<(), h2::Error>>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    (client, tokio::spawn(connection))
}

#[tokio::test]
async fn http2_streams_per_connection_are_limited() {
    let limits = duplex_core::server::Limits { max_streams_per_connection: 4, ..Default::default() };
    let server = server_with(ServerConfig { limits, ..ServerConfig::default() }).await;
    let tcp = tokio::net::TcpStream::connect(server.local_addr()).await.expect("connect");
    let (client, mut connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    let mut client = client.ready().await.expect("ready");
    let request =
        http::Request::get(format!("http://{}/health", server.local_addr())).body(()).expect("request");
    let (response, _) = client.send_request(request, true).expect("send");
    let response = tokio::select! {
        r = response => r.expect("answer"),
        ended = &mut connection => panic!("connection ended: {ended:?}"),
    };
    assert_eq!(response.status(), 200);
    // The server's SETTINGS have arrived: it takes 4 streams at once on this connection.
    assert_eq!(connection.max_concurrent_send_streams(), 4);
}

#[tokio::test]
async fn http2_rapid_reset_ends_the_connection() {
    if crate::util::under_wine() {
        // Wine's loopback is so slow that the server accepts each stream before its reset
        // arrives: no rapid reset can be made here (the server's code is the same everywhere).
        eprintln!("skipped under Wine: too slow a client to reset streams before they are served");
        return;
    }
    let server = server().await;
    let (mut client, connection) = h2_client(server.local_addr()).await;
    // Open a stream and cancel it at once, thousands of times (CVE-2023-44487): the server must
    // not serve them all, but send GOAWAY.
    let mut refused = false;
    for _ in 0..20_000 {
        let Ok(ready) = client.clone().ready().await else {
            refused = true;
            break;
        };
        client = ready;
        let request = http::Request::get(format!("http://{}/events/next", server.local_addr()))
            .body(())
            .expect("request");
        match client.send_request(request, false) {
            Ok((_, mut stream)) => stream.send_reset(h2::Reason::CANCEL),
            Err(_) => {
                refused = true;
                break;
            }
        }
    }
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), connection).await;
    assert!(refused || matches!(ended, Ok(Ok(Err(_)))), "the server kept serving a rapid reset: {ended:?}");
    // The server itself is fine.
    let (mut fresh, _conn) = h2_client(server.local_addr()).await;
    fresh = fresh.ready().await.expect("ready");
    let (response, _) = fresh
        .send_request(
            http::Request::get(format!("http://{}/health", server.local_addr())).body(()).expect("r"),
            true,
        )
        .expect("send");
    assert_eq!(response.await.expect("answer").status(), 200);
}

/// Relays UDP from each client address to whichever server `upstream` names now: a server
/// replaced behind one address, as by a restart.
async fn udp_relay_to(
    upstream: std::sync::Arc<std::sync::Mutex<std::net::SocketAddr>>,
) -> std::net::SocketAddr {
    let outer = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let addr = outer.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut inners = std::collections::HashMap::new();
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = outer.recv_from(&mut buf).await {
            let inner = match inners.entry(from) {
                std::collections::hash_map::Entry::Occupied(e) => std::sync::Arc::clone(e.get()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let inner =
                        std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
                    let (back, outer) = (inner.clone(), outer.clone());
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 65536];
                        while let Ok(n) = back.recv(&mut buf).await {
                            let _ = outer.send_to(&buf[..n], from).await;
                        }
                    });
                    e.insert(inner).clone()
                }
            };
            let to = *upstream.lock().expect("not poisoned");
            let _ = inner.send_to(&buf[..n], to).await;
        }
    });
    addr
}

/// A server that does not know an `h3-new` client's session ticket (another one behind the same
/// address, as after a restart; the same private CA's certificate) refuses its 0-RTT data: the
/// request, which it never saw, is sent again once the handshake is done and answered; the next
/// call resumes with the new server's ticket.
#[tokio::test]
async fn a_refused_0rtt_request_is_sent_again_after_the_handshake() {
    let (trust, issuer) = private_ca();
    let first = server_using(identity_with(leaf(2999), Some(&issuer))).await;
    if crate::util::quic_unavailable(&first).is_some() {
        return;
    }
    let second = server_using(identity_with(leaf(2999), Some(&issuer))).await;
    let upstream = std::sync::Arc::new(std::sync::Mutex::new(first.local_addr()));
    let relay = udp_relay_to(upstream.clone()).await;
    let endpoints = Endpoints::for_addr(relay).trusting(trust);
    let mut client =
        Client::connect(Transport::H3New, &endpoints, &ClientOptions::default(), &Default::default())
            .await
            .expect("connect");
    let mut early = Vec::new();
    for seq in 1..=4 {
        if seq == 3 {
            *upstream.lock().expect("not poisoned") = second.local_addr();
        }
        let m = client.measure(seq).await.unwrap_or_else(|e| panic!("call {seq}: {e}"));
        assert!(m.new_connection && m.server_time_unix_ns.is_some(), "call {seq} answered by the echo");
        early.push(client.handshakes().last().expect("a handshake").early_data);
    }
    assert_eq!(early, [false, true, false, true], "full, early, refused and sent again, early");
    client.close().await;
}
