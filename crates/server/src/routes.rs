//! Every route, the state handlers share, CORS, and the plain page at `/`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderValue, Method};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::monitor::MonitorHub;
use crate::{EventHub, ServerConfig, access, http, join, sse, ws};

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub hub: Arc<EventHub>,
    pub shutdown: CancellationToken,
    pub tickets: Arc<join::Tickets>,
    pub monitor: Arc<MonitorHub>,
    /// Long-polls waiting now.
    pub long_polls: Arc<std::sync::atomic::AtomicUsize>,
    /// The Host names requests may carry (see [`ServerConfig::allowed_hosts`]).
    pub hosts: Arc<access::OwnHosts>,
    /// The server's certificate (None: TLS off), renewed while it runs.
    pub tls: Option<crate::TlsIdentity>,
    /// Why HTTP/3 and WebTransport are not served, when they are not.
    pub quic_unavailable: Option<Arc<str>>,
}

/// All routes, without a socket: tests can drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_message_bytes;
    // Browsers' results are bigger than one message: they bring their own limit.
    let upload_limit = state.config.browser_join.as_ref().map_or(body_limit, |j| j.max_upload_bytes);
    let cors = cors_layer(&state.config.allowed_origins);
    let router = Router::new()
        .route("/", get(root))
        .route("/ws", get(ws::echo))
        .route("/ws/push", get(ws::push))
        .route("/ws/echo", get(ws::plain_echo))
        .route("/events/sse", get(sse::events))
        .route("/echo", get(http::echo_get).post(http::echo_post))
        .route("/echo/plain", post(http::plain_echo))
        .route("/msgsrv.php", get(http::echo_get))
        .route("/events/latest", get(http::poll))
        .route("/events/next", get(http::long_poll))
        .route("/health", get(http::health))
        .route("/ws/monitor", get(ws::monitor))
        .route("/monitor/latest", get(http::monitor_latest))
        .route("/monitor/next", get(http::monitor_next))
        .route("/assets/{*path}", get(join::asset))
        .route("/join/plan", get(join::plan))
        .route("/join/results", post(join::results).layer(DefaultBodyLimit::max(upload_limit)))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(http::connection_request))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard))
        // Pages that are cross-origin isolated (the app's, for a finer clock) may read answers
        // they fetch without CORS too.
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        ))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// CORS for the listed origins: simple GET and POST (text bodies need no preflight), every
/// response header readable so web clients can count the bytes they received.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([axum::http::header::CONTENT_TYPE])
            .expose_headers(tower_http::cors::Any)
            .max_age(Duration::from_secs(3600))
    })
}

async fn root(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let wants_ws = parts
        .headers
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_ws {
        let host = parts.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
        return join::page(&state, host).unwrap_or_else(|| Html(INDEX).into_response());
    }
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => ws::echo(upgrade, State(state)).await,
        Err(rejection) => rejection.into_response(),
    }
}

const INDEX: &str = "<!doctype html><meta charset=utf-8><title>Duplex echo server</title>\
<h1>Duplex echo server</h1><p>WebSocket echo: <code>/ws</code> (or <code>/</code>), push: \
<code>/ws/push</code>, plain echo (any client): <code>/ws/echo</code>, <code>POST /echo/plain</code>. AJAX echo: <code>GET|POST /echo</code>, <code>GET /msgsrv.php</code>. \
Events: <code>/events/latest</code>, <code>/events/next?after=SEQ</code>, \
<code>/events/sse</code>. <code>/health</code>. HTTP/1.1 and HTTP/2, with and without TLS, on this \
one port.</p>";
