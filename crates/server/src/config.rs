//! The server's settings: address, LAN mode, TLS, limits, browser join; and why it may not start.

use crate::{TlsIdentity, access, join};
use std::net::SocketAddr;
use std::time::Duration;

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
    pub(crate) fn check(&self) -> Result<(), ServerError> {
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
    #[error(
        "cannot serve HTTP/3 and WebTransport on UDP {addr}: the port is in use on UDP (choose another, or port 0 for any free one)"
    )]
    UdpInUse { addr: SocketAddr },
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
