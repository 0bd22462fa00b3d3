//! HTTP/3 and WebTransport on UDP, on the same port number as TCP (when TLS is on: QUIC has no
//! cleartext). One QUIC endpoint (quinn) serves both, told apart per request as browsers send
//! them: an extended CONNECT with `:protocol webtransport` opens a WebTransport session
//! ([`session`]); anything else is an HTTP/3 request answered by the same axum routes as over
//! TCP ([`request`]), so the AJAX echo and the event endpoints are the same code over h3 as
//! over h1 and h2.
//!
//! Why these crates: quinn is the maintained QUIC stack on rustls (with ring, as everything else
//! here); `h3` + `h3-quinn` are hyper's HTTP/3, and `h3-webtransport` its WebTransport sessions
//! on the same HTTP/3 connection, so one UDP port serves HTTP/3 requests and WebTransport
//! sessions alike (`wtransport` and `web-transport-quinn` serve WebTransport sessions only).
//!
//! The TCP side's limits apply: connections in total and per peer (the same count, so TCP and
//! QUIC together stay under them), streams per connection, header bytes, message size and the
//! idle time. A flood of Initial packets gets stateless Retry once handshakes pile up, so a
//! spoofed source costs the server one packet and no state; a flood of streams is held by QUIC's
//! stream credit (`max_streams_per_connection`).

mod request;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::listen::Connections;
use crate::{AppState, Limits, TlsIdentity};

/// Handshakes in progress above which a new client must prove its address first (Retry).
const HANDSHAKES_BEFORE_RETRY: usize = 64;

type H3Connection = h3::server::Connection<h3_quinn::Connection, Bytes>;
type H3Stream = h3::server::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

/// A QUIC endpoint on `addr` (UDP), with the server's certificate, ALPN `h3` and its limits.
pub(crate) fn bind(addr: SocketAddr, tls: &TlsIdentity, limits: &Limits) -> std::io::Result<quinn::Endpoint> {
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls.quic_config())
        .map_err(|e| std::io::Error::other(format!("cannot use the certificate for QUIC: {e}")))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(limits.max_streams_per_connection.into())
        // HTTP/3's control and QPACK streams, and a WebTransport client's own.
        .max_concurrent_uni_streams(16u32.into())
        .max_idle_timeout(limits.ws_idle_timeout.try_into().ok())
        .datagram_receive_buffer_size(Some(1 << 20));
    server.transport_config(Arc::new(transport));
    server.max_incoming(limits.max_connections.max(1));
    quinn::Endpoint::server(server, addr)
}

/// What every connection's task needs.
struct Shared {
    app: Router,
    state: AppState,
    limits: Limits,
    handshaking: AtomicUsize,
}

/// Serves `endpoint` until `shutdown`; connections count against `connections` with TCP's.
pub(crate) async fn serve(
    endpoint: quinn::Endpoint,
    app: Router,
    state: AppState,
    connections: Arc<Connections>,
    shutdown: CancellationToken,
) {
    let limits = state.config.limits.clone();
    let shared = Arc::new(Shared { app, state, limits, handshaking: AtomicUsize::new(0) });
    let in_flight = TaskTracker::new();
    loop {
        let incoming = tokio::select! {
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => incoming,
                None => break,
            },
            _ = shutdown.cancelled() => break,
        };
        let peer = incoming.remote_address();
        if !incoming.remote_address_validated()
            && shared.handshaking.load(Ordering::Relaxed) >= HANDSHAKES_BEFORE_RETRY
        {
            // Stateless: a spoofed source never answers, a real client comes back validated.
            let _ = incoming.retry();
            continue;
        }
        let slot = match connections.admit(peer.ip(), &shared.limits) {
            Ok(slot) => slot,
            Err(reason) => {
                tracing::debug!("QUIC connection from {peer} refused: {reason}");
                incoming.refuse();
                continue;
            }
        };
        let shared = shared.clone();
        let stop = shutdown.clone();
        in_flight.spawn(async move {
            let _slot = slot;
            let result = match handshake(incoming, &shared).await {
                Ok((conn, confirmed)) => serve_connection(conn, confirmed, peer, &shared, stop).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::debug!("QUIC connection from {peer} ended: {e}");
            }
        });
    }
    endpoint.close(0u32.into(), b"server shutting down");
    in_flight.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), in_flight.wait()).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
}

/// Accepts a connection as 0.5-RTT: it is served while its handshake runs, so that a resumed
/// client's request sent as 0-RTT data is answered at once (1 RTT in all, not 2). What comes
/// back says when the handshake is done (true), or that it failed (false, the connection
/// closed). It must be done in the header time, as a TCP connection's TLS must.
async fn handshake(
    incoming: quinn::Incoming,
    shared: &Arc<Shared>,
) -> Result<(quinn::Connection, Handshake), String> {
    let mut connecting = incoming.accept().map_err(|e| format!("QUIC handshake failed: {e}"))?;
    shared.handshaking.fetch_add(1, Ordering::Relaxed);
    // The whole ClientHello first, and with it the client's transport parameters: until then
    // the server may open no stream (HTTP/3's control stream would wait, unwoken, for a credit
    // that comes with them). Chromium's ClientHello, with its post-quantum key share, spans two
    // packets.
    let hello = tokio::time::timeout(shared.limits.header_timeout, connecting.handshake_data())
        .await
        .map(|read| read.map(drop));
    if !matches!(hello, Ok(Ok(()))) {
        shared.handshaking.fetch_sub(1, Ordering::Relaxed);
        return Err(match hello {
            Ok(Err(e)) => format!("QUIC handshake failed: {e}"),
            _ => "QUIC handshake not finished in time".into(),
        });
    }
    // quinn converts every connection a server accepts (its `into_0rtt` fails a client only).
    let Ok((conn, done)) = connecting.into_0rtt() else {
        shared.handshaking.fetch_sub(1, Ordering::Relaxed);
        return Err("QUIC connection not served before its handshake ends".into());
    };
    let (tell, confirmed) = tokio::sync::watch::channel(false);
    let (watched, shared) = (conn.clone(), shared.clone());
    tokio::spawn(async move {
        let finished = tokio::time::timeout(shared.limits.header_timeout, done).await;
        shared.handshaking.fetch_sub(1, Ordering::Relaxed);
        match finished {
            Ok(_) if watched.close_reason().is_none() => {
                let _ = tell.send(true);
            }
            Ok(_) => {}
            Err(_) => watched.close(0u32.into(), b"QUIC handshake not finished in time"),
        }
    });
    Ok((conn, confirmed))
}

