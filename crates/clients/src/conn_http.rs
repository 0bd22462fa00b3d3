//! AJAX echo over connections the client opens itself (hyper's client connections), so that
//! every byte is counted on the socket, below TLS. One client for all of them, so that TLS and
//! HTTP/2 are compared with the same code as plain HTTP:
//! - `http`, `http-new`: HTTP/1.1 with keep-alive, or a new connection per request;
//! - `https`: HTTP/1.1 keep-alive over TLS;
//! - `https-new`: a new TCP connection and TLS handshake for every request (a resumed session
//!   when the server offers one, as a browser would);
//! - `h2`: HTTP/2 over TLS (ALPN `h2`), or in cleartext with prior knowledge for an `http://`
//!   URL. The clients of a run share one connection, each exchange a stream of it, where `http`
//!   opens a connection per client.
//!
//! With several `h2` exchanges in flight on the shared connection, the bytes of one cannot be
//! told from another's: each is given the connection's bytes during it, divided by the
//! exchanges that were in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::Mutex;

use super::counting::ByteCounter;
use super::tls::Handshake;
use super::wire::{Dial, Route, open};
use super::{ClientError, ClientOptions, Measurement, elapsed_ns, payload_of};
use duplex_model::clock::{now_unix_ns, secs_to_unix_ns, unix_ns_to_secs};
use duplex_model::protocol::{EchoReplyView, echo_request_json};
use duplex_model::transport::{ForeignMessages, HttpMethod};

/// Which of the three.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    KeepAlive,
    NewConnection,
    Http2,
}

