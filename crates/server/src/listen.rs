//! The accept loop, with the limits a server inside a desktop app needs: connections in total
//! and per peer (over the limit: `503` and close), request headers by size and count (`431`),
//! the time a client may take to send its headers — also how long a keep-alive connection may
//! sit idle (slowloris) — and graceful shutdown. Each connection's slot is held by its socket, so
//! a WebSocket keeps counting after its upgrade until it closes. One port serves HTTP/1.1 and
//! HTTP/2, in cleartext and over TLS (see [`serve`]); HTTP/2 has its own limits (streams per
//! connection, header list size, the rapid-reset defence).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use super::Limits;
use super::tls::TlsIdentity;

/// Connections open now, in total and per peer address.
#[derive(Default)]
pub(crate) struct Connections {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Connections {
    /// A slot for a new connection from `peer`, or why not.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr, limits: &Limits) -> Result<Slot, String> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_peer) = &mut *open;
        if *total >= limits.max_connections {
            return Err(format!(
                "too many connections: this server takes {} at once",
                limits.max_connections
            ));
        }
        let mine = per_peer.entry(peer).or_insert(0);
        if *mine >= limits.max_connections_per_peer {
            return Err(format!(
                "too many connections from {peer}: this server takes {} per address",
                limits.max_connections_per_peer
            ));
        }
        *mine += 1;
        *total += 1;
        Ok(Slot { connections: self.clone(), peer })
    }
}

/// A connection's place in the count, given back when the socket is dropped.
pub(crate) struct Slot {
    connections: Arc<Connections>,
    peer: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.connections.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.peer);
            }
        }
    }
}

/// A socket that holds its slot: through hyper, and through a WebSocket upgrade, until closed.
struct Counted {
    tcp: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Answers a connection over the limit with 503 and the reason, then closes it.
async fn refuse(mut tcp: TcpStream, reason: String) {
    let body = serde_json::json!({ "error": reason }).to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = tcp.write_all(answer.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

/// Accept errors that concern one connection only; anything else (out of file descriptors)
/// is waited out briefly rather than ending the server.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// The first bytes of a connection: a TLS ClientHello (record type 22), HTTP/2's cleartext
/// preface (prior knowledge), or anything else (HTTP/1.1).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Opening {
    Tls,
    Http2,
    Http1,
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Looks at a new connection's first bytes without taking them. `None`: closed before a byte.
async fn sniff(tcp: &TcpStream) -> io::Result<Option<Opening>> {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        let n = tcp.peek(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        if buf[0] == 0x16 {
            return Ok(Some(Opening::Tls));
        }
        if !H2_PREFACE.starts_with(&buf[..n]) {
            return Ok(Some(Opening::Http1));
        }
        if n == H2_PREFACE.len() {
            return Ok(Some(Opening::Http2));
        }
        // Part of the preface so far: wait for the rest (the caller's timeout bounds this).
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// How every connection is served: HTTP/1.1 (with upgrades to WebSocket) and HTTP/2.
struct Protocols {
    http1: hyper::server::conn::http1::Builder,
    http2: hyper::server::conn::http2::Builder<TokioExecutor>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    header_timeout: Duration,
}

impl Protocols {
    fn new(limits: &Limits, tls: Option<&TlsIdentity>) -> Protocols {
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_headers(limits.max_headers)
            .max_header_size(limits.max_header_bytes);
        let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.max_streams_per_connection)
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            // Rapid reset (CVE-2023-44487): a client that opens and cancels streams faster than
            // they are served is sent GOAWAY.
            .max_pending_accept_reset_streams(Some(limits.max_streams_per_connection as usize))
            .max_local_error_reset_streams(Some(1024))
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(limits.header_timeout);
        Protocols { http1, http2, tls: tls.map(TlsIdentity::acceptor), header_timeout: limits.header_timeout }
    }

    /// Serves one connection until it ends or `stop`: a TLS handshake first if it opens with
    /// one, then HTTP/2 or HTTP/1.1 (by ALPN over TLS, by the preface in cleartext).
    async fn serve<S>(&self, tcp: Counted, service: S, stop: CancellationToken) -> Result<(), String>
    where
        S: hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: std::error::Error + Send + Sync + 'static,
    {
        let opening = tokio::time::timeout(self.header_timeout, sniff(&tcp.tcp))
            .await
            .map_err(|_| "nothing sent in time".to_owned())?
            .map_err(|e| e.to_string())?;
        // The bytes, in cleartext or out of a TLS session; the protocol, by the preface in
        // cleartext and by ALPN over TLS.
        let (io, http2) = match opening {
            None => return Ok(()),
            Some(Opening::Http1) => (Either::Left(tcp), false),
            Some(Opening::Http2) => (Either::Left(tcp), true),
            Some(Opening::Tls) => {
                let Some(acceptor) = &self.tls else {
                    return Err("a TLS handshake, and this server serves no TLS".into());
                };
                let tls = tokio::time::timeout(self.header_timeout, acceptor.accept(tcp))
                    .await
                    .map_err(|_| "TLS handshake not finished in time".to_owned())?
                    .map_err(|e| format!("TLS handshake failed: {e}"))?;
                let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                (Either::Right(tls), http2)
            }
        };
        let io = TokioIo::new(io);
        if http2 {
            until_stopped(self.http2.serve_connection(io, service), |c| c.graceful_shutdown(), stop).await
        } else {
            let conn = self.http1.serve_connection(io, service).with_upgrades();
            until_stopped(conn, |c| c.graceful_shutdown(), stop).await
        }
    }
}

/// Serves a connection until it ends, or until `stop`: then it finishes the request in flight
/// and takes no more (`finish`: hyper's graceful shutdown of its kind of connection).
async fn until_stopped<C, E>(
    conn: C,
    finish: impl FnOnce(Pin<&mut C>),
    stop: CancellationToken,
) -> Result<(), String>
where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(conn);
    tokio::select! {
        ended = conn.as_mut() => ended,
        _ = stop.cancelled() => {
            finish(conn.as_mut());
            conn.await
        }
    }
    .map_err(|e| e.to_string())
}

/// Serves `app` on `listener` until `shutdown`, then waits (boundedly) for requests in flight.
/// One port serves everything: cleartext HTTP/1.1 and HTTP/2 (prior knowledge), and, with a
/// TLS identity, TLS with ALPN (`h2`, `http/1.1`), told apart by their first bytes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<TlsIdentity>,
    connections: Arc<Connections>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let in_flight = TaskTracker::new();
    let protocols = Arc::new(Protocols::new(&limits, tls.as_ref()));
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::warn!("accept failed: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        // Echo replies are single small writes; never let Nagle hold them back.
        let _ = tcp.set_nodelay(true);
        let slot = match connections.admit(peer.ip(), &limits) {
            Ok(slot) => slot,
            Err(reason) => {
                tokio::spawn(refuse(tcp, reason));
                continue;
            }
        };
        let app = app.clone();
        let requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let n = requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            request.extensions_mut().insert(crate::http::ConnectionRequest(n));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let protocols = protocols.clone();
        let stop = shutdown.clone();
        in_flight.spawn(async move {
            if let Err(e) = protocols.serve(Counted { tcp, _slot: slot }, service, stop).await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
    drop(listener);
    // Requests in flight get a moment to finish; WebSockets close themselves with 1001.
    in_flight.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), in_flight.wait()).await;
    Ok(())
}
