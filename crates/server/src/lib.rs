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
//! start ([`tls`]): `ws://`, `wss://`, `http://` and `https://` all reach the same routes.
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

/// A running server on the current tokio runtime.
pub struct Server {
    addr: SocketAddr,
    tls: Option<TlsIdentity>,
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
        let listener = TcpListener::bind(addr).await.map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => ServerError::AddrInUse { addr },
            _ => ServerError::Bind { addr, source },
        })?;
        let local = listener.local_addr().map_err(|source| ServerError::Bind { addr, source })?;
        let shutdown = CancellationToken::new();
        let config_hosts = config.allowed_hosts.clone();
        let hosts = access::OwnHosts::of(&config_hosts, local);
        let tls = match &config.tls {
            TlsSetting::Off => None,
            TlsSetting::Generate => Some(TlsIdentity::generate(hosts.names()).map_err(ServerError::Invalid)?),
            TlsSetting::Use(identity) => Some(identity.clone()),
        };
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
        };
        let long_polls = state.long_polls.clone();
        let limits = state.config.limits.clone();
        let app = router(state);
        let task = tokio::spawn(listen::serve(listener, app, limits, tls.clone(), shutdown.clone()));
        tracing::info!("duplex echo server listening on {local}");
        Ok(Server { addr: local, tls, hub, monitor, long_polls, shutdown, task })
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
