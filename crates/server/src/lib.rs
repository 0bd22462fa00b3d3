//! duplex-server: the echo server and nothing else — WebSocket and HTTP echo, server events,
//! the live monitor's publisher, LAN access and browser join's page and tickets — in-process on
//! loopback (or any address given), with graceful shutdown. It may use `duplex-model` only: it
//! knows nothing of clients, runs or statistics (a joined browser's results go to a sink the
//! layer above provides).
//!
//! Routes (see [`router`]):
//! - `GET /` and `GET /ws`: WebSocket echo (`/` serves the paper's A.1 client, which connects
//!   to the bare address); a plain GET on `/` returns a short page naming the endpoints.
//! - `GET /ws/push`: WebSocket subscription to server events; `GET /events/sse`: the same events
//!   as Server-Sent Events ([`sse`]).
//! - `GET /ws/echo`: a plain WebSocket echo (every message back unchanged), for any client.
//! - `POST /echo/plain`: the same over HTTP, the body back unchanged.
//! - `GET /echo?client_time=&seq=&payload=`, `POST /echo` (JSON), `GET /msgsrv.php?time=&set=`.
//! - `GET /events/latest` (poll), `GET /events/next?after=SEQ` (long-poll), `GET /health`.
//! - The live monitor ([`monitor`]): `GET /ws/monitor` (push), `GET /monitor/latest`
//!   (poll), `GET /monitor/next?after=SEQ` (long-poll).
//! - Browser join ([`join`]), when offered: the page at `/`, `/assets/…`, `GET /join/plan`,
//!   `POST /join/results`.
//!
//! One port serves HTTP/1.1 and HTTP/2, in cleartext and over TLS with a certificate made at
//! start ([`tls`]): `ws://`, `wss://`, `http://` and `https://` all reach the same routes. With
//! TLS, the same port number on UDP serves HTTP/3 (the same routes) and WebTransport sessions
//! (`/wt/echo`, `/wt/plain`, `/wt/push`): see [`quic`]; TCP answers name it in `Alt-Svc`.
//!
//! In LAN mode ([`ServerConfig::lan`]) every request needs the access token (`?token=…`);
//! WebSocket upgrades from foreign web pages are always refused ([`access`]).
mod access;
mod config;
mod error;
pub mod events;
mod http;
pub mod join;
pub mod lan;
mod listen;
pub mod monitor;
mod quic;
mod routes;
pub mod sse;
mod thread;
pub mod tls;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::monitor::MonitorHub;

pub use access::{OwnHosts, new_token};
pub use config::{Limits, ServerConfig, ServerError, TlsSetting};
pub use error::ApiError;
pub use events::EventHub;
pub use http::{CONNECTION_REQUEST_HEADER, REQUEST_BYTES_HEADER, request_wire_len};
pub use routes::{AppState, router};
pub use thread::{ServerThread, thread_cpu_time};
pub use tls::TlsIdentity;
pub use ws::echo_text;

async fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr).await.map_err(|source| match source.kind() {
        std::io::ErrorKind::AddrInUse => ServerError::AddrInUse { addr },
        _ => ServerError::Bind { addr, source },
    })
}

/// Renews a certificate made at start before it expires, for as long as the server runs. The
/// wall clock is read at least hourly (a machine that slept does not renew late).
async fn renew_certificates(tls: TlsIdentity, shutdown: CancellationToken) {
    while let Some(at) = tls.renews_at() {
        let wait = at.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait.min(std::time::Duration::from_secs(3600))) => {}
        }
        if tls.renews_at().is_some_and(|at| at <= std::time::SystemTime::now()) {
            match tls.renew() {
                Ok(sha) => tracing::info!("TLS certificate renewed before it expired: SHA-256 {sha}"),
                Err(e) => {
                    tracing::error!("cannot renew the TLS certificate: {e}");
                    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                }
            }
        }
    }
}

