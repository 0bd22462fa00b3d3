//! WebSocket echo client (tokio-tungstenite) over a byte-counting TCP stream, with or without
//! TLS (`ws`, `wss`).

use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::counting::ByteCounter;
use super::tls::Handshake;
use super::wire::{Route, Wire};
use super::{ClientError, ClientOptions, Measurement, elapsed_ns, payload_of};
use duplex_model::clock::{now_unix_ns, secs_to_unix_ns, unix_ns_to_secs};
use duplex_model::protocol::WS_READ_BUFFER;
use duplex_model::protocol::{EchoReplyView, echo_request_json, parse_binary_reply};

pub type CountedWs = WebSocketStream<Wire>;

/// Why a handshake failed, with the server's own words when it answered (a Duplex server says
/// why it refused: a missing token, too many connections, a foreign origin).
fn refusal(e: tokio_tungstenite::tungstenite::Error) -> String {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let reason = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| body.chars().take(200).collect());
            format!("the server answered HTTP {}: {reason}", response.status())
        }
        other => other.to_string(),
    }
}

/// Opens a WebSocket to `url` (`ws://` or, trusting as `route` says, `wss://`) over a
/// counting TCP stream with Nagle off, reading into `read_buffer` bytes at a time. The TLS
/// handshake, if any, comes back with it.
pub async fn connect_counted(
    url: &str,
    route: &Route,
    read_buffer: usize,
) -> Result<(CountedWs, Arc<ByteCounter>, Option<Handshake>), ClientError> {
    let connect_err = |reason: String| ClientError::Connect { url: url.to_owned(), reason };
    let (_, dial) = route.dial(url)?;
    let tls =
        dial.secure.then(|| route.trust.client_config(&[b"http/1.1"])).transpose().map_err(connect_err)?;
    let (stream, counter, handshake) = super::wire::open(&dial.address, &dial.host, tls.as_ref()).await?;
    // Small buffers, as the server's: every message is flushed at once.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(0);
    let (ws, _response) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| connect_err(refusal(e)))?;
    Ok((ws, counter, handshake))
}

pub struct WsClient {
    ws: CountedWs,
    counter: Arc<ByteCounter>,
    payload: String,
    binary: bool,
    foreign: Option<duplex_model::transport::ForeignMessages>,
    /// The TLS handshakes of its connections, oldest first (one per connection over TLS).
    pub(crate) handshakes: Vec<Handshake>,
    /// Where it connects, to connect again ([`WsClient::resync`]).
    url: String,
    route: Route,
}

impl WsClient {
    pub async fn connect(url: &str, route: &Route, options: &ClientOptions) -> Result<WsClient, ClientError> {
        let (ws, counter, handshake) = connect_counted(url, route, WS_READ_BUFFER).await?;
        let (url, route) = (url.to_owned(), route.clone());
        Ok(WsClient {
            ws,
            counter,
            payload: payload_of(options.payload_bytes),
            binary: options.binary,
            foreign: options.foreign.clone(),
            handshakes: handshake.into_iter().collect(),
            url,
            route,
        })
    }

