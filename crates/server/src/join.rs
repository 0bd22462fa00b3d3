//! Browser join: any browser that opens the server's page at `/` runs the WebSocket vs
//! fetch/XHR test itself and posts its samples back. The server hands out tickets, serves the
//! page and takes the results in; it knows nothing of runs or statistics: what arrives goes to
//! a [`ResultSink`], which the layer above (the engine's run session) makes a stored run of.
//!
//! `GET /` serves `join.html` and `GET /assets/…` its scripts, from [`WebAssets`] (a built
//! web client directory, or the app's embedded files): nothing outside them is served, and no
//! directory is listed. `GET /join/plan` hands out the plan and a run id (a ticket);
//! `POST /join/results` brings the samples back for that id, once.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Request, State};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_model::platform::BrowserDevice;
use duplex_model::record::{ClientKind, ClientPart};
use duplex_model::{CheckedPlan, ClientRun, WebTrust};

use super::AppState;
use super::error::ApiError;

/// A file of the web client.
pub struct Asset {
    pub bytes: Vec<u8>,
    pub mime: String,
}

/// Where the web client's built files come from. `path` is relative and clean (see
/// [`is_clean`]; the server checks it before asking), e.g. `join.html` or `assets/join-1a.js`.
pub trait WebAssets: Send + Sync {
    fn get(&self, path: &str) -> Option<Asset>;
}

/// A joined browser's results as they arrived, with what the server knows of them.
#[derive(Debug, Clone)]
pub struct JoinedPart {
    /// The ticket's run id, and when it was handed out (Unix ns).
    pub run_id: String,
    pub issued_at_unix_ns: i64,
    /// What the browser was asked to run.
    pub plan: CheckedPlan,
    /// The Host the browser addressed (clipped to 255 characters).
    pub host: String,
    pub peer: Option<SocketAddr>,
    pub device: BrowserDevice,
    pub part: ClientPart,
}

/// Why a sink did not store a joined run. Nothing was stored either way: the browser may post
/// again.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkError {
    /// The samples do not fit the plan (HTTP 422).
    Misfit(String),
    /// Storing failed (HTTP 500).
    Store(String),
}

/// Makes a stored run of a joined browser's part (the engine's run session does, into the
/// history). Called on a blocking thread.
pub type ResultSink = Arc<dyn Fn(JoinedPart) -> Result<Stored, SinkError> + Send + Sync>;

/// Browser join, when the server offers it.
#[derive(Clone)]
pub struct BrowserJoin {
    /// What joining browsers run: the web-view transports of the host's plan.
    pub plan: CheckedPlan,
    pub assets: Arc<dyn WebAssets>,
    pub sink: ResultSink,
    /// Largest results upload accepted (bigger: HTTP 413).
    pub max_upload_bytes: usize,
}

impl fmt::Debug for BrowserJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserJoin").field("plan", &self.plan).finish_non_exhaustive()
    }
}

impl BrowserJoin {
    /// Browsers run the transports of `plan` that a page can measure.
    pub fn new(
        plan: &CheckedPlan,
        assets: Arc<dyn WebAssets>,
        sink: ResultSink,
    ) -> Result<BrowserJoin, String> {
        let plan = plan.for_web(WebTrust::Untrusted).ok_or(
            "none of the plan's transports runs in a browser (choose ws, http, xhr, sse, wt, wt-streams or wt-dgram)",
        )?;
        Ok(BrowserJoin { plan, assets, sink, max_upload_bytes: 32 << 20 })
    }
}

/// The built web client in a directory (`npm run build` in `ui/` writes `ui/dist`).
pub struct DirAssets {
    root: PathBuf,
}

impl DirAssets {
    pub fn new(root: impl Into<PathBuf>) -> Result<DirAssets, String> {
        let root = root.into();
        if !root.join("join.html").is_file() {
            return Err(format!(
                "{} has no join.html: build the web client first (npm ci && npm run build in ui/)",
                root.display()
            ));
        }
        Ok(DirAssets { root })
    }
}

impl WebAssets for DirAssets {
    fn get(&self, path: &str) -> Option<Asset> {
        let file = self.root.join(path);
        let bytes = std::fs::read(&file).ok()?;
        Some(Asset { bytes, mime: mime_of(&file).into() })
    }
}

