//! HTTP endpoints: the AJAX echo (GET with a query, POST with a JSON body, and the paper's
//! `msgsrv.php`), the poll and long-poll event endpoints, and `/health`.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiError;
use super::{AppState, EventHub};
use duplex_model::clock::{now_unix_ns, unix_ns_to_secs};
use duplex_model::protocol::{EchoReply, EchoRequest, Health, ReplyPayload};

/// Query of `GET /echo`. `time` is the paper's name for `client_time` (Appendix B.1), `set`
/// its tag for the run, and `_` jQuery's cache buster; all are accepted.
#[derive(Debug, Deserialize)]
pub struct EchoQuery {
    #[serde(alias = "time")]
    client_time: Option<f64>,
    seq: Option<u64>,
    payload: Option<String>,
    set: Option<String>,
}

/// Header with the size of the request as it crossed the wire (request line, headers, body),
/// sent when the URL asks with `wire=1`. Web pages cannot see what their browser sent; this
/// lets the web-view clients count bytes the way the native ones do.
pub const REQUEST_BYTES_HEADER: &str = "x-duplex-request-bytes";

/// Bytes of an HTTP/1.1 request: `METHOD target HTTP/1.1\r\n`, `name: value\r\n` per header, a
/// blank line, the body. Header names lose their case in parsing, not their length.
pub fn request_wire_len(method: &Method, uri: &Uri, headers: &HeaderMap, body_len: usize) -> u64 {
    let target = uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    let head: usize = headers.iter().map(|(name, value)| name.as_str().len() + 2 + value.len() + 2).sum();
    (method.as_str().len() + 1 + target + 1 + "HTTP/1.1".len() + 2 + head + 2 + body_len) as u64
}

/// Header saying which request on its connection this was (1: the connection's first), sent
/// with [`REQUEST_BYTES_HEADER`]: a page cannot see whether its browser kept a connection alive,
/// and a new connection per call costs a TCP handshake each.
pub const CONNECTION_REQUEST_HEADER: &str = "x-duplex-connection-request";

/// Which request on its connection a request is, counted by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionRequest(pub u64);

/// Middleware: a `wire=1` request's answer says which request on its connection it was.
pub async fn connection_request(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let n = request
        .extensions()
        .get::<ConnectionRequest>()
        .map(|c| c.0)
        .filter(|_| wants_wire_size(request.uri()));
    let mut response = next.run(request).await;
    if let Some(n) = n {
        response.headers_mut().insert(CONNECTION_REQUEST_HEADER, HeaderValue::from(n));
    }
    response
}

fn wants_wire_size(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| q.split('&').any(|kv| kv == "wire=1"))
}

fn echo_response(body: String, request: (&Method, &Uri, &HeaderMap, usize)) -> Response {
    let mut response = json_response(body);
    with_wire_size(&mut response, request);
    response
}

/// Adds the request's size on the wire to `response` when the URL asks with `wire=1`.
fn with_wire_size(response: &mut Response, request: (&Method, &Uri, &HeaderMap, usize)) {
    let (method, uri, headers, body_len) = request;
    if wants_wire_size(uri) {
        let n = request_wire_len(method, uri, headers, body_len);
        response.headers_mut().insert(REQUEST_BYTES_HEADER, HeaderValue::from(n));
    }
}

pub async fn echo_get(
    State(_): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<EchoQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let now = now_unix_ns();
    let Query(q) = query?;
    if q.client_time.is_some_and(|t| !t.is_finite()) {
        return Err(ApiError::bad_request("client_time must be a finite number of seconds"));
    }
    let reply = EchoReply {
        client_time: q.client_time,
        server_time: unix_ns_to_secs(now),
        seq: q.seq,
        set: q.set.as_deref(),
        payload: q.payload.as_deref().map(ReplyPayload::Text),
    };
    Ok(echo_response(reply.to_json(), (&method, &uri, &headers, 0)))
}