#[derive(Clone)]
enum Sender {
    H1(Arc<Mutex<http1::SendRequest<Full<Bytes>>>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

/// One open connection and its byte counter.
#[derive(Clone)]
pub struct Conn {
    sender: Sender,
    counter: Arc<ByteCounter>,
    /// Exchanges in flight on it (several only for a shared HTTP/2 connection).
    in_flight: Arc<AtomicU64>,
}

impl Conn {
    /// The server (or the network) closed it: the next request needs a new one.
    async fn is_closed(&self) -> bool {
        match &self.sender {
            Sender::H1(sender) => sender.lock().await.is_closed(),
            Sender::H2(sender) => sender.is_closed(),
        }
    }
}

/// The one HTTP/2 connection the `h2` clients of a run share, opened by the first.
pub type SharedHttp2 = Arc<Mutex<Option<Conn>>>;

pub struct ConnHttpClient {
    mode: Mode,
    uri: Uri,
    /// What the request line names: the path and query over HTTP/1.1 (origin form, as a
    /// browser sends it), the whole URI over HTTP/2 (its scheme and authority are pseudo-headers).
    target: String,
    authority: String,
    host: String,
    /// None for an `http://` URL.
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<Conn>,
    shared: SharedHttp2,
    payload: String,
    method: HttpMethod,
    foreign: Option<ForeignMessages>,
    /// Every handshake this client made.
    pub(crate) handshakes: Vec<Handshake>,
}

impl ConnHttpClient {
    pub fn new(
        url: &str,
        route: &Route,
        options: &ClientOptions,
        mode: Mode,
        shared: SharedHttp2,
    ) -> Result<ConnHttpClient, ClientError> {
        let connect_err = |reason: String| ClientError::Connect { url: url.to_owned(), reason };
        let (uri, Dial { address: authority, host, secure }) = route.dial(url)?;
        let alpn: &[&[u8]] = if mode == Mode::Http2 { &[b"h2"] } else { &[b"http/1.1"] };
        let tls = secure.then(|| route.trust.client_config(alpn)).transpose().map_err(connect_err)?;
        let target = match (mode, uri.path_and_query()) {
            (Mode::KeepAlive | Mode::NewConnection, Some(path)) => path.as_str().to_owned(),
            (Mode::KeepAlive | Mode::NewConnection, None) => "/".to_owned(),
            (Mode::Http2, _) => uri.to_string(),
        };
        Ok(ConnHttpClient {
            mode,
            target,
            uri,
            authority,
            host,
            tls,
            conn: None,
            shared,
            payload: payload_of(options.payload_bytes),
            method: options.http_method,
            foreign: options.foreign.clone(),
            handshakes: Vec::new(),
        })
    }

    /// The connection the next request needs (a new one every time for `https-new`), and
    /// whether it was opened for it.
    async fn connection(&mut self) -> Result<(Conn, bool), ClientError> {
        if self.mode == Mode::Http2 {
            let cell = self.shared.clone();
            let mut shared = cell.lock().await;
            if let Some(conn) =
                shared.as_ref().filter(|c| matches!(&c.sender, Sender::H2(s) if !s.is_closed()))
            {
                return Ok((conn.clone(), false));
            }
            let conn = self.open().await?;
            *shared = Some(conn.clone());
            return Ok((conn, true));
        }
        // A kept-alive connection the server closed while it sat idle (its keep-alive timeout,
        // in a long interleaved plan, or during a transfer longer than it) is opened again, as a
        // browser does.
        if let Some(conn) = &self.conn
            && conn.is_closed().await
        {
            self.conn = None;
        }
        match &self.conn {
            Some(conn) if self.mode == Mode::KeepAlive => Ok((conn.clone(), false)),
            _ => {
                let conn = self.open().await?;
                if self.mode == Mode::KeepAlive {
                    self.conn = Some(conn.clone());
                }
                Ok((conn, true))
            }
        }
    }

    async fn open(&mut self) -> Result<Conn, ClientError> {
        let url = self.uri.to_string();
        let (wire, counter, handshake) = open(&self.authority, &self.host, self.tls.as_ref()).await?;
        if let Some(handshake) = handshake {
            if self.mode == Mode::Http2 && handshake.alpn.as_deref() != Some("h2") {
                return Err(ClientError::Connect {
                    url,
                    reason: format!("the server does not offer HTTP/2 (ALPN chose {:?})", handshake.alpn),
                });
            }
            self.handshakes.push(handshake);
        }
        let io = TokioIo::new(wire);
        let broken = |e: hyper::Error| ClientError::Connect { url: url.clone(), reason: e.to_string() };
        let sender = match self.mode {
            Mode::Http2 => {
                let (sender, conn) = http2::handshake(TokioExecutor::new(), io).await.map_err(broken)?;
                tokio::spawn(conn);
                Sender::H2(sender)
            }
            Mode::KeepAlive | Mode::NewConnection => {
                let (sender, conn) = http1::handshake(io).await.map_err(broken)?;
                tokio::spawn(conn);
                Sender::H1(Arc::new(Mutex::new(sender)))
            }
        };
        Ok(Conn { sender, counter, in_flight: Arc::default() })
    }

    fn request(&self, client_time: f64, seq: u64) -> Result<Request<Full<Bytes>>, ClientError> {
        let bad = |e: hyper::http::Error| ClientError::Reply(e.to_string());
        let mut builder = Request::builder();
        let body = match (self.method, &self.foreign) {
            // A foreign endpoint: the template as the body, or the URL as it is.
            (HttpMethod::Post, Some(foreign)) => {
                let body = foreign.render(seq, client_time, &self.payload);
                builder = builder
                    .method(Method::POST)
                    .uri(self.target.as_str())
                    .header(header::CONTENT_TYPE, super::http::content_type_of(&body));
                Bytes::from(body)
            }
            (HttpMethod::Get, Some(_)) => {
                builder = builder.method(Method::GET).uri(self.target.as_str());
                Bytes::new()
            }
            (HttpMethod::Post, None) => {
                builder = builder
                    .method(Method::POST)
                    .uri(self.target.as_str())
                    .header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Bytes::from(echo_request_json(client_time, seq, &self.payload))
            }
            (HttpMethod::Get, None) => {
                builder = builder.method(Method::GET).uri(crate::endpoints::echo_get_url(
                    &self.target,
                    client_time,
                    seq,
                    &self.payload,
                ));
                Bytes::new()
            }
        };
        if self.mode != Mode::Http2 {
            builder = builder.header(header::HOST, self.authority_header());
        }
        if self.mode == Mode::NewConnection {
            builder = builder.header(header::CONNECTION, HeaderValue::from_static("close"));
        }
        builder.header(header::ACCEPT, HeaderValue::from_static("*/*")).body(Full::new(body)).map_err(bad)
    }

    fn authority_header(&self) -> String {
        self.uri.authority().map(|a| a.as_str().to_owned()).unwrap_or_else(|| self.authority.clone())
    }

    pub async fn echo(&mut self, seq: u64) -> Result<Measurement, ClientError> {
        let sent_at = now_unix_ns();
        let request = self.request(unix_ns_to_secs(sent_at), seq)?;
        let sent = request.body().clone();
        let url = self.uri.to_string();
        let start = Instant::now();
        let closed = |e: hyper::Error| ClientError::Closed(format!("{url}: {e}"));
        let mut request = Some(request);
        let mut retried = false;
        let mut opened = false;
        let (conn, in_flight, result) = loop {
            let (conn, new) = self.connection().await?;
            opened |= new;
            let reused = self.mode == Mode::KeepAlive && !new && !retried;
            let (read0, written0) = conn.counter.totals();
            let in_flight = conn.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            let this = match request.take() {
                Some(r) => r,
                None => self.request(unix_ns_to_secs(sent_at), seq)?,
            };
            let result = send(&conn.sender, this).await;
            // The server closed a kept-alive connection as this request left (its close was
            // still on its way): sent again on a new connection once, as browsers do; the
            // call's latency keeps the time lost.
            if let Err(e) = &result
                && reused
                && (e.is_canceled() || e.is_closed() || e.is_incomplete_message())
            {
                conn.in_flight.fetch_sub(1, Ordering::Relaxed);
                self.conn = None;
                retried = true;
                continue;
            }
            break (conn, in_flight, result.map(|r| (r, read0, written0)));
        };
        let latency_ns = elapsed_ns(start);
        let together = in_flight.max(conn.in_flight.fetch_sub(1, Ordering::Relaxed));
        let ((status, body), read0, written0) = result.map_err(closed)?;
        let (read1, written1) = conn.counter.totals();
        // A new connection's TLS handshake belongs to its one request: that is what it costs.
        let (handshake_out, handshake_in) = match (self.mode, self.handshakes.last()) {
            (Mode::NewConnection, Some(h)) if self.tls.is_some() => (h.bytes_out, h.bytes_in),
            _ => (0, 0),
        };
        if !status.is_success() {
            return Err(ClientError::status(status.as_u16(), &body));
        }
        let server_time_unix_ns = match &self.foreign {
            Some(foreign) => {
                if self.method == HttpMethod::Post {
                    let sent = sent.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    foreign.accepts(&sent, &body).map_err(ClientError::Reply)?;
                }
                None
            }
            None => {
                let view = EchoReplyView::parse(&body).map_err(|e| ClientError::Reply(e.to_string()))?;
                if view.seq != Some(seq) {
                    return Err(ClientError::Reply(format!("expected seq {seq}, got {:?}", view.seq)));
                }
                secs_to_unix_ns(view.server_time)
            }
        };
        Ok(Measurement {
            sent_at_unix_ns: sent_at,
            latency_ns,
            server_time_unix_ns,
            bytes_out: (written1 - written0) / together + handshake_out,
            bytes_in: (read1 - read0) / together + handshake_in,
            server_cpu_ns: None,
            new_connection: opened,
        })
    }
}

/// One request on a connection, the whole response read.
async fn send(
    sender: &Sender,
    request: Request<Full<Bytes>>,
) -> Result<(hyper::StatusCode, Bytes), hyper::Error> {
    let response = match sender {
        Sender::H1(sender) => {
            let mut sender = sender.lock().await;
            sender.ready().await?;
            sender.send_request(request).await?
        }
        Sender::H2(sender) => {
            let mut sender = sender.clone();
            sender.ready().await?;
            sender.send_request(request).await?
        }
    };
    let status = response.status();
    Ok((status, response.into_body().collect().await?.to_bytes()))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::Endpoints;

    /// Over HTTP/1.1 the request line names the path and query (origin form), as a browser
    /// writes it, not the absolute URI a proxy gets (that cost 22 bytes a request and made the
    /// server parse a proxy's request).
    #[tokio::test]
    async fn an_http1_request_line_names_the_path_not_the_whole_url() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoints = Endpoints::for_addr(listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut head = vec![0; 4096];
            let n = socket.read(&mut head).await.expect("read");
            let _ =
                socket.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n").await;
            String::from_utf8_lossy(&head[..n]).into_owned()
        });
        let options = ClientOptions { http_method: HttpMethod::Get, ..ClientOptions::default() };
        let mut client = ConnHttpClient::new(
            &endpoints.http_echo,
            &endpoints.route,
            &options,
            Mode::KeepAlive,
            Default::default(),
        )
        .expect("client");
        // The answer is not an echo: only what the server read matters here.
        let _ = client.echo(1).await;
        let head = server.await.expect("server");
        assert!(head.starts_with("GET /echo?client_time="), "{head}");
        assert!(head.to_ascii_lowercase().contains(&format!("host: {}", endpoints.authority)), "{head}");
    }
}