/// A relative path of plain names: no `..`, `.`, empty parts, backslashes or drive letters.
pub fn is_clean(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains(['\\', ':', '\0']))
}

fn mime_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Run ids handed out and not yet answered. Bounded: the oldest is forgotten first.
#[derive(Default)]
pub struct Tickets(Mutex<VecDeque<Ticket>>);

#[derive(Clone)]
struct Ticket {
    run_id: String,
    issued_at_unix_ns: i64,
}

const MAX_TICKETS: usize = 256;

impl Tickets {
    fn issue(&self) -> Ticket {
        let ticket = Ticket {
            run_id: uuid::Uuid::new_v4().to_string(),
            issued_at_unix_ns: duplex_model::clock::now_unix_ns(),
        };
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= MAX_TICKETS {
            open.pop_front();
        }
        open.push_back(ticket.clone());
        ticket
    }

    fn take(&self, run_id: &str) -> Option<Ticket> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let i = open.iter().position(|t| t.run_id == run_id)?;
        open.remove(i)
    }

    fn give_back(&self, ticket: Ticket) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push_back(ticket);
    }
}

fn join_of(state: &AppState) -> Result<&BrowserJoin, ApiError> {
    state.config.browser_join.as_ref().ok_or_else(|| ApiError {
        status: StatusCode::NOT_FOUND,
        reason: "this Duplex server does not offer browser join".into(),
    })
}

/// The join page and its files. Cross-origin isolated (COOP same-origin, COEP require-corp):
/// browsers give such pages a finer `performance.now()`, and the page times round trips with it.
fn asset_response(asset: Asset) -> Response {
    (
        [
            (header::CONTENT_TYPE, asset.mime),
            (header::CACHE_CONTROL, "no-cache".into()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin".into()),
            (header::HeaderName::from_static("cross-origin-embedder-policy"), "require-corp".into()),
        ],
        asset.bytes,
    )
        .into_response()
}

/// The join page, if the server offers browser join. Its policy lets it load its own files and
/// talk to this server only (`host`, as the browser addressed it), nothing else.
pub fn page(state: &AppState, host: Option<&str>) -> Option<Response> {
    let join = state.config.browser_join.as_ref()?;
    let mut response = join.assets.get("join.html").map(asset_response)?;
    let host = host.filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)));
    // WebSocket, and WebTransport (an https URL on the same host and port, over UDP).
    let ws = host.map(|h| format!(" ws://{h} https://{h}")).unwrap_or_default();
    let policy = format!(
        "default-src 'self'; connect-src 'self'{ws}; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    );
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Some(response)
}

pub async fn asset(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let join = join_of(&state)?;
    let path = request.uri().path().trim_start_matches('/');
    let found = if is_clean(path) { join.assets.get(path) } else { None };
    found.map(asset_response).ok_or_else(|| ApiError {
        status: StatusCode::NOT_FOUND,
        reason: format!("no such file: /{}", path.chars().take(200).collect::<String>()),
    })
}

#[derive(Debug, Serialize, Deserialize, TS)]
pub struct JoinPlan {
    pub run_id: String,
    /// What the browser runs: the web-view part of the host's plan, in the engine's order.
    pub run: ClientRun,
    pub max_upload_bytes: usize,
    /// How the page reaches the server's WebTransport.
    pub webtransport: WebTransportAccess,
}

/// How a page reaches a server's WebTransport (same port number, over UDP): it accepts the
/// server's certificate by its SHA-256 (`serverCertificateHashes`, which takes a self-signed
/// ECDSA certificate valid under 14 days, as the server makes), or learns why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WebTransportAccess {
    /// SHA-256 of the certificate QUIC presents, `AB:CD:…`; None when QUIC is off.
    pub certificate_sha256: Option<String>,
    /// Why the server has no WebTransport, when it has none.
    pub unavailable: Option<String>,
}

impl WebTransportAccess {
    /// A server's: its certificate when QUIC serves, or why QUIC does not.
    pub fn of(tls: Option<&crate::TlsIdentity>, quic_unavailable: Option<&str>) -> WebTransportAccess {
        match (tls, quic_unavailable) {
            (Some(tls), None) => {
                WebTransportAccess { certificate_sha256: Some(tls.fingerprint()), unavailable: None }
            }
            (_, why) => WebTransportAccess {
                certificate_sha256: None,
                unavailable: Some(why.unwrap_or("HTTP/3 and WebTransport are off: they need TLS").to_owned()),
            },
        }
    }
}

