//! duplex-clients: Duplex's native clients, one per transport, and the live monitor's watchers.
//! Each client measures one exchange at a time and reports a [`Measurement`]; pacing,
//! concurrency and bookkeeping belong to the engine's runner. It may use `duplex-model` only:
//! clients speak the wire formats, not the server's code.
//!
//! - `ws`, `wss`: echo over one persistent WebSocket (tokio-tungstenite), without and with TLS.
//! - `http`, `http-new`, `https`, `https-new`, `h2`: the AJAX echo with and without
//!   keep-alive, TLS or HTTP/2, on connections the client opens itself (hyper), so bytes are
//!   counted on the socket, below TLS ([`conn_http`]).
//! - `long-poll`, `poll` (and the health check) use reqwest.
//! - `ws-push`, `sse`, `long-poll`, `poll`: how long a server event takes to reach the client.
//! - `wt`, `wt-streams`, `wt-dgram`, `wt-push`, `wt-push-dgram`, `h3`: WebTransport and HTTP/3
//!   over QUIC ([`quic`]), bytes counted per connection (its UDP datagrams).
//!
//! TLS is rustls with ring; how a client trusts a server is a [`Trust`] ([`tls`]).

pub mod conn_http;
pub mod counting;
mod endpoints;
pub(crate) mod http;
pub(crate) mod push;
pub(crate) mod quic;
pub mod tls;
pub mod watch;
pub mod wire;
pub(crate) mod ws;

use std::time::Duration;

pub use conn_http::{ConnHttpClient, Mode as ConnMode, SharedHttp2};
pub use duplex_model::transport::{ClientOptions, HttpMethod, Pattern, Transport, WebTrust};
pub use endpoints::{Endpoints, EndpointsError, redact_token, with_query};
pub use http::build_client as build_http_client;
pub use push::{LongPollClient, PollClient, SseClient, WsPushClient};
pub use quic::SharedQuic;
pub use quic::h3::H3Client;
pub use quic::wt::{WtClient, WtPushClient};
pub use rustls::pki_types::CertificateDer;
pub use tls::{Handshake, Renewing, Trust};
pub use ws::WsClient;

/// One measured exchange.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Wall clock when the request left (round trip) or the event was created (push), Unix ns.
    pub sent_at_unix_ns: i64,
    /// Round trip (or event-to-client latency for push), nanoseconds.
    pub latency_ns: u64,
    /// The server's clock when it handled the message (or created the event), Unix ns.
    pub server_time_unix_ns: Option<i64>,
    /// Bytes on the wire client -> server for this message (headers + body / frame).
    pub bytes_out: u64,
    /// Bytes on the wire server -> client.
    pub bytes_in: u64,
    /// The server process's CPU time when it created the event, if it said
    /// ([`duplex_model::protocol::Event::server_cpu_ns`]).
    pub server_cpu_ns: Option<u64>,
    /// This call opened a connection of its own (a kept-alive one the server had closed; every
    /// call of a new-connection transport).
    pub new_connection: bool,
}

/// Why an exchange failed. `is_fatal` errors end the client (the connection is gone).
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ClientError {
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("connection closed: {0}")]
    Closed(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("server answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("unexpected reply: {0}")]
    Reply(String),
    /// A datagram whose answer did not come within the wait (4 RTT, at least 250 ms): lost
    /// (datagrams are not sent again), on the way out or back. The wait is not in the words, so
    /// that a report counts every loss as one kind.
    #[error("{}", duplex_model::record::LOST_DATAGRAM)]
    Lost(Duration),
    /// A pushed event whose datagram did not come: a later event's did.
    #[error("{}", duplex_model::record::LOST_EVENT)]
    LostEvent,
}

impl ClientError {
    /// A status the server answered with, and what its body says in one line: tags left out,
    /// white space folded, at most 160 characters (an HTML error page says it in its text).
    pub fn status(status: u16, body: &[u8]) -> ClientError {
        let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
        let mut words = String::new();
        let mut in_tag = false;
        for c in text.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    words.push(' ');
                }
                _ if in_tag => {}
                _ => words.push(c),
            }
        }
        let folded = words.split_whitespace().collect::<Vec<_>>().join(" ");
        let body = match folded.char_indices().nth(160) {
            Some((at, _)) => format!("{}…", &folded[..at]),
            None if folded.is_empty() => "(no body)".to_owned(),
            None => folded,
        };
        ClientError::Status { status, body }
    }

    pub fn is_fatal(&self) -> bool {
        matches!(self, ClientError::Connect { .. } | ClientError::Closed(_) | ClientError::Timeout(_))
    }

    /// The kind in one word (connect, closed, timeout, status, reply), for counting errors.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Connect { .. } => "connect",
            ClientError::Closed(_) => "closed",
            ClientError::Timeout(_) => "timeout",
            ClientError::Status { .. } => "status",
            ClientError::Reply(_) => "reply",
            ClientError::Lost(_) | ClientError::LostEvent => "lost",
        }
    }
}

/// A connected client of any transport.
pub enum Client {
    Ws(WsClient),
    Http(ConnHttpClient),
    WsPush(WsPushClient),
    Sse(SseClient),
    LongPoll(LongPollClient),
    Poll(PollClient),
    Wt(WtClient),
    WtPush(WtPushClient),
    H3(H3Client),
}