    /// Before a block of calls: a connection the server closed while it sat idle (its idle
    /// timeout, reached in long interleaved plans over slow links) is opened again, so that
    /// the block measures echoes, not a close frame that waited unread. Echo clients receive
    /// nothing unasked: whatever waits is the server's close (or the connection's end).
    pub async fn resync(&mut self) {
        use futures_util::FutureExt;
        let closed = match self.ws.next().now_or_never() {
            None => false,
            Some(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => false,
            Some(_) => true,
        };
        if !closed {
            return;
        }
        // If it cannot, the next call meets the closed connection and says why.
        if let Ok((ws, counter, handshake)) = connect_counted(&self.url, &self.route, WS_READ_BUFFER).await {
            (self.ws, self.counter) = (ws, counter);
            self.handshakes.extend(handshake);
        }
    }

    /// A foreign server's echo: the template's message, and the next message as its reply.
    async fn foreign_echo(
        &mut self,
        foreign: &duplex_model::transport::ForeignMessages,
        seq: u64,
    ) -> Result<Measurement, ClientError> {
        let sent_at = now_unix_ns();
        let text = foreign.render(seq, unix_ns_to_secs(sent_at), &self.payload);
        let (read0, written0) = self.counter.totals();
        let start = Instant::now();
        self.ws.send(Message::Text(text.clone().into())).await.map_err(closed)?;
        let reply = next_data(&mut self.ws).await?;
        let latency_ns = elapsed_ns(start);
        let (read1, written1) = self.counter.totals();
        let reply_bytes: &[u8] = match &reply {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            _ => &[],
        };
        foreign.accepts(text.as_bytes(), reply_bytes).map_err(ClientError::Reply)?;
        Ok(Measurement {
            sent_at_unix_ns: sent_at,
            latency_ns,
            server_time_unix_ns: None,
            bytes_out: written1 - written0,
            bytes_in: read1 - read0,
            server_cpu_ns: None,
            new_connection: false,
        })
    }

    pub async fn echo(&mut self, seq: u64) -> Result<Measurement, ClientError> {
        if let Some(foreign) = self.foreign.clone() {
            return self.foreign_echo(&foreign, seq).await;
        }
        let sent_at = now_unix_ns();
        let message = if self.binary {
            Message::Binary(self.payload.clone().into_bytes().into())
        } else {
            Message::Text(echo_request_json(unix_ns_to_secs(sent_at), seq, &self.payload).into())
        };
        let (read0, written0) = self.counter.totals();
        let start = Instant::now();
        self.ws.send(message).await.map_err(closed)?;
        let reply = next_data(&mut self.ws).await?;
        let latency_ns = elapsed_ns(start);
        let (read1, written1) = self.counter.totals();

        let server_time_unix_ns = match reply {
            Message::Text(text) => {
                let view =
                    EchoReplyView::parse(text.as_bytes()).map_err(|e| ClientError::Reply(e.to_string()))?;
                if view.seq != Some(seq) {
                    return Err(ClientError::Reply(format!("expected seq {seq}, got {:?}", view.seq)));
                }
                secs_to_unix_ns(view.server_time)
            }
            Message::Binary(bytes) => {
                let (server_ns, echoed) =
                    parse_binary_reply(&bytes).map_err(|e| ClientError::Reply(e.to_string()))?;
                if echoed.len() != self.payload.len() {
                    return Err(ClientError::Reply(format!(
                        "binary echo of {} bytes, sent {}",
                        echoed.len(),
                        self.payload.len()
                    )));
                }
                Some(server_ns)
            }
            _ => return Err(ClientError::Reply("unexpected control message".into())),
        };
        Ok(Measurement {
            sent_at_unix_ns: sent_at,
            latency_ns,
            server_time_unix_ns,
            bytes_out: written1 - written0,
            bytes_in: read1 - read0,
            server_cpu_ns: None,
            new_connection: false,
        })
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Bytes of a single-frame WebSocket message with `payload` bytes (RFC 6455 section 5.2):
/// 2 header bytes, 2 or 8 more for lengths over 125 or 65535, 4 for a client's mask.
pub fn ws_frame_len(payload: usize, masked: bool) -> u64 {
    let ext = match payload {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    (2 + ext + if masked { 4 } else { 0 } + payload) as u64
}

/// The next text or binary message; pings and pongs are answered by tungstenite and skipped.
pub async fn next_data(ws: &mut CountedWs) -> Result<Message, ClientError> {
    loop {
        match ws.next().await {
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => return Ok(m),
            Some(Ok(Message::Close(frame))) => {
                let why =
                    frame.map_or_else(|| "no reason".to_owned(), |f| format!("{} {}", f.code, f.reason));
                return Err(ClientError::Closed(format!("server closed the WebSocket ({why})")));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(closed(e)),
            None => return Err(ClientError::Closed("server went away".into())),
        }
    }
}

fn closed(e: tokio_tungstenite::tungstenite::Error) -> ClientError {
    ClientError::Closed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::ws_frame_len;

    #[test]
    fn frame_lengths_follow_rfc_6455() {
        assert_eq!(ws_frame_len(0, false), 2);
        assert_eq!(ws_frame_len(125, true), 131);
        assert_eq!(ws_frame_len(126, false), 130);
        assert_eq!(ws_frame_len(70_000, true), 70_014);
    }
}