pub async fn plan(State(state): State<AppState>) -> Result<Json<JoinPlan>, ApiError> {
    let join = join_of(&state)?;
    let ticket = state.tickets.issue();
    let run = join.plan.web_run(WebTrust::Untrusted).ok_or_else(|| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        reason: "the join plan has no transport a browser can measure".into(),
    })?;
    Ok(Json(JoinPlan {
        run_id: ticket.run_id,
        run,
        max_upload_bytes: join.max_upload_bytes,
        webtransport: WebTransportAccess::of(state.tls.as_ref(), state.quic_unavailable.as_deref()),
    }))
}

/// What a joined browser posts back.
#[derive(Debug, Serialize, Deserialize, TS)]
pub struct JoinResults {
    pub run_id: String,
    pub device: BrowserDevice,
    pub part: ClientPart,
}

#[derive(Debug, Serialize, Deserialize, TS)]
pub struct Stored {
    pub run_id: String,
    /// The host's verdict on the run, e.g. "webview: WebSocket is 2.1× faster than fetch".
    pub headline: Option<String>,
    /// Every WebSocket-versus-AJAX verdict of the run (fetch and XHR each), in words.
    #[serde(default)]
    pub verdicts: Vec<String>,
    /// What the browser measured, per transport, in the host's words.
    #[serde(default)]
    pub rows: Vec<StoredRow>,
}

/// One transport of a joined browser's run, as the host's statistics read it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct StoredRow {
    /// "ws (web view)".
    pub label: String,
    pub calls: u64,
    pub errors: u64,
    /// The median and the p99 in words ("-" where the sample is too small for a p99).
    pub median: String,
    pub p99: String,
}

pub async fn results(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Stored>), ApiError> {
    let join = join_of(&state)?.clone();
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr);
    let host: String = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(255)
        .collect();
    // The route's limit is `max_upload_bytes` (see `router`).
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            reason: format!("results larger than {} bytes are refused", join.max_upload_bytes),
        },
        _ => ApiError::from(r),
    })?;
    let posted: JoinResults = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("these are not Duplex join results: {e}")))?;
    if posted.part.client != ClientKind::Webview {
        return Err(ApiError::bad_request("joined browsers post web client samples only"));
    }
    let ticket = state.tickets.take(&posted.run_id).ok_or_else(|| ApiError {
        status: StatusCode::CONFLICT,
        reason: format!(
            "run {} is not waiting for results: already stored, or not handed out by this server",
            posted.run_id.chars().take(64).collect::<String>()
        ),
    })?;
    let joined = JoinedPart {
        run_id: ticket.run_id.clone(),
        issued_at_unix_ns: ticket.issued_at_unix_ns,
        plan: join.plan.clone(),
        host,
        peer,
        device: posted.device,
        part: posted.part,
    };
    let sink = join.sink.clone();
    let stored = tokio::task::spawn_blocking(move || sink(joined))
        .await
        .unwrap_or_else(|e| Err(SinkError::Store(format!("storing failed: {e}"))));
    match stored {
        Ok(stored) => Ok((StatusCode::CREATED, Json(stored))),
        Err(e) => {
            // Nothing was stored: the browser may post again.
            state.tickets.give_back(ticket);
            Err(match e {
                SinkError::Misfit(reason) => ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, reason },
                SinkError::Store(reason) => ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    reason: format!("the host could not store the run: {reason}"),
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_served() {
        assert!(is_clean("join.html"));
        assert!(is_clean("assets/join-1a2b.js"));
        for bad in ["", "/etc/passwd", "../x", "assets/../../x", "a//b", "./a", "a\\..\\b", "C:x", "a\0b"] {
            assert!(!is_clean(bad), "{bad:?}");
        }
    }

    #[test]
    fn tickets_are_taken_once_and_bounded() {
        let tickets = Tickets::default();
        let first = tickets.issue();
        assert!(tickets.take(&first.run_id).is_some());
        assert!(tickets.take(&first.run_id).is_none());
        let oldest = tickets.issue();
        for _ in 0..MAX_TICKETS {
            tickets.issue();
        }
        assert!(tickets.take(&oldest.run_id).is_none(), "the oldest is forgotten");
    }
}
