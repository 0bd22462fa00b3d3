//! One HTTP/3 request through the server's axum routes: the body read (up to the message
//! limit: over it, 413 as over TCP), the answer's head and body frames sent back as they come
//! (a Server-Sent Events stream keeps flowing).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::H3Stream;
use crate::http::ConnectionRequest;

/// Serves `request` (the `n`th on its connection) and logs why it ended early, if it did.
pub(super) async fn serve(
    app: Router,
    request: http::Request<()>,
    stream: H3Stream,
    peer: SocketAddr,
    n: u64,
    max_body: usize,
) {
    if let Err(e) = answer(app, request, stream, peer, n, max_body).await {
        tracing::debug!("HTTP/3 request from {peer} ended: {e}");
    }
}

async fn answer(
    app: Router,
    request: http::Request<()>,
    mut stream: H3Stream,
    peer: SocketAddr,
    n: u64,
    max_body: usize,
) -> Result<(), h3::error::StreamError> {
    let mut body = BytesMut::new();
    while let Some(mut chunk) = stream.recv_data().await? {
        if body.len() + chunk.remaining() > max_body {
            let refusal = crate::ApiError {
                status: http::StatusCode::PAYLOAD_TOO_LARGE,
                reason: format!("the request's body is over this server's limit of {max_body} bytes"),
            };
            return send(&mut stream, axum::response::IntoResponse::into_response(refusal)).await;
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            body.extend_from_slice(part);
            let len = part.len();
            chunk.advance(len);
        }
    }
    let (mut parts, ()) = request.into_parts();
    parts.extensions.insert(ConnectInfo::<SocketAddr>(peer));
    parts.extensions.insert(ConnectionRequest(n));
    let request = http::Request::from_parts(parts, axum::body::Body::from(body.freeze()));
    let response = match app.oneshot(request).await {
        Ok(response) => response,
        Err(infallible) => match infallible {},
    };
    send(&mut stream, response).await
}

/// Sends an answer's head, then its body's data frames until the body ends or the client goes.
async fn send(
    stream: &mut H3Stream,
    response: axum::response::Response,
) -> Result<(), h3::error::StreamError> {
    let (parts, mut body) = response.into_parts();
    stream.send_response(http::Response::from_parts(parts, ())).await?;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            let data: Bytes = data;
            if !data.is_empty() {
                stream.send_data(data).await?;
            }
        }
    }
    stream.finish().await
}
