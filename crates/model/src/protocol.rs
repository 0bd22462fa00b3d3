//! The wire format shared by the echo server and the native clients.
//!
//! It is a superset of what the paper's own programs exchange, so they work unchanged:
//! - Appendix A.1 (Autobahn client) sends a WebSocket text frame holding only a float, its
//!   `client_time` in Unix seconds, and reads `client_time` back from a JSON object.
//! - Appendix B.1 (jQuery AJAX) sends `GET msgsrv.php?time=<secs>&set=<n>&_=<cache buster>`.
//!
//! Duplex's own clients send `{"client_time":…, "seq":…, "payload":…}` and get back the same
//! object with `server_time` (Unix seconds, taken when the server received the message) added.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// WebSocket read buffer of the server's and the clients' connections: small, since echo
/// messages are small and each is flushed at once. tungstenite's defaults (128 KiB to read, 128
/// KiB to write) cost a quarter MiB per socket: 250 MiB for a thousand clients. Bigger messages
/// still arrive, over several reads.
pub const WS_READ_BUFFER: usize = 8 << 10;

/// The server's read buffer of a push socket (`/ws/push`, `/ws/monitor`): its client sends only
/// control frames (a close or a ping, at most 125 bytes of payload), so 256 bytes hold any of
/// them. tungstenite zeroes its whole read buffer before every read attempt, which a push socket
/// makes once per event it sends; with thousands of subscribers the 8 KiB of an echo socket was
/// a twentieth of a broadcast's CPU and most of each held socket's memory.
pub const WS_PUSH_READ_BUFFER: usize = 256;

/// A push subscriber's read buffer (the client side of `/ws/push`): a tick event, about 100
/// bytes, fits many times over; a bigger event arrives over several reads. Small for the same
/// reason as [`WS_PUSH_READ_BUFFER`]: the subscriber reads once per event.
pub const WS_EVENT_READ_BUFFER: usize = 1 << 10;

/// The largest message a server must take for echo requests carrying `payload_bytes` of
/// payload: the payload inside its JSON envelope, with room to spare (binary frames are smaller).
pub fn message_bytes_for(payload_bytes: usize) -> usize {
    payload_bytes.saturating_mul(2).saturating_add(4096)
}

/// Size of the server-time prefix of a binary echo reply.
pub const BINARY_PREFIX_LEN: usize = 8;

/// Why a message could not be understood. Shown to the peer, so it must be short and plain.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtocolError {
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// An echo request as received. `payload` is kept raw so the server echoes it without
/// re-encoding (cheaper, and byte-for-byte what the client sent).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EchoRequest<'a> {
    #[serde(default)]
    pub client_time: Option<f64>,
    #[serde(default)]
    pub seq: Option<u64>,
    #[serde(default, borrow)]
    pub payload: Option<&'a RawValue>,
}

impl<'a> EchoRequest<'a> {
    /// Parses a WebSocket text message or a POST body: a JSON object, or a bare number (A.1).
    pub fn parse(text: &'a str) -> Result<Self, ProtocolError> {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            return serde_json::from_str(trimmed).map_err(|e| ProtocolError::Malformed(e.to_string()));
        }
        match trimmed.parse::<f64>() {
            Ok(t) if t.is_finite() => Ok(EchoRequest { client_time: Some(t), ..Default::default() }),
            _ => Err(ProtocolError::Malformed(format!(
                "expected a JSON object or a number, got {:?}",
                truncate(trimmed, 40)
            ))),
        }
    }
}

/// The payload of a reply: raw JSON from a WebSocket/POST request, or a query-string value.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ReplyPayload<'a> {
    Raw(&'a RawValue),
    Text(&'a str),
}

/// The echo reply, on every transport.
#[derive(Debug, Serialize)]
pub struct EchoReply<'a> {
    pub client_time: Option<f64>,
    pub server_time: f64,
    pub seq: Option<u64>,
    /// The paper's AJAX `set` parameter, echoed when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<&'a str>,
    pub payload: Option<ReplyPayload<'a>>,
}