/// A running server on the current tokio runtime.
pub struct Server {
    addr: SocketAddr,
    tls: Option<TlsIdentity>,
    quic: bool,
    quic_unavailable: Option<String>,
    hub: Arc<EventHub>,
    monitor: Arc<MonitorHub>,
    long_polls: Arc<std::sync::atomic::AtomicUsize>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds and starts serving. The real address (port 0 resolved) is [`Server::local_addr`].
    pub async fn start(config: ServerConfig) -> Result<Server, ServerError> {
        config.check()?;
        let monitor = Arc::new(MonitorHub::new(config.monitor_hz).map_err(ServerError::Invalid)?);
        let addr = config.bind;
        let mut listener = bind_tcp(addr).await?;
        let mut local = listener.local_addr().map_err(|source| ServerError::Bind { addr, source })?;
        let shutdown = CancellationToken::new();
        let config_hosts = config.allowed_hosts.clone();
        let hosts = access::OwnHosts::of(&config_hosts, local);
        let tls = match &config.tls {
            TlsSetting::Off => None,
            TlsSetting::Generate => Some(TlsIdentity::generate(hosts.names()).map_err(ServerError::Invalid)?),
            TlsSetting::Use(identity) => Some(identity.clone()),
        };
        // QUIC on the TCP port's number. A free TCP port (port 0) whose UDP twin is taken is
        // given back for another. A system whose UDP sockets refuse QUIC's options (Wine's)
        // serves TCP alone, and says why.
        let mut quic = None;
        let mut quic_unavailable = None;
        if let Some(tls) = &tls {
            let mut tries = 0;
            loop {
                match quic::bind(local, tls, &config.limits) {
                    Ok(endpoint) => break quic = Some(endpoint),
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() == 0 && tries < 16 => {
                        tries += 1;
                        listener = bind_tcp(addr).await?;
                        local = listener.local_addr().map_err(|source| ServerError::Bind { addr, source })?;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                        return Err(ServerError::UdpInUse { addr: local });
                    }
                    Err(e) => {
                        // Windows' own words for it are not always there (Wine's are missing).
                        let reason = match e.raw_os_error() {
                            Some(10045) => "an option QUIC sets is not supported (WSAEOPNOTSUPP)".to_owned(),
                            _ => e.to_string(),
                        };
                        let why = format!(
                            "HTTP/3 and WebTransport are off: this system's UDP sockets refused QUIC: {reason}"
                        );
                        tracing::warn!("{why}");
                        break quic_unavailable = Some(why);
                    }
                }
            }
        } else {
            quic_unavailable =
                Some("HTTP/3 and WebTransport are off: they need TLS, which is off".to_owned());
        }
        let quic_task_on = quic.is_some();
        if let Some(tls) = tls.clone().filter(|t| t.renews_at().is_some()) {
            tokio::spawn(renew_certificates(tls, shutdown.clone()));
        }
        let hub = Arc::new(EventHub::new());
        tokio::spawn(hub.clone().run_ticker(config.tick_interval, config.tick_cpu, shutdown.clone()));
        tokio::spawn(monitor.clone().run(shutdown.clone()));
        let state = AppState {
            config: Arc::new(config),
            hub: hub.clone(),
            shutdown: shutdown.clone(),
            tickets: Arc::default(),
            monitor: monitor.clone(),
            long_polls: Arc::default(),
            hosts: Arc::new(hosts),
            tls: tls.clone(),
            quic_unavailable: quic_unavailable.as_deref().map(Arc::from),
        };
        let long_polls = state.long_polls.clone();
        let limits = state.config.limits.clone();
        let quic_state = state.clone();
        let app = router(state);
        let connections = Arc::new(listen::Connections::default());
        let quic_task = quic.map(|endpoint| {
            tokio::spawn(quic::serve(
                endpoint,
                app.clone(),
                quic_state,
                connections.clone(),
                shutdown.clone(),
            ))
        });
        // Browsers that trust the certificate learn of HTTP/3 from the TCP answers.
        let tcp_app = match &quic_task {
            Some(_) => app.layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                axum::http::header::ALT_SVC,
                axum::http::HeaderValue::from_str(&format!("h3=\":{}\"; ma=86400", local.port()))
                    .map_err(|e| ServerError::Invalid(e.to_string()))?,
            )),
            None => app,
        };
        let tcp_task = tokio::spawn(listen::serve(
            listener,
            tcp_app,
            limits,
            tls.clone(),
            connections,
            shutdown.clone(),
        ));
        let task = tokio::spawn(async move {
            let served = tcp_task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
            if let Some(quic_task) = quic_task {
                let _ = quic_task.await;
            }
            served
        });
        tracing::info!("duplex echo server listening on {local}");
        Ok(Server {
            addr: local,
            tls,
            quic: quic_task_on,
            quic_unavailable,
            hub,
            monitor,
            long_polls,
            shutdown,
            task,
        })
    }

    /// Long-polls waiting for an event or a snapshot now.
    pub fn long_polls_waiting(&self) -> usize {
        self.long_polls.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The live monitor: its rate can be changed while it runs.
    pub fn monitor(&self) -> &Arc<MonitorHub> {
        &self.monitor
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where HTTP/3 and WebTransport are served (UDP, the same port number), if they are: only
    /// with TLS.
    pub fn quic_addr(&self) -> Option<SocketAddr> {
        self.quic.then_some(self.addr)
    }

    /// Why HTTP/3 and WebTransport are not served, when they are not.
    pub fn quic_unavailable(&self) -> Option<&str> {
        self.quic_unavailable.as_deref()
    }

    /// The certificate the server presents over TLS (None: TLS off).
    pub fn tls(&self) -> Option<&TlsIdentity> {
        self.tls.as_ref()
    }

    pub fn hub(&self) -> &Arc<EventHub> {
        &self.hub
    }

    /// A token that stops the server when cancelled (e.g. from a Ctrl-C handler).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// Stops accepting, closes WebSockets with 1001 and lets requests in flight finish.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}
