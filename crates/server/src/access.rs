//! Who may use the server. Every request must name one of the server's own hosts (loopback
//! names, its addresses, names it was given): a web page that rebinds its own domain to
//! 127.0.0.1 would otherwise be same-origin with the server and read it. In LAN mode every
//! request carries the server's random access token (`?token=…`), except the web client's
//! static files (published page code, no data). Always, a WebSocket upgrade from a web page is
//! refused unless the page is the app's own (an allowed origin) or this server's own: no other
//! site open in a browser can drive the server.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
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
/// A browser opening an address (it asks for HTML first), not a script or a client.
fn wants_a_page(headers: &axum::http::HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|accept| {
        accept.split(',').next().is_some_and(|first| first.trim().starts_with("text/html"))
    })
}

/// What a person who opened this server's address without its token reads: what happened and
/// what to do (never the token itself).
fn refusal_page(reason: &str) -> Response {
    let reason = reason.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Duplex: this address needs its access token</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}}\
         code{{background:#eee;padding:0 .2rem}}</style></head><body>\
         <h1>This Duplex server needs its access token</h1>\
         <p>The address you opened is a Duplex server in LAN mode, and it answers only requests that \
         carry its access token: {reason}.</p>\
         <p><b>What to do:</b> on the device that serves (the Duplex app's <i>LAN</i> tab, or \
         <code>duplex serve --lan</code>), open the full address it shows, the one that ends with \
         <code>?token=…</code>, or scan its QR code with this device's camera.</p></body></html>"
    );
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        body,
    )
        .into_response()
}

fn is_static_asset(path: &str) -> bool {
    path.starts_with("/assets/")
}

/// The names a server answers to: loopback names and addresses, the address it listens on (every
/// network address of this machine when it listens on all of them), and names it was given.
#[derive(Debug, Clone)]
pub struct OwnHosts(Vec<String>);

impl OwnHosts {
    pub fn of(extra: &[String], bound: SocketAddr) -> OwnHosts {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        let ips: Vec<IpAddr> =
            if bound.ip().is_unspecified() { super::lan::all_addresses() } else { vec![bound.ip()] };
        names.extend(ips.into_iter().map(|ip| ip.to_string()));
        names.extend(extra.iter().map(|h| host_name(h).to_owned()));
        for n in &mut names {
            n.make_ascii_lowercase();
        }
        names.sort();
        names.dedup();
        OwnHosts(names)
    }

    /// Whether a Host header names this server (a request without one is not a browser's).
    pub fn allows(&self, host: Option<&str>) -> bool {
        host.is_none_or(|h| {
            let name = host_name(h).to_ascii_lowercase();
            // `*.localhost` resolves to loopback by specification, never through DNS.
            self.0.contains(&name) || name.ends_with(".localhost")
        })
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }
}

/// The host of a Host header value: without its port, IPv6 without brackets.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => name,
        _ => host,
    }
}

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let session = is_upgrade(request.headers());
    if let Some(refusal) = refusal(&state, request.headers(), request.uri(), session) {
        return refusal;
    }
    next.run(request).await
}

/// Why a request may not be served (its answer), or None. `session`: it opens a WebSocket or a
/// WebTransport session, which web pages of other origins may not.
pub(crate) fn refusal(state: &AppState, headers: &HeaderMap, uri: &Uri, session: bool) -> Option<Response> {
    // HTTP/2 and HTTP/3 name the host in the request's authority, HTTP/1.1 in its Host header.
    let host = headers
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("(not text)"))
        .or_else(|| uri.authority().map(|a| a.as_str()));
    if !state.hosts.allows(host) {
        return Some(
            ApiError {
                status: StatusCode::FORBIDDEN,
                reason: format!(
                    "this Duplex server answers only to its own names ({}), not to Host {:?}: a web page \
                 must not reach it through a name of its own (DNS rebinding). To use another name for \
                 this machine, start the server with --allow-host NAME",
                    state.hosts.names().join(", "),
                    host.unwrap_or_default().chars().take(100).collect::<String>()
                ),
            }
            .into_response(),
        );
    }
    if let Some(expected) = &state.config.access_token
        && !is_static_asset(uri.path())
    {
        let refusal = match token_of(uri.query()) {
            None => Some(
                "this Duplex server is in LAN mode: every request needs its access token \
                 (open the URL it shows, …?token=…)",
            ),
            Some(given) if !same(given.as_bytes(), expected.as_bytes()) => Some("wrong access token"),
            Some(_) => None,
        };
        if let Some(reason) = refusal {
            if wants_a_page(headers) {
                return Some(refusal_page(reason));
            }
            return Some(
                ApiError { status: StatusCode::UNAUTHORIZED, reason: reason.into() }.into_response(),
            );
        }
    }
    if session
        && let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && !origin_allowed(origin, host, &state.config.allowed_origins)
    {
        return Some(
            ApiError {
                status: StatusCode::FORBIDDEN,
                reason: format!(
                    "WebSocket and WebTransport sessions from pages at {origin} are refused: only the \
                     Duplex app and this server's own pages may connect"
                ),
            }
            .into_response(),
        );
    }
    None
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
fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    host.is_some_and(|host| {
        let own = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        own.is_some_and(|o| o.eq_ignore_ascii_case(host))
    })
}

#[cfg(test)]
mod host_tests {
    use super::*;

    #[test]
    fn only_own_names_are_answered() {
        let loopback = OwnHosts::of(&[], "127.0.0.1:9000".parse().expect("addr"));
        for ok in [
            None,
            Some("127.0.0.1:9000"),
            Some("localhost"),
            Some("LOCALHOST:1"),
            Some("[::1]:9000"),
            Some("app.localhost:5"),
        ] {
            assert!(loopback.allows(ok), "{ok:?}");
        }
        for bad in [
            "evil.example:9000",
            "evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:9000",
            "localhost.evil.example",
            "",
        ] {
            assert!(!loopback.allows(Some(bad)), "{bad}");
        }
        let named = OwnHosts::of(&["mypc.local".into()], "127.0.0.1:0".parse().expect("addr"));
        assert!(named.allows(Some("MyPC.local:9000")));
        let bound = OwnHosts::of(&[], "192.168.1.5:9000".parse().expect("addr"));
        assert!(bound.allows(Some("192.168.1.5:9000")) && !bound.allows(Some("192.168.1.6:9000")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let host = Some("192.168.1.5:9000");
        let app = vec!["tauri://localhost".to_owned()];
        assert!(origin_allowed("tauri://localhost", host, &app));
        assert!(origin_allowed("http://192.168.1.5:9000", host, &app));
        assert!(!origin_allowed("http://192.168.1.5:9001", host, &app));
        assert!(!origin_allowed("https://evil.example", host, &app));
        assert!(!origin_allowed("null", host, &app));
        assert!(!origin_allowed("http://192.168.1.5:9000", None, &[]));
    }
}
