//! Transports (the ways a message moves between client and server), which kind of client can
//! measure each, and the options every client of a run shares.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The step of a k6 script's clock (`Date.now()`, whole milliseconds), µs: what a
/// [`ClientKind::K6`] sample's time can resolve.
pub const K6_CLOCK_STEP_US: f64 = 1000.0;

/// Which kind of client measured a sample.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// Rust clients in the engine (tokio-tungstenite, reqwest).
    Native,
    /// The web view's own JavaScript (`WebSocket`, `fetch`, `XMLHttpRequest`).
    Webview,
    /// k6 virtual users running a script `duplex k6 export` wrote, on one host or many; their
    /// samples come in by `duplex import --k6`. The script's clock is `Date.now()`: 1 ms steps.
    K6,
}

impl ClientKind {
    /// How a transport measured by this kind of client is named in every view: "http",
    /// "xhr (web view)".
    pub fn label(self, transport: Transport) -> String {
        match self {
            ClientKind::Native => transport.name().to_owned(),
            ClientKind::Webview => format!("{} (web view)", transport.name()),
            ClientKind::K6 => format!("{} (k6)", transport.name()),
        }
    }

    /// The kind of client as a heading: "Native", "Web view", "k6".
    pub fn title(self) -> &'static str {
        match self {
            ClientKind::Native => "Native",
            ClientKind::Webview => "Web view",
            ClientKind::K6 => "k6",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Native => "native",
            ClientKind::Webview => "webview",
            ClientKind::K6 => "k6",
        }
    }
}

impl std::str::FromStr for ClientKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(ClientKind::Native),
            "webview" => Ok(ClientKind::Webview),
            "k6" => Ok(ClientKind::K6),
            other => Err(format!("unknown client {other:?} (expected native, webview or k6)")),
        }
    }
}

/// A way of moving a message between client and server.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS, JsonSchema,
)]
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
    /// WebSocket echo over TLS.
    Wss,
    /// AJAX echo, HTTP/1.1 keep-alive over TLS.
    Https,
    /// AJAX echo on a new TCP connection and TLS handshake per request.
    HttpsNew,
    /// AJAX echo over one HTTP/2 connection (TLS, ALPN `h2`); concurrent clients share it.
    H2,
    /// Server event delivered as a Server-Sent Event (`text/event-stream`, `EventSource`).
    Sse,
    /// WebTransport echo on one long bidirectional stream (HTTP/3 over QUIC): the fair
    /// counterpart of a WebSocket (ordered, reliable, one channel).
    Wt,
    /// WebTransport echo on a new bidirectional stream per message (the session kept): what
    /// WebTransport allows and a WebSocket cannot, each message free of the others' loss.
    WtStreams,
    /// WebTransport echo by datagrams: unreliable, so a lost datagram is counted as lost, not
    /// sent again.
    WtDgram,
    /// AJAX echo over HTTP/3 (QUIC), one connection per client, kept alive.
    H3,
    /// AJAX echo over HTTP/3 on a new QUIC connection per request: resumed, the request rides
    /// in the handshake's first flight as 0-RTT data and the server answers before the
    /// handshake ends (1 RTT in all, where `https-new` takes 3).
    H3New,
    /// Server event delivered on a WebTransport unidirectional stream.
    WtPush,
    /// Server event delivered as a WebTransport datagram: unreliable, so an event whose
    /// datagram is lost is counted as lost (a later event's sequence number shows it).
    WtPushDgram,
}

/// What a transport's latency means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Client send to client receive of the echo, on one clock.
    RoundTrip,
    /// Server event creation to client receipt: one way, across two clocks when remote.
    Push,
}

/// Whether a web client's browser trusts the server's TLS certificate. The app's web view on
/// Linux is told to trust the embedded server's (WebKitGTK's allow-certificate-for-host); joined
/// browsers and other web views are not, so they measure no TLS transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebTrust {
    Trusted,
    Untrusted,
}

