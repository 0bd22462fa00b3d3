//! Native clients, one per transport. Each measures one exchange at a time and reports a
//! [`Measurement`]; pacing, concurrency and bookkeeping belong to the runner.
//!
//! - `ws`: echo over one persistent WebSocket (tokio-tungstenite).
//! - `http`, `http-new`: the AJAX echo with and without keep-alive (reqwest).
//! - `ws-push`, `long-poll`, `poll`: how long a server event takes to reach the client.

pub mod counting;
mod endpoints;
pub(crate) mod http;
pub(crate) mod push;
pub(crate) mod ws;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::record::ClientKind;

pub use endpoints::{Endpoints, EndpointsError, redact_token, with_query};
pub use http::{HttpClient, HttpMethod, build_client as build_http_client};
pub use push::{LongPollClient, PollClient, WsPushClient};
pub use ws::WsClient;

/// A way of moving a message between client and server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// WebSocket echo over one persistent connection.
    Ws,
    /// AJAX echo, HTTP/1.1 keep-alive request/response.
    Http,
    /// AJAX echo on a new TCP connection per request.
    HttpNew,
    /// Server event delivered by WebSocket push.
    WsPush,
    /// Server event delivered as the answer to a waiting HTTP request.
    LongPoll,
    /// Server event found by polling at an interval.
    Poll,
    /// AJAX echo by `XMLHttpRequest` (the paper's jQuery client); web-view clients only.
    Xhr,
}

/// What a transport's latency means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Client send to client receive of the echo, on one clock.
    RoundTrip,
    /// Server event creation to client receipt: one way, across two clocks when remote.
    Push,
}

impl Transport {
    pub const ALL: [Transport; 7] = [
        Transport::Ws,
        Transport::Http,
        Transport::HttpNew,
        Transport::WsPush,
        Transport::LongPoll,
        Transport::Poll,
        Transport::Xhr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::Http => "http",
            Transport::HttpNew => "http-new",
            Transport::WsPush => "ws-push",
            Transport::LongPoll => "long-poll",
            Transport::Poll => "poll",
            Transport::Xhr => "xhr",
        }
    }

    /// Whether a kind of client can measure this transport. Web pages cannot choose a new TCP
    /// connection per request, and only web pages have `XMLHttpRequest`.
    pub fn runs_on(self, client: ClientKind) -> bool {
        match client {
            ClientKind::Native => self != Transport::Xhr,
            ClientKind::Webview => matches!(self, Transport::Ws | Transport::Http | Transport::Xhr),
        }
    }

    pub fn pattern(self) -> Pattern {
        match self {
            Transport::Ws | Transport::Http | Transport::HttpNew | Transport::Xhr => Pattern::RoundTrip,
            Transport::WsPush | Transport::LongPoll | Transport::Poll => Pattern::Push,
        }
    }

    pub fn is_websocket(self) -> bool {
        matches!(self, Transport::Ws | Transport::WsPush)
    }

    /// The WebSocket transport the AJAX ones are compared with.
    pub fn websocket_of(pattern: Pattern) -> Transport {
        match pattern {
            Pattern::RoundTrip => Transport::Ws,
            Pattern::Push => Transport::WsPush,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transport::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| {
            let names: Vec<_> = Transport::ALL.iter().map(|t| t.name()).collect();
            format!("unknown transport {s:?} (expected one of {})", names.join(", "))
        })
    }
}

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
}

impl ClientError {
    pub fn is_fatal(&self) -> bool {
        matches!(self, ClientError::Connect { .. } | ClientError::Closed(_) | ClientError::Timeout(_))
    }
}

/// How the clients talk, shared by all transports of a run.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Bytes of the `payload` string in each echo request.
    pub payload_bytes: usize,
    /// Send WebSocket echo messages as binary frames instead of JSON text.
    pub binary: bool,
    pub http_method: HttpMethod,
    /// Interval of the `poll` transport.
    pub poll_interval: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            payload_bytes: 16,
            binary: false,
            http_method: HttpMethod::Post,
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// A connected client of any transport.
pub enum Client {
    Ws(WsClient),
    Http(HttpClient),
    WsPush(WsPushClient),
    LongPoll(LongPollClient),
    Poll(PollClient),
}

impl Client {
    pub async fn connect(
        transport: Transport,
        endpoints: &Endpoints,
        options: &ClientOptions,
    ) -> Result<Client, ClientError> {
        Ok(match transport {
            Transport::Ws => Client::Ws(WsClient::connect(&endpoints.ws_echo, options).await?),
            Transport::Http => Client::Http(HttpClient::new(endpoints, options, true)?),
            Transport::HttpNew => Client::Http(HttpClient::new(endpoints, options, false)?),
            Transport::WsPush => Client::WsPush(WsPushClient::connect(&endpoints.ws_push).await?),
            Transport::LongPoll => Client::LongPoll(LongPollClient::new(endpoints)?),
            Transport::Poll => Client::Poll(PollClient::new(endpoints, options.poll_interval)?),
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
            Client::LongPoll(c) => c.next_event().await,
            Client::Poll(c) => c.next_event().await,
        }
    }

    /// Closes politely where the transport has a closing handshake.
    pub async fn close(self) {
        match self {
            Client::Ws(c) => c.close().await,
            Client::WsPush(c) => c.close().await,
            Client::Http(_) | Client::LongPoll(_) | Client::Poll(_) => {}
        }
    }
}

/// The payload string of `n` bytes used in echo requests.
pub(crate) fn payload_of(n: usize) -> String {
    "x".repeat(n)
}

pub(crate) fn elapsed_ns(since: std::time::Instant) -> u64 {
    crate::clock::nanos(since.elapsed())
}
