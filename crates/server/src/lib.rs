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
mod error;
pub mod events;
mod http;
pub mod join;
pub mod lan;
mod listen;
pub mod monitor;
pub mod sse;
pub mod tls;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderValue, Method};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::monitor::MonitorHub;

pub use access::{OwnHosts, new_token};
pub use error::ApiError;
pub use events::EventHub;
pub use http::{CONNECTION_REQUEST_HEADER, REQUEST_BYTES_HEADER, request_wire_len};
pub use tls::TlsIdentity;
pub use ws::echo_text;

/// Settings of the echo server. `Default` is loopback on a free port.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Period of the "tick" event broadcast to push subscribers and pollers.
    pub tick_interval: Duration,
    /// Each tick carries the server process's CPU time (`server_cpu_ns`), so that a fan-out
    /// measured elsewhere sees what a broadcast costs the server.
    pub tick_cpu: bool,
    /// Largest WebSocket message or HTTP body accepted (bigger: close 1009 / HTTP 413).
    pub max_message_bytes: usize,
    /// Longest a long-poll request waits before answering 204.
    pub long_poll_timeout: Duration,
    /// Web origins whose pages may read the HTTP answers (CORS), e.g. the app's own
    /// `tauri://localhost`. Empty: no CORS headers, so pages of other origins cannot read them.
    pub allowed_origins: Vec<String>,
    /// Live-monitor snapshots per second (0.1–20) while someone watches.
    pub monitor_hz: f64,
    /// LAN mode: the token every request must carry (`?token=…`). None: no token asked, for
    /// a server on loopback.
    pub access_token: Option<String>,
    /// Browsers may open `/`, run the test and post their results back.
    pub browser_join: Option<join::BrowserJoin>,
    pub limits: Limits,
    /// Names the server answers to besides its own (loopback names and addresses, the address
    /// it is bound to, and in LAN mode this machine's network addresses): a request whose Host
    /// is none of them is refused, so that a web page cannot reach the server by DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// TLS on the same port as cleartext.
    pub tls: TlsSetting,
}

/// Whether and with which certificate the server speaks TLS.
#[derive(Debug, Clone, Default)]
pub enum TlsSetting {
    /// No TLS: a TLS handshake is refused.
    Off,
    /// A new self-signed certificate for the server's own names, made at start.
    #[default]
    Generate,
    /// This certificate (tests use expired ones).
    Use(TlsIdentity),
}

/// What one server takes, so no client can exhaust it. Over a limit a client gets a clear
/// answer: HTTP 503 (connections, long-polls), 431 (headers), a closed connection (headers not
/// sent in time), WebSocket close 1008 (idle) or 1009 (message too big, `max_message_bytes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Connections open at once, WebSockets included.
    pub max_connections: usize,
    /// Connections open at once from one address.
    pub max_connections_per_peer: usize,
    /// Bytes of a request's line and headers.
    pub max_header_bytes: usize,
    /// Headers in one request.
    pub max_headers: usize,
    /// Time to send a request's headers; also the longest a keep-alive connection may sit idle
    /// between requests (slowloris).
    pub header_timeout: Duration,
    /// Longest an echo WebSocket may go without a message from its client.
    pub ws_idle_timeout: Duration,
    /// Long-polls waiting at once (events and monitor together).
    pub max_long_polls: usize,
    /// HTTP/2 streams open at once on one connection (more: refused with REFUSED_STREAM).
    pub max_streams_per_connection: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            max_connections_per_peer: 1024,
            max_header_bytes: 16 << 10,
            max_headers: 64,
            header_timeout: Duration::from_secs(15),
            ws_idle_timeout: Duration::from_secs(120),
            max_long_polls: 1024,
            max_streams_per_connection: 256,
        }
    }
}

impl ServerConfig {
    /// Settings for a server other devices can reach at `bind`, behind a fresh access token.
    pub fn lan(bind: SocketAddr) -> ServerConfig {
        ServerConfig { bind, access_token: Some(access::new_token()), ..ServerConfig::default() }
    }