impl Transport {
    pub const ALL: [Transport; 19] = [
        Transport::Ws,
        Transport::Http,
        Transport::HttpNew,
        Transport::WsPush,
        Transport::LongPoll,
        Transport::Poll,
        Transport::Xhr,
        Transport::Wss,
        Transport::Https,
        Transport::HttpsNew,
        Transport::H2,
        Transport::Sse,
        Transport::Wt,
        Transport::WtStreams,
        Transport::WtDgram,
        Transport::H3,
        Transport::H3New,
        Transport::WtPush,
        Transport::WtPushDgram,
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
            Transport::Wss => "wss",
            Transport::Https => "https",
            Transport::HttpsNew => "https-new",
            Transport::H2 => "h2",
            Transport::Sse => "sse",
            Transport::Wt => "wt",
            Transport::WtDgram => "wt-dgram",
            Transport::H3 => "h3",
            Transport::H3New => "h3-new",
            Transport::WtPush => "wt-push",
            Transport::WtPushDgram => "wt-push-dgram",
            Transport::WtStreams => "wt-streams",
        }
    }

    /// Whether the transport runs over TLS (QUIC's is always on).
    pub fn is_tls(self) -> bool {
        matches!(self, Transport::Wss | Transport::Https | Transport::HttpsNew | Transport::H2)
            || self.is_quic()
    }

    /// Whether the transport runs over QUIC (UDP), on the server's port number.
    pub fn is_quic(self) -> bool {
        matches!(
            self,
            Transport::Wt
                | Transport::WtDgram
                | Transport::WtStreams
                | Transport::H3
                | Transport::H3New
                | Transport::WtPush
                | Transport::WtPushDgram
        )
    }

    /// Whether every call opens a connection of its own (its handshake part of the call).
    pub fn opens_per_call(self) -> bool {
        matches!(self, Transport::HttpNew | Transport::HttpsNew | Transport::H3New)
    }

    /// Whether the transport carries its messages by datagrams: unreliable, a lost one counted
    /// as loss, never sent again.
    pub fn is_datagram(self) -> bool {
        matches!(self, Transport::WtDgram | Transport::WtPushDgram)
    }

    /// Whether a kind of client can measure this transport. Web pages cannot choose a new TCP
    /// connection per request or the HTTP version, and only web pages have `XMLHttpRequest`.
    /// Web pages use TLS only with servers their browser trusts ([`WebTrust`]).
    pub fn runs_on(self, client: ClientKind) -> bool {
        match client {
            ClientKind::Native => self != Transport::Xhr,
            ClientKind::Webview => self.webview_refusal(WebTrust::Trusted).is_none(),
            ClientKind::K6 => matches!(self, Transport::Ws | Transport::Http),
        }
    }

    /// Why a web page cannot measure this transport (for the plan form and the report), given
    /// whether its browser trusts the server's certificate. WebTransport (`wt`, `wt-streams`, `wt-dgram`)
    /// needs no trust: a page accepts the server's certificate by its SHA-256
    /// (`serverCertificateHashes`). Whether its browser has WebTransport only the page can tell:
    /// one that has none says so in its part ([`crate::record::WebviewInfo::unavailable`]).
    pub fn webview_refusal(self, trust: WebTrust) -> Option<&'static str> {
        match self {
            _ if self.opens_per_call() => Some("a web page cannot ask for a new connection per request"),
            Transport::H2 => Some("a web page cannot choose HTTP/2: its browser picks the HTTP version"),
            Transport::H3 => Some(
                "a web page cannot choose HTTP/3: its browser uses it only for servers its \
                 certificate store trusts, after an Alt-Svc answer",
            ),
            Transport::Wss | Transport::Https if trust == WebTrust::Untrusted => Some(
                "a web page uses TLS only with servers its browser trusts, and the server's \
                 certificate is made at its start (only the app's web view on Linux is told to \
                 trust it)",
            ),
            Transport::WsPush
            | Transport::LongPoll
            | Transport::Poll
            | Transport::WtPush
            | Transport::WtPushDgram => Some("the web clients measure the echo transports and sse"),
            _ => None,
        }
    }

    pub fn pattern(self) -> Pattern {
        match self {
            Transport::Ws
            | Transport::Http
            | Transport::HttpNew
            | Transport::Xhr
            | Transport::Wss
            | Transport::Https
            | Transport::HttpsNew
            | Transport::H2
            | Transport::Wt
            | Transport::WtStreams
            | Transport::WtDgram
            | Transport::H3
            | Transport::H3New => Pattern::RoundTrip,
            Transport::WsPush
            | Transport::LongPoll
            | Transport::Poll
            | Transport::Sse
            | Transport::WtPush
            | Transport::WtPushDgram => Pattern::Push,
        }
    }

    /// The WebSocket transport the AJAX ones are compared with.
    pub fn websocket_of(pattern: Pattern) -> Transport {
        match pattern {
            Pattern::RoundTrip => Transport::Ws,
            Pattern::Push => Transport::WsPush,
        }
    }

    /// The WebSocket transports this one is compared with, the first a run measured: over
    /// TLS `wss` (over QUIC, then `ws`, as today's WebSocket most pages use).
    pub fn websocket_partners(self) -> Vec<Transport> {
        let cleartext = Transport::websocket_of(self.pattern());
        match self {
            _ if self.is_quic() && self.pattern() == Pattern::RoundTrip => {
                vec![Transport::Wss, Transport::Ws]
            }
            _ if self.is_quic() => vec![cleartext],
            _ if self.is_tls() => vec![Transport::Wss],
            _ => vec![cleartext],
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

/// How the AJAX echo sends its data: `post` a JSON body (the same bytes the WebSocket sends),
/// or `get` with a query string like the paper's jQuery call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HttpMethod {
    Get,
    #[default]
    Post,
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
    /// Set when the server is not Duplex's: what to send, and what counts as the reply.
    pub foreign: Option<ForeignMessages>,
}

/// How the echo clients talk to a server that is not Duplex's (`--ws URL`, `--http URL`): the
/// message they send, made from a template, and what counts as its reply. Such a server does
/// not stamp its replies, so its runs have no server time.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignMessages {
    /// The message; `{seq}`, `{time}` (Unix seconds) and `{payload}` are filled in.
    pub template: String,
    pub reply: ReplyRule,
}