pub async fn echo_post(
    State(_): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let now = now_unix_ns();
    let body = body?;
    let text =
        std::str::from_utf8(&body).map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    let req = EchoRequest::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let reply = EchoReply {
        client_time: req.client_time,
        server_time: unix_ns_to_secs(now),
        seq: req.seq,
        set: None,
        payload: req.payload.map(ReplyPayload::Raw),
    };
    Ok(echo_response(reply.to_json(), (&method, &uri, &headers, body.len())))
}

/// `POST /echo/plain`: the body back unchanged, with its content type, as `/ws/echo` does for
/// WebSocket messages: for curl, k6 or a foreign-server run with `--reply echo`.
pub async fn plain_echo(
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// The newest event of `hub` at once (204 before the first), with the request's size when asked.
fn latest_of(hub: &EventHub, request: (&Method, &Uri, &HeaderMap)) -> Response {
    let mut response = match hub.latest() {
        Some(frame) => json_response(Bytes::from(frame.json)),
        None => StatusCode::NO_CONTENT.into_response(),
    };
    with_wire_size(&mut response, (request.0, request.1, request.2, 0));
    response
}

/// `GET /events/latest`: the newest event at once (204 before the first).
pub async fn poll(State(state): State<AppState>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    latest_of(&state.hub, (&method, &uri, &headers))
}

/// `GET /monitor/latest`: the newest live-monitor snapshot (204 until the agent's first);
/// polling keeps the agent sampling.
pub async fn monitor_latest(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    monitor_available(&state)?;
    state.monitor.polled();
    Ok(latest_of(state.monitor.events(), (&method, &uri, &headers)))
}

fn monitor_available(state: &AppState) -> Result<(), ApiError> {
    match state.monitor.problem() {
        Some(why) => Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: format!("the live monitor cannot read this machine: {why}"),
        }),
        None => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    after: Option<u64>,
    timeout_ms: Option<u64>,
}

/// Answers when `hub` has an event newer than `after` (204 after `timeout_ms`, capped by the
/// server's long-poll timeout).
async fn next_of(
    state: &AppState,
    hub: &EventHub,
    q: NextQuery,
    request: (&Method, &Uri, &HeaderMap),
) -> Result<Response, ApiError> {
    let _waiting = LongPollSlot::take(state)?;
    let cap = state.config.long_poll_timeout;
    let timeout = q.timeout_ms.map_or(cap, |ms| Duration::from_millis(ms).min(cap));
    let next = tokio::select! {
        next = hub.next_after(q.after, timeout) => next,
        _ = state.shutdown.cancelled() => None,
    };
    let mut response = match next {
        Some(frame) => json_response(Bytes::from(frame.json)),
        None => StatusCode::NO_CONTENT.into_response(),
    };
    with_wire_size(&mut response, (request.0, request.1, request.2, 0));
    Ok(response)
}

/// A long-poll's place among those waiting (`Limits::max_long_polls`).
struct LongPollSlot(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl LongPollSlot {
    fn take(state: &AppState) -> Result<LongPollSlot, ApiError> {
        use std::sync::atomic::Ordering;
        let max = state.config.limits.max_long_polls;
        let counter = state.long_polls.clone();
        if counter.fetch_add(1, Ordering::AcqRel) >= max {
            counter.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                reason: format!("too many long-polls waiting: this server holds {max} at once"),
            });
        }
        Ok(LongPollSlot(counter))
    }
}

impl Drop for LongPollSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// `GET /events/next?after=SEQ`: long-poll of server events.
pub async fn long_poll(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    next_of(&state, &state.hub, q, (&method, &uri, &headers)).await
}

/// `GET /monitor/next?after=SEQ`: long-poll of live-monitor snapshots.
pub async fn monitor_next(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    monitor_available(&state)?;
    // A waiting long-poll counts as watching, for as long as it waits.
    let _watching = state.monitor.watching();
    next_of(&state, state.monitor.events(), q, (&method, &uri, &headers)).await
}

pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        name: "duplex".into(),
        version: duplex_model::VERSION.into(),
        tick_ms: u64::try_from(state.config.tick_interval.as_millis()).unwrap_or(u64::MAX),
        max_message_bytes: state.config.max_message_bytes,
    })
}

pub fn json_response(body: impl Into<axum::body::Body>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}
