//! WebTransport sessions. Paths:
//! - `/wt/echo`: Duplex's echo (each message answered with the server's clock, as `/ws`), on
//!   every bidirectional stream the client opens (one message per line: one long stream, the
//!   fair counterpart of a WebSocket, or one stream per message) and on datagrams (one message
//!   per datagram; an answer that would not fit one is dropped, as a lost datagram is).
//! - `/wt/plain`: every line and every datagram back unchanged, for any client.
//! - `/wt/push`: the server's events, one JSON per line on a unidirectional stream the server
//!   opens, or with `?datagrams=1` one per datagram.
//!
//! The session is refused as a WebSocket upgrade is (its Host, token and Origin: see
//! [`crate::access`]); lines over the message limit reset their stream.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use h3::ext::Protocol;
use h3_webtransport::server::{AcceptedBi, WebTransportSession};
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::codec::{FramedRead, LinesCodec};
use tokio_util::sync::CancellationToken;

use super::{H3Connection, H3Stream, Shared};
use duplex_model::clock::now_unix_ns;

type Session = WebTransportSession<h3_quinn::Connection, Bytes>;

/// An extended CONNECT asking for a WebTransport session.
pub(super) fn is_webtransport(request: &http::Request<()>) -> bool {
    request.method() == http::Method::CONNECT
        && request.extensions().get::<Protocol>() == Some(&Protocol::WEB_TRANSPORT)
}

/// What a session does, by its path.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Echo,
    Plain,
    Push { datagrams: bool },
}

fn kind_of(uri: &http::Uri) -> Option<Kind> {
    let datagrams = uri.query().is_some_and(|q| q.split('&').any(|kv| kv == "datagrams=1"));
    match uri.path() {
        "/wt/echo" => Some(Kind::Echo),
        "/wt/plain" => Some(Kind::Plain),
        "/wt/push" => Some(Kind::Push { datagrams }),
        _ => None,
    }
}

/// Why a session may not open (its answer), or what it does: refused as a WebSocket upgrade
/// would be (Host, token, Origin), or for a path that is no session's.
pub(super) fn admit(
    request: &http::Request<()>,
    shared: &Shared,
) -> Result<Kind, Box<axum::response::Response>> {
    if let Some(refusal) = crate::access::refusal(&shared.state, request.headers(), request.uri(), true) {
        return Err(Box::new(refusal));
    }
    kind_of(request.uri()).ok_or_else(|| {
        Box::new(axum::response::IntoResponse::into_response(crate::ApiError {
            status: http::StatusCode::NOT_FOUND,
            reason: format!(
                "no WebTransport endpoint at {}: this server has /wt/echo, /wt/plain and /wt/push",
                request.uri().path()
            ),
        }))
    })
}

/// Sends a refusal's status and headers, and ends the stream (its body would need a session).
pub(super) async fn refuse(mut stream: H3Stream, refusal: Box<axum::response::Response>) {
    let (parts, _) = refusal.into_parts();
    let _ = stream.send_response(http::Response::from_parts(parts, ())).await;
    let _ = stream.finish().await;
}

/// Accepts the session, then serves it until it closes or the server stops.
pub(super) async fn accept(
    request: http::Request<()>,
    stream: H3Stream,
    conn: H3Connection,
    kind: Kind,
    peer: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
) -> Result<(), String> {
    let session = WebTransportSession::accept(request, stream, conn)
        .await
        .map_err(|e| format!("WebTransport session not accepted: {e}"))?;
    let session = Arc::new(session);
    let max = shared.state.config.max_message_bytes;
    let served = async {
        match kind {
            Kind::Echo | Kind::Plain => {
                tokio::join!(
                    echo_streams(&session, kind, peer, &shared, max),
                    echo_datagrams(&session, kind)
                );
            }
            Kind::Push { datagrams } => push(&session, datagrams, &shared).await,
        }
    };
    tokio::select! {
        () = served => {}
        _ = stop.cancelled() => {}
    }
    Ok(())
}

/// The answer to one message: Duplex's echo with the server's clock, or the message itself.
fn answer(kind: Kind, message: &str) -> String {
    match kind {
        Kind::Plain => message.to_owned(),
        _ => crate::echo_text(message, now_unix_ns()),
    }
}

/// Every stream the client opens, echoed line by line; HTTP/3 requests on the session's
/// connection are served as any other.
async fn echo_streams(
    session: &Arc<Session>,
    kind: Kind,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    max: usize,
) {
    let mut n = 0;
    loop {
        match session.accept_bi().await {
            Ok(Some(AcceptedBi::BidiStream(_, stream))) => {
                tokio::spawn(echo_stream(stream, kind, max));
            }
            Ok(Some(AcceptedBi::Request(request, stream))) => {
                n += 1;
                let app = shared.app.clone();
                tokio::spawn(super::request::serve(app, request, stream, peer, n, max));
            }
            Ok(None) | Err(_) => return,
        }
    }
}

async fn echo_stream<S>(stream: S, kind: Kind, max: usize)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = FramedRead::new(read, LinesCodec::new_with_max_length(max));
    while let Some(line) = lines.next().await {
        let Ok(line) = line else {
            // Over the limit or not UTF-8: the stream cannot resynchronise; dropping it resets it.
            return;
        };
        let mut reply = answer(kind, &line);
        reply.push('\n');
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}

async fn echo_datagrams(session: &Arc<Session>, kind: Kind) {
    let mut reader = session.datagram_reader();
    let mut sender = session.datagram_sender();
    while let Ok(datagram) = reader.read_datagram().await {
        let payload = datagram.payload();
        let Ok(text) = std::str::from_utf8(payload) else { continue };
        let reply = match kind {
            Kind::Plain => Bytes::copy_from_slice(payload),
            _ => Bytes::from(answer(kind, text)),
        };
        // Too big for one datagram, or the connection is going: the answer is lost, as a
        // datagram may be.
        let _ = sender.send_datagram(reply);
    }
}

/// The server's events to one subscriber until it goes.
async fn push(session: &Arc<Session>, datagrams: bool, shared: &Arc<Shared>) {
    let mut events = shared.state.hub.subscribe();
    let mut stream = if datagrams {
        None
    } else {
        match session.open_uni(session.session_id()).await {
            Ok(stream) => Some(stream),
            Err(_) => return,
        }
    };
    let mut sender = session.datagram_sender();
    // The session ends when the client stops accepting: its connection closes.
    let closed = async {
        loop {
            match session.accept_bi().await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            }
        }
    };
    tokio::pin!(closed);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(frame) => {
                    let sent = match &mut stream {
                        Some(stream) => {
                            let mut line = Vec::with_capacity(frame.json.len() + 1);
                            line.extend_from_slice(frame.json.as_bytes());
                            line.push(b'\n');
                            stream.write_all(&line).await.is_ok()
                        }
                        None => {
                            // A lost datagram is a lost event: the sequence numbers show it.
                            let _ = sender.send_datagram(Bytes::copy_from_slice(frame.json.as_bytes()));
                            true
                        }
                    };
                    if !sent {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            },
            () = &mut closed => return,
        }
    }
}
