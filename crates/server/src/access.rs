//! Who may use the server. In LAN mode every request carries the server's random access token
//! (`?token=…`), except the web client's static files (published page code, no data). Always,
//! a WebSocket upgrade from a web page is refused unless the page is the app's own (an allowed
//! origin) or this server's own: no other site open in a browser can drive the server.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;

/// A fresh access token: 122 random bits from the OS, as 32 hex digits.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Paths served without the token: the join page's scripts and styles, which the page's own
/// `<script>` tags fetch without a query.
fn is_static_asset(path: &str) -> bool {
    path.starts_with("/assets/")
}

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(expected) = &state.config.access_token
        && !is_static_asset(request.uri().path())
    {
        let refusal = match token_of(request.uri().query()) {
            None => Some(
                "this Duplex server is in LAN mode: every request needs its access token \
                 (open the URL it shows, …?token=…)",
            ),
            Some(given) if !same(given.as_bytes(), expected.as_bytes()) => Some("wrong access token"),
            Some(_) => None,
        };
        if let Some(reason) = refusal {
            return ApiError { status: StatusCode::UNAUTHORIZED, reason: reason.into() }.into_response();
        }
    }
    if is_upgrade(request.headers())
        && let Some(origin) = request.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && !origin_allowed(origin, request.headers(), &state.config.allowed_origins)
    {
        return ApiError {
            status: StatusCode::FORBIDDEN,
            reason: format!(
                "WebSocket connections from pages at {origin} are refused: only the Duplex app and \
                 this server's own pages may connect"
            ),
        }
        .into_response();
    }
    next.run(request).await
}

fn token_of(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned())
}

/// Compares without stopping at the first difference, so timing tells nothing about the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// An allowed origin (the app's), or this server's own pages (same scheme, host and port).
fn origin_allowed(origin: &str, headers: &HeaderMap, allowed: &[String]) -> bool {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    host.is_some_and(|host| origin.strip_prefix("http://").is_some_and(|o| o.eq_ignore_ascii_case(host)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(same(a.as_bytes(), a.clone().as_bytes()));
        assert!(!same(a.as_bytes(), b.as_bytes()));
        assert!(!same(a.as_bytes(), &a.as_bytes()[..31]));
        assert_eq!(token_of(Some("x=1&token=ab%20c")).as_deref(), Some("ab c"));
        assert_eq!(token_of(Some("x=1")), None);
        assert_eq!(token_of(None), None);
    }

    #[test]
    fn only_the_apps_and_the_servers_own_origins_may_upgrade() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("192.168.1.5:9000"));
        let app = vec!["tauri://localhost".to_owned()];
        assert!(origin_allowed("tauri://localhost", &headers, &app));
        assert!(origin_allowed("http://192.168.1.5:9000", &headers, &app));
        assert!(!origin_allowed("http://192.168.1.5:9001", &headers, &app));
        assert!(!origin_allowed("https://evil.example", &headers, &app));
        assert!(!origin_allowed("null", &headers, &app));
        assert!(!origin_allowed("http://192.168.1.5:9000", &HeaderMap::new(), &[]));
    }
}