/// What counts as the reply to a message sent to a foreign server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyRule {
    /// The next WebSocket message, or the body of the HTTP response (a 2xx status).
    #[default]
    Next,
    /// The same as what was sent (an echo server's answer); anything else is an error.
    Echo,
}

impl std::str::FromStr for ReplyRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "next" => Ok(ReplyRule::Next),
            "echo" => Ok(ReplyRule::Echo),
            other => Err(format!("unknown reply rule {other:?} (expected next or echo)")),
        }
    }
}

impl Default for ForeignMessages {
    fn default() -> Self {
        ForeignMessages { template: DEFAULT_TEMPLATE.to_owned(), reply: ReplyRule::Next }
    }
}

/// Duplex's own echo request: any echo server sends it back, and it reads well in a log.
pub const DEFAULT_TEMPLATE: &str = r#"{"client_time":{time},"seq":{seq},"payload":"{payload}"}"#;

impl ForeignMessages {
    /// The message for call `seq`, sent at `time` (Unix seconds).
    pub fn render(&self, seq: u64, time: f64, payload: &str) -> String {
        self.template
            .replace("{seq}", &seq.to_string())
            .replace("{time}", &time.to_string())
            .replace("{payload}", payload)
    }

    /// Whether `reply` answers `sent`, by the rule.
    pub fn accepts(&self, sent: &[u8], reply: &[u8]) -> Result<(), String> {
        match self.reply {
            ReplyRule::Next => Ok(()),
            ReplyRule::Echo if sent == reply => Ok(()),
            ReplyRule::Echo => Err(format!(
                "the reply is not an echo of the message ({} bytes sent, {} received: {:?})",
                sent.len(),
                reply.len(),
                String::from_utf8_lossy(&reply[..reply.len().min(80)])
            )),
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            payload_bytes: 16,
            binary: false,
            http_method: HttpMethod::Post,
            poll_interval: Duration::from_millis(100),
            foreign: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_in_and_echo_replies_are_checked() {
        let m = ForeignMessages { template: "{seq}/{time}/{payload}/{seq}".into(), reply: ReplyRule::Echo };
        assert_eq!(m.render(7, 1.5, "xx"), "7/1.5/xx/7");
        assert!(m.accepts(b"a", b"a").is_ok());
        assert!(m.accepts(b"a", b"b").expect_err("not an echo").contains("not an echo"));
        assert!(ForeignMessages::default().accepts(b"a", b"anything").is_ok());
        assert!(ForeignMessages::default().render(1, 2.0, "p").contains(r#""seq":1"#));
    }
}