/// What the clients of one transport share: the `h2` clients' one connection; the QUIC
/// clients' TLS sessions (a client after the first resumes with 0-RTT, as a browser would), and
/// where asked their UDP endpoint ([`SharedQuic`]).
#[derive(Default, Clone)]
pub struct Shared {
    pub http2: SharedHttp2,
    pub quic: quic::SharedQuic,
}

impl Client {
    pub async fn connect(
        transport: Transport,
        endpoints: &Endpoints,
        options: &ClientOptions,
        shared: &Shared,
    ) -> Result<Client, ClientError> {
        let conn = |url: &str, mode| {
            ConnHttpClient::new(url, &endpoints.route, options, mode, shared.http2.clone()).map(Client::Http)
        };
        Ok(match transport {
            Transport::Ws => {
                Client::Ws(WsClient::connect(&endpoints.ws_echo, &endpoints.route, options).await?)
            }
            Transport::Wss => {
                Client::Ws(WsClient::connect(&endpoints.wss_echo, &endpoints.route, options).await?)
            }
            Transport::Http => conn(&endpoints.http_echo, ConnMode::KeepAlive)?,
            Transport::HttpNew => conn(&endpoints.http_echo, ConnMode::NewConnection)?,
            Transport::Https => conn(&endpoints.https_echo, ConnMode::KeepAlive)?,
            Transport::HttpsNew => conn(&endpoints.https_echo, ConnMode::NewConnection)?,
            Transport::H2 => conn(&endpoints.https_echo, ConnMode::Http2)?,
            Transport::WsPush => {
                Client::WsPush(WsPushClient::connect(&endpoints.ws_push, &endpoints.route).await?)
            }
            Transport::Sse => Client::Sse(SseClient::connect(&endpoints.sse, &endpoints.route).await?),
            Transport::LongPoll => Client::LongPoll(LongPollClient::new(endpoints)?),
            Transport::Poll => Client::Poll(PollClient::new(endpoints, options.poll_interval)?),
            Transport::Wt | Transport::WtStreams | Transport::WtDgram => Client::Wt(
                WtClient::connect(&endpoints.wt_echo, &endpoints.route, options, transport, &shared.quic)
                    .await?,
            ),
            Transport::WtPush | Transport::WtPushDgram => Client::WtPush(
                WtPushClient::connect(
                    &endpoints.wt_push,
                    &endpoints.route,
                    &shared.quic,
                    transport == Transport::WtPushDgram,
                )
                .await?,
            ),
            Transport::H3 | Transport::H3New => Client::H3(
                H3Client::connect(
                    &endpoints.https_echo,
                    &endpoints.route,
                    options,
                    &shared.quic,
                    transport == Transport::H3New,
                )
                .await?,
            ),
            Transport::Xhr => {
                return Err(ClientError::Connect {
                    url: endpoints.http_echo.clone(),
                    reason: "xhr is measured by web-view clients only".into(),
                });
            }
        })
    }

    /// One exchange: an echo round trip, or the next server event.
    pub async fn measure(&mut self, seq: u64) -> Result<Measurement, ClientError> {
        match self {
            Client::Ws(c) => c.echo(seq).await,
            Client::Http(c) => c.echo(seq).await,
            Client::WsPush(c) => c.next_event().await,
            Client::Sse(c) => c.next_event().await,
            Client::LongPoll(c) => c.next_event().await,
            Client::Poll(c) => c.next_event().await,
            Client::Wt(c) => c.echo(seq).await,
            Client::WtPush(c) => c.next_event().await,
            Client::H3(c) => c.echo(seq).await,
        }
    }

    /// Before a block of measurements: a push client drops the events that arrived while it
    /// was not measuring (other transports' blocks ran), so that its next event is timed from
    /// a client that is waiting for it; a WebSocket echo client the server closed while idle
    /// connects again. HTTP clients reconnect on their own.
    pub async fn resync(&mut self) {
        match self {
            Client::WsPush(c) => c.resync().await,
            Client::Sse(c) => c.resync().await,
            Client::LongPoll(c) => c.resync(),
            Client::Poll(c) => c.resync(),
            Client::Ws(c) => c.resync().await,
            Client::WtPush(c) => c.resync().await,
            Client::Http(_) | Client::Wt(_) | Client::H3(_) => {}
        }
    }

    /// Closes politely where the transport has a closing handshake.
    pub async fn close(self) {
        match self {
            Client::Ws(c) => c.close().await,
            Client::WsPush(c) => c.close().await,
            Client::Wt(c) => c.close().await,
            Client::WtPush(c) => c.close().await,
            Client::H3(c) => c.close().await,
            Client::Http(_) | Client::Sse(_) | Client::LongPoll(_) | Client::Poll(_) => {}
        }
    }

    /// The TLS handshakes this client made, oldest first (none without TLS).
    pub fn handshakes(&self) -> &[Handshake] {
        match self {
            Client::Ws(c) => &c.handshakes,
            Client::Http(c) => &c.handshakes,
            Client::Wt(c) => &c.handshakes,
            Client::WtPush(c) => &c.handshakes,
            Client::H3(c) => &c.handshakes,
            _ => &[],
        }
    }
}

/// The payload string of `n` bytes used in echo requests.
pub(crate) fn payload_of(n: usize) -> String {
    "x".repeat(n)
}

pub(crate) fn elapsed_ns(since: std::time::Instant) -> u64 {
    duplex_model::clock::nanos(since.elapsed())
}
