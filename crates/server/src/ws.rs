//! WebSocket endpoints: the echo (text and binary), the plain echo and the push subscription.

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::events::EventFrame;
use duplex_model::clock::{now_unix_ns, unix_ns_to_secs};
use duplex_model::protocol::{
    EchoReply, EchoRequest, ReplyPayload, WS_PUSH_READ_BUFFER, WS_READ_BUFFER, binary_reply,
};

/// Answers one text message: the echo reply, or `{"error": …}` when it cannot be parsed.
pub fn echo_text(text: &str, server_time_ns: i64) -> String {
    match EchoRequest::parse(text) {
        Ok(req) => EchoReply {
            client_time: req.client_time,
            server_time: unix_ns_to_secs(server_time_ns),
            seq: req.seq,
            set: None,
            payload: req.payload.map(ReplyPayload::Raw),
        }
        .to_json(),
        Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
    }
}

pub async fn echo(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    configure(ws, &state, WS_READ_BUFFER).on_upgrade(move |socket| echo_socket(socket, state, Echo::Duplex))
}

/// `/ws/echo`: every message back unchanged (text as text, binary as binary), for any client
/// that wants a plain echo server: websocat, a browser console, k6, a conformance suite.
pub async fn plain_echo(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    configure(ws, &state, WS_READ_BUFFER).on_upgrade(move |socket| echo_socket(socket, state, Echo::Plain))
}

/// How an echo socket answers.
#[derive(Clone, Copy, PartialEq)]
enum Echo {
    /// Duplex's protocol: the reply carries the server's clock.
    Duplex,
    /// The message itself.
    Plain,
}

pub async fn push(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    // Subscribed before the upgrade completes: no event between the two is lost.
    let events = state.hub.subscribe();
    configure(ws, &state, WS_PUSH_READ_BUFFER).on_upgrade(move |socket| push_socket(socket, events, state))
}

/// `/ws/monitor`: every live-monitor snapshot; the agent samples while anyone subscribes.
pub async fn monitor(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    let events = state.monitor.subscribe();
    configure(ws, &state, WS_PUSH_READ_BUFFER).on_upgrade(move |socket| push_socket(socket, events, state))
}

fn configure(ws: WebSocketUpgrade, state: &AppState, read_buffer: usize) -> WebSocketUpgrade {
    let max = state.config.max_message_bytes;
    ws.max_message_size(max).max_frame_size(max).read_buffer_size(read_buffer).write_buffer_size(0)
}

async fn echo_socket(mut socket: WebSocket, state: AppState, echo: Echo) {
    let shutdown = state.shutdown.cancelled();
    tokio::pin!(shutdown);
    let idle = state.config.limits.ws_idle_timeout;
    loop {
        let msg = tokio::select! {
            biased;
            msg = socket.recv() => msg,
            _ = &mut shutdown => return going_away(socket).await,
            _ = tokio::time::sleep(idle) => {
                let _ = socket.send(close(close_code::POLICY, "idle too long")).await;
                return;
            }
        };
        let now = now_unix_ns();
        let reply = match msg {
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) if echo == Echo::Plain => m,
            Some(Ok(Message::Text(text))) => Message::Text(echo_text(text.as_str(), now).into()),
            Some(Ok(Message::Binary(bytes))) => Message::Binary(binary_reply(now, &bytes).into()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) => return answer_close(socket).await,
            None => return,
            Some(Err(e)) => return fail(socket, e).await,
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}

async fn push_socket(mut socket: WebSocket, mut events: broadcast::Receiver<EventFrame>, state: AppState) {
    let shutdown = state.shutdown.cancelled();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(frame) => {
                    if socket.send(Message::Text(frame.json)).await.is_err() {
                        return;
                    }
                }
                // A slow subscriber skips what it missed; the sequence numbers show the gap.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return going_away(socket).await,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) => return answer_close(socket).await,
                None => return,
                Some(Err(e)) => return fail(socket, e).await,
                Some(Ok(_)) => continue,
            },
            _ = &mut shutdown => return going_away(socket).await,
        }
    }
}

/// The peer's Close was read and tungstenite has queued the reply: send it, then drop the
/// connection (the server closes TCP first: RFC 6455 section 7.1.1). Returning without it left
/// the reply unsent, and every closing handshake unclean (the Autobahn cases said so).
async fn answer_close(mut socket: WebSocket) {
    use futures_util::SinkExt;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), socket.flush()).await;
}

async fn going_away(mut socket: WebSocket) {
    let _ = socket.send(close(close_code::AWAY, "server shutting down")).await;
}

/// Ends a connection whose input broke, with the close code RFC 6455 gives the reason: 1009 for
/// a message over the size limit, 1007 for a text message that is not UTF-8, 1002 for any other
/// protocol error (unmasked or fragmented control frames, bad opcodes). The reader cannot
/// resynchronise after any of them, so we stop reading.
async fn fail(mut socket: WebSocket, err: axum::Error) {
    use tokio_tungstenite::tungstenite::Error;
    let (code, reason) = match tungstenite_error(&err) {
        Some(Error::Capacity(_)) => (close_code::SIZE, "message too big"),
        Some(Error::Utf8(_)) => (close_code::INVALID, "text message is not UTF-8"),
        _ => (close_code::PROTOCOL, "protocol error"),
    };
    tracing::debug!("websocket closed on error: {err}");
    let _ = socket.send(close(code, reason)).await;
}

fn tungstenite_error(err: &axum::Error) -> Option<&tokio_tungstenite::tungstenite::Error> {
    use std::error::Error as _;
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
    while let Some(e) = source {
        if let Some(t) = e.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
            return Some(t);
        }
        source = e.source();
    }
    None
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}
