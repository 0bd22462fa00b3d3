//! reqwest for the requests that wait for server events (long-poll, poll, the live monitor's
//! watchers) and the health check.
//!
//! reqwest does not expose its socket, so bytes on the wire are reconstructed from the request
//! it sends and the response it got, header by header as HTTP/1.1 writes them; an integration
//! test checks the reconstruction against bytes counted on a real socket.

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Request, Response};

use super::ClientError;

/// A reqwest client for measuring: no proxy from the environment, Nagle off, and either one
/// kept-alive connection or none.
pub fn build_client(keep_alive: bool) -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(if keep_alive { usize::MAX } else { 0 })
        .build()
        .map_err(|e| ClientError::Connect { url: String::new(), reason: e.to_string() })
}

/// Sends a request and reads the whole body (an AJAX callback fires only then). Returns the
/// status, the response head's length on the wire and the body.
pub async fn send(
    client: &reqwest::Client,
    request: Request,
    url: &str,
) -> Result<(reqwest::StatusCode, u64, bytes::Bytes), ClientError> {
    let response = client.execute(request).await.map_err(|e| transport_error(e, url))?;
    let status = response.status();
    let head_len = response_head_len(&response);
    let body = response.bytes().await.map_err(|e| transport_error(e, url))?;
    Ok((status, head_len, body))
}

fn transport_error(e: reqwest::Error, url: &str) -> ClientError {
    use std::error::Error as _;
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    // Measuring clients set no reqwest timeout (the runner's watchdog times calls out), so a
    // failure here is either no connection or a connection that broke.
    if e.is_connect() {
        ClientError::Connect { url: url.to_owned(), reason }
    } else {
        ClientError::Closed(reason)
    }
}

/// A foreign endpoint's body type: JSON when the message is JSON, else plain text.
pub(crate) fn content_type_of(body: &str) -> HeaderValue {
    if serde_json::from_str::<serde_json::Value>(body).is_ok() {
        HeaderValue::from_static("application/json")
    } else {
        HeaderValue::from_static("text/plain; charset=utf-8")
    }
}

fn headers_len(headers: &HeaderMap) -> u64 {
    headers.iter().map(|(k, v)| (k.as_str().len() + 2 + v.len() + 2) as u64).sum()
}

/// Bytes of an HTTP/1.1 request as hyper writes it: request line, the request's headers plus
/// those reqwest and hyper add (`accept`, `host`, `content-length`), blank line, body.
pub fn request_wire_len(request: &Request, authority: &str, body_len: usize) -> u64 {
    let url = request.url();
    let target_len = url.path().len() + url.query().map_or(0, |q| q.len() + 1);
    let method_len = request.method().as_str().len();
    let line = method_len + 1 + target_len + " HTTP/1.1\r\n".len();
    let headers = request.headers();
    let mut extra = 0;
    if !headers.contains_key(header::ACCEPT) {
        extra += "accept: */*\r\n".len();
    }
    if !headers.contains_key(header::HOST) {
        extra += "host: ".len() + authority.len() + 2;
    }
    if (body_len > 0 || *request.method() == Method::POST) && !headers.contains_key(header::CONTENT_LENGTH) {
        extra += "content-length: ".len() + body_len.to_string().len() + 2;
    }
    (line + extra + 2 + body_len) as u64 + headers_len(headers)
}

/// Bytes of a response head as hyper writes it: status line, headers, blank line.
pub fn response_head_len(response: &Response) -> u64 {
    let status = response.status();
    let reason = status.canonical_reason().unwrap_or("");
    let line = "HTTP/1.1 ".len() + 3 + 1 + reason.len() + 2;
    (line + 2) as u64 + headers_len(response.headers())
}