    /// Refuses a server reachable from other machines without a token.
    fn check(&self) -> Result<(), ServerError> {
        if !self.bind.ip().is_loopback() && self.access_token.as_deref().is_none_or(str::is_empty) {
            return Err(ServerError::OpenWithoutToken { addr: self.bind });
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tick_interval: Duration::from_millis(100),
            tick_cpu: false,
            max_message_bytes: 1 << 20,
            long_poll_timeout: Duration::from_secs(30),
            allowed_origins: Vec::new(),
            monitor_hz: 1.0,
            access_token: None,
            browser_join: None,
            limits: Limits::default(),
            allowed_hosts: Vec::new(),
            tls: TlsSetting::Generate,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "cannot listen on {addr}: the port is already in use (choose another, or port 0 for any free one)"
    )]
    AddrInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(
        "{addr} is reachable from other machines: serve it in LAN mode (duplex serve --lan), behind an access token"
    )]
    OpenWithoutToken { addr: SocketAddr },
    #[error("{0}")]
    Invalid(String),
    #[error("server thread failed: {0}")]
    Thread(String),
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub hub: Arc<EventHub>,
    pub shutdown: CancellationToken,
    pub tickets: Arc<join::Tickets>,
    pub monitor: Arc<MonitorHub>,
    /// Long-polls waiting now.
    pub long_polls: Arc<std::sync::atomic::AtomicUsize>,
    /// The Host names requests may carry (see [`ServerConfig::allowed_hosts`]).
    pub hosts: Arc<access::OwnHosts>,
}

/// All routes, without a socket: tests can drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_message_bytes;
    // Browsers' results are bigger than one message: they bring their own limit.
    let upload_limit = state.config.browser_join.as_ref().map_or(body_limit, |j| j.max_upload_bytes);
    let cors = cors_layer(&state.config.allowed_origins);
    let router = Router::new()
        .route("/", get(root))
        .route("/ws", get(ws::echo))
        .route("/ws/push", get(ws::push))
        .route("/ws/echo", get(ws::plain_echo))
        .route("/events/sse", get(sse::events))
        .route("/echo", get(http::echo_get).post(http::echo_post))
        .route("/echo/plain", post(http::plain_echo))
        .route("/msgsrv.php", get(http::echo_get))
        .route("/events/latest", get(http::poll))
        .route("/events/next", get(http::long_poll))
        .route("/health", get(http::health))
        .route("/ws/monitor", get(ws::monitor))
        .route("/monitor/latest", get(http::monitor_latest))
        .route("/monitor/next", get(http::monitor_next))
        .route("/assets/{*path}", get(join::asset))
        .route("/join/plan", get(join::plan))
        .route("/join/results", post(join::results).layer(DefaultBodyLimit::max(upload_limit)))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(http::connection_request))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard))
        // Pages that are cross-origin isolated (the app's, for a finer clock) may read answers
        // they fetch without CORS too.
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        ))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// CORS for the listed origins: simple GET and POST (text bodies need no preflight), every
/// response header readable so web clients can count the bytes they received.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([axum::http::header::CONTENT_TYPE])
            .expose_headers(tower_http::cors::Any)
            .max_age(Duration::from_secs(3600))
    })
}

async fn root(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let wants_ws = parts
        .headers
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_ws {
        let host = parts.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
        return join::page(&state, host).unwrap_or_else(|| Html(INDEX).into_response());
    }
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => ws::echo(upgrade, State(state)).await,
        Err(rejection) => rejection.into_response(),
    }
}

const INDEX: &str = "<!doctype html><meta charset=utf-8><title>Duplex echo server</title>\
<h1>Duplex echo server</h1><p>WebSocket echo: <code>/ws</code> (or <code>/</code>), push: \
<code>/ws/push</code>, plain echo (any client): <code>/ws/echo</code>, <code>POST /echo/plain</code>. AJAX echo: <code>GET|POST /echo</code>, <code>GET /msgsrv.php</code>. \
Events: <code>/events/latest</code>, <code>/events/next?after=SEQ</code>, \
<code>/events/sse</code>. <code>/health</code>. HTTP/1.1 and HTTP/2, with and without TLS, on this \
one port.</p>";

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