impl EchoReply<'_> {
    pub fn to_json(&self) -> String {
        // Serialising plain numbers, strings and already-valid raw JSON cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// What a client needs back from an echo reply (the payload is skipped, not copied).
#[derive(Debug, Deserialize, PartialEq)]
pub struct EchoReplyView {
    pub client_time: Option<f64>,
    pub server_time: f64,
    pub seq: Option<u64>,
}

impl EchoReplyView {
    pub fn parse(bytes: &[u8]) -> Result<Self, ProtocolError> {
        serde_json::from_slice(bytes).map_err(|e| ProtocolError::Malformed(e.to_string()))
    }
}

/// Builds the text of a Duplex echo request. The payload is a string of `payload_len` bytes.
pub fn echo_request_json(client_time: f64, seq: u64, payload: &str) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        client_time: f64,
        seq: u64,
        payload: &'a str,
    }
    serde_json::to_string(&Out { client_time, seq, payload }).unwrap_or_default()
}

/// A binary echo reply: the server's receive time (Unix ns, big endian) then the bytes received.
pub fn binary_reply(server_time_ns: i64, received: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BINARY_PREFIX_LEN + received.len());
    out.extend_from_slice(&server_time_ns.to_be_bytes());
    out.extend_from_slice(received);
    out
}

/// Splits a binary echo reply into the server time and the echoed bytes.
pub fn parse_binary_reply(bytes: &[u8]) -> Result<(i64, &[u8]), ProtocolError> {
    if bytes.len() < BINARY_PREFIX_LEN {
        return Err(ProtocolError::Malformed(format!(
            "binary reply of {} bytes is shorter than its {BINARY_PREFIX_LEN}-byte time prefix",
            bytes.len()
        )));
    }
    let (head, rest) = bytes.split_at(BINARY_PREFIX_LEN);
    let mut ts = [0u8; BINARY_PREFIX_LEN];
    ts.copy_from_slice(head);
    Ok((i64::from_be_bytes(ts), rest))
}

/// A server event, for the push-style transports (ws-push, long-poll, poll).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// What happened; `"tick"` for the periodic broadcast of Appendix A.2.
    pub event: String,
    /// Increases by one per event, from 1.
    pub seq: u64,
    /// When the server created the event (Unix ns, the server's clock).
    pub created_ns: i64,
    /// Extra data (live-monitor snapshots); absent for ticks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Event {
    pub fn parse(bytes: &[u8]) -> Result<Self, ProtocolError> {
        serde_json::from_slice(bytes).map_err(|e| ProtocolError::Malformed(e.to_string()))
    }

    /// The server process's CPU time when it created this tick, ns, where the server says it
    /// (`duplex serve --tick-cpu`): what a broadcast costs a server elsewhere, tick to tick.
    pub fn server_cpu_ns(&self) -> Option<u64> {
        self.data.as_ref()?.get(SERVER_CPU_NS)?.as_u64()
    }
}

/// The tick data field that holds the server's CPU time ([`Event::server_cpu_ns`]).
pub const SERVER_CPU_NS: &str = "server_cpu_ns";

/// What `GET /health` answers: identifies a Duplex server and its settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Health {
    pub name: String,
    pub version: String,
    pub tick_ms: u64,
    pub max_message_bytes: usize,
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_a1_bare_float_is_client_time() {
        let req = EchoRequest::parse("1448928000.12345678901234567890").expect("parses");
        assert_eq!(req.client_time, Some(1448928000.1234567));
        assert_eq!(req.seq, None);
    }

    #[test]
    fn duplex_request_round_trips_payload_raw() {
        let text = echo_request_json(1.5, 7, "abc");
        let req = EchoRequest::parse(&text).expect("parses");
        assert_eq!(req.seq, Some(7));
        let reply = EchoReply {
            client_time: req.client_time,
            server_time: 2.0,
            seq: req.seq,
            set: None,
            payload: req.payload.map(ReplyPayload::Raw),
        }
        .to_json();
        assert_eq!(reply, r#"{"client_time":1.5,"server_time":2.0,"seq":7,"payload":"abc"}"#);
        let view = EchoReplyView::parse(reply.as_bytes()).expect("view");
        assert_eq!(view, EchoReplyView { client_time: Some(1.5), server_time: 2.0, seq: Some(7) });
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bad in ["", "tick", "{", "{\"seq\":-1}", "{\"nope\":1}", "NaN", "inf", "\u{0}"] {
            assert!(EchoRequest::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn binary_reply_round_trip_and_short_input() {
        let out = binary_reply(42, b"xyz");
        assert_eq!(parse_binary_reply(&out).expect("ok"), (42, &b"xyz"[..]));
        assert!(parse_binary_reply(b"1234567").is_err());
    }
}