/// Whether a connection's handshake is done: true once it is, false if it never will be.
type Handshake = tokio::sync::watch::Receiver<bool>;

/// Waits for the handshake before anything but the echo is answered: 0-RTT data can be
/// replayed by anyone who saw it (RFC 8446 §8), and a replayed echo only echoes again, but a
/// replayed result, publication or session must not count. A replay never finishes the
/// handshake (it has not the keys), so what waits for it is the client's own.
async fn answers_now(request: &http::Request<()>, confirmed: &mut Handshake) -> bool {
    let echo = matches!(request.uri().path(), "/echo" | "/echo/plain" | "/msgsrv.php")
        && matches!(*request.method(), http::Method::GET | http::Method::POST);
    echo || confirmed.wait_for(|done| *done).await.is_ok_and(|done| *done)
}

/// One QUIC connection: HTTP/3 requests until it closes, or a WebTransport session, which then
/// owns the connection (and answers HTTP/3 requests that come on it).
async fn serve_connection(
    conn: quinn::Connection,
    mut confirmed: Handshake,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    stop: CancellationToken,
) -> Result<(), String> {
    let mut h3: H3Connection = h3::server::builder()
        .enable_webtransport(true)
        .enable_extended_connect(true)
        .enable_datagram(true)
        .max_webtransport_sessions(1)
        .send_grease(true)
        .max_field_section_size(shared.limits.max_header_bytes as u64)
        .build(h3_quinn::Connection::new(conn))
        .await
        .map_err(|e| format!("HTTP/3 did not start: {e}"))?;
    let requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
    loop {
        let accepted = tokio::select! {
            accepted = h3.accept() => accepted,
            _ = stop.cancelled() => {
                let _ = tokio::time::timeout(Duration::from_secs(1), h3.shutdown(0)).await;
                return Ok(());
            }
        };
        let resolver = match accepted {
            Ok(Some(resolver)) => resolver,
            Ok(None) => return Ok(()),
            Err(e) if e.is_h3_no_error() => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let resolved = tokio::time::timeout(shared.limits.header_timeout, resolver.resolve_request()).await;
        let (request, stream) = match resolved {
            Ok(Ok(resolved)) => resolved,
            Ok(Err(e)) => {
                tracing::debug!("HTTP/3 request from {peer} refused: {e}");
                continue;
            }
            Err(_) => return Err("request headers not sent in time".into()),
        };
        let n = requests.fetch_add(1, Ordering::Relaxed) + 1;
        if session::is_webtransport(&request) {
            if !answers_now(&request, &mut confirmed).await {
                return Err("the QUIC handshake failed".into());
            }
            match session::admit(&request, shared) {
                Ok(kind) => {
                    peer_settings(&mut h3, peer, shared, &requests, &confirmed).await?;
                    return session::accept(request, stream, h3, kind, peer, shared.clone(), stop).await;
                }
                // Refused: the connection stays for the answer to reach the client.
                Err(refusal) => {
                    tokio::spawn(session::refuse(stream, refusal));
                    continue;
                }
            }
        }
        let (app, max, mut confirmed) =
            (shared.app.clone(), shared.state.config.max_message_bytes, confirmed.clone());
        tokio::spawn(async move {
            if answers_now(&request, &mut confirmed).await {
                request::serve(app, request, stream, peer, n, max).await;
            }
        });
    }
}

/// Waits for the client's HTTP/3 SETTINGS, which say it speaks WebTransport: a CONNECT can come
/// before them when the packet that carried them was lost. Meanwhile the connection is served
/// (polling it reads the control stream) and other requests are answered.
async fn peer_settings(
    h3: &mut H3Connection,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    requests: &std::sync::atomic::AtomicU64,
    confirmed: &Handshake,
) -> Result<(), String> {
    use h3::ConnectionState;
    let deadline = tokio::time::Instant::now() + shared.limits.header_timeout;
    while !h3.settings().enable_webtransport() {
        if tokio::time::Instant::now() >= deadline {
            return Err("the client's HTTP/3 settings did not offer WebTransport in time".into());
        }
        tokio::select! {
            accepted = h3.accept() => match accepted {
                Ok(Some(resolver)) => {
                    let (app, max) = (shared.app.clone(), shared.state.config.max_message_bytes);
                    let n = requests.fetch_add(1, Ordering::Relaxed) + 1;
                    let mut confirmed = confirmed.clone();
                    tokio::spawn(async move {
                        // A second session before this one opened is refused: one per connection.
                        if let Ok((request, stream)) = resolver.resolve_request().await
                            && !session::is_webtransport(&request)
                            && answers_now(&request, &mut confirmed).await
                        {
                            request::serve(app, request, stream, peer, n, max).await;
                        }
                    });
                }
                Ok(None) => return Err("the client closed the connection".into()),
                Err(e) => return Err(e.to_string()),
            },
            () = tokio::time::sleep(Duration::from_millis(2)) => {}
        }
    }
    Ok(())
}