/// A server on its own OS thread and single-threaded runtime, for runs whose clients live on
/// another thread, and for tests that need a server to vanish ([`ServerThread::kill`]).
pub struct ServerThread {
    addr: SocketAddr,
    tls: Option<TlsIdentity>,
    monitor: Arc<MonitorHub>,
    hub: Arc<EventHub>,
    long_polls: Arc<std::sync::atomic::AtomicUsize>,
    /// The server thread's runtime: work sent here runs on the server's one thread.
    runtime: tokio::runtime::Handle,
    shutdown: CancellationToken,
    kill: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    pub fn spawn(config: ServerConfig) -> Result<ServerThread, ServerError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let kill = CancellationToken::new();
        let kill_in_thread = kill.clone();
        let thread = std::thread::Builder::new()
            .name("duplex-server".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(ServerError::Thread(e.to_string())));
                        return;
                    }
                };
                rt.block_on(async move {
                    let server = match Server::start(config).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(Started {
                        addr: server.local_addr(),
                        tls: server.tls().cloned(),
                        shutdown: server.shutdown_token(),
                        monitor: server.monitor().clone(),
                        hub: server.hub().clone(),
                        long_polls: server.long_polls.clone(),
                        runtime: tokio::runtime::Handle::current(),
                    }));
                    tokio::select! {
                        _ = server.wait() => {}
                        _ = kill_in_thread.cancelled() => {}
                    }
                });
                // Dropping the runtime here drops every connection task: a killed server
                // vanishes without closing handshakes, as a crashed one would.
            })
            .map_err(|e| ServerError::Thread(e.to_string()))?;
        let Started { addr, tls, shutdown, monitor, hub, long_polls, runtime } =
            rx.recv().map_err(|e| ServerError::Thread(e.to_string()))??;
        Ok(ServerThread {
            addr,
            tls,
            monitor,
            hub,
            long_polls,
            runtime,
            shutdown,
            kill,
            thread: Some(thread),
        })
    }

    /// Publishes an event from the server's own thread, as its ticker would; returns the
    /// server thread's CPU time just before (None where the OS cannot tell).
    pub async fn publish(&self, event: &'static str) -> Option<Duration> {
        let hub = self.hub.clone();
        self.on_server_thread(move || {
            let cpu = thread_cpu_time();
            hub.publish(event, None);
            cpu
        })
        .await
    }

    /// CPU time the server's thread has used so far: every connection's work runs there.
    pub async fn cpu_time(&self) -> Option<Duration> {
        self.on_server_thread(thread_cpu_time).await
    }

    async fn on_server_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Option<T> + Send + 'static,
    ) -> Option<T> {
        self.runtime.spawn(async move { work() }).await.ok().flatten()
    }

    /// WebSocket and SSE subscribers to server events now.
    pub fn push_subscribers(&self) -> usize {
        self.hub.subscribers()
    }

    /// Long-polls waiting for an event or a snapshot now.
    pub fn long_polls_waiting(&self) -> usize {
        self.long_polls.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The certificate the server presents over TLS (None: TLS off).
    pub fn tls(&self) -> Option<&TlsIdentity> {
        self.tls.as_ref()
    }

    pub fn monitor(&self) -> &Arc<MonitorHub> {
        &self.monitor
    }

    /// Graceful stop; waits for the thread.
    pub fn shutdown(mut self) {
        self.shutdown.cancel();
        self.join();
    }

    /// Abrupt stop: every connection is dropped at once.
    pub fn kill(mut self) {
        self.kill.cancel();
        self.join();
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the server thread hands back once it listens.
struct Started {
    addr: SocketAddr,
    tls: Option<TlsIdentity>,
    shutdown: CancellationToken,
    monitor: Arc<MonitorHub>,
    hub: Arc<EventHub>,
    long_polls: Arc<std::sync::atomic::AtomicUsize>,
    runtime: tokio::runtime::Handle,
}

/// The calling thread's CPU time (cpu-time: clock_gettime on Unix, GetThreadTimes on Windows).
fn thread_cpu_time() -> Option<Duration> {
    cpu_time::ThreadTime::try_now().ok().map(|t| t.as_duration())
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.join();
    }
}
