//! The AJAX echo over HTTP/3 (`h3`): hyper's `h3` on the client's own QUIC connection, kept
//! alive, one request per call as the HTTP/1.1 and HTTP/2 clients make.

use std::time::Instant;

use bytes::{Buf, Bytes};

use super::QuicConn;
use crate::tls::Handshake;
use crate::wire::Route;
use crate::{ClientError, ClientOptions, HttpMethod, Measurement, elapsed_ns, payload_of};
use duplex_model::clock::{now_unix_ns, secs_to_unix_ns, unix_ns_to_secs};
use duplex_model::protocol::{EchoReplyView, echo_request_json};
use duplex_model::transport::ForeignMessages;

/// Longest answer body read.
const MAX_BODY: usize = 1 << 20;

type SendRequest = h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;

pub struct H3Client {
    quic: QuicConn,
    send: SendRequest,
    url: String,
    method: HttpMethod,
    payload: String,
    foreign: Option<ForeignMessages>,
    pub(crate) handshakes: Vec<Handshake>,
}

impl H3Client {
    pub async fn connect(
        url: &str,
        route: &Route,
        options: &ClientOptions,
        shared: &super::SharedQuic,
    ) -> Result<H3Client, ClientError> {
        let (quic, handshake) = super::connect(url, route, shared).await?;
        let (mut driver, send) =
            h3::client::new(h3_quinn::Connection::new(quic.conn.clone())).await.map_err(|e| {
                ClientError::Connect { url: url.to_owned(), reason: format!("HTTP/3 did not start: {e}") }
            })?;
        // The connection's driver: it ends when the connection does.
        tokio::spawn(async move { std::future::poll_fn(|cx| driver.poll_close(cx)).await });
        let handshakes = vec![quic.opened(handshake)];
        Ok(H3Client {
            quic,
            send,
            url: url.to_owned(),
            method: options.http_method,
            payload: payload_of(options.payload_bytes),
            foreign: options.foreign.clone(),
            handshakes,
        })
    }

    /// The request for call `seq`: Duplex's echo (POST JSON, or GET with a query), or a
    /// foreign server's message POSTed (a GET asks it nothing of the call).
    fn request(&self, client_time: f64, seq: u64) -> Result<(http::Request<()>, Option<Bytes>), ClientError> {
        let post = |body: String| {
            http::Request::post(&self.url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(())
                .map(|r| (r, Some(Bytes::from(body))))
        };
        let built = match (self.method, &self.foreign) {
            (HttpMethod::Post, Some(f)) => post(f.render(seq, client_time, &self.payload)),
            (HttpMethod::Get, Some(_)) => http::Request::get(&self.url).body(()).map(|r| (r, None)),
            (HttpMethod::Post, None) => post(echo_request_json(client_time, seq, &self.payload)),
            (HttpMethod::Get, None) => {
                let url = crate::endpoints::echo_get_url(&self.url, client_time, seq, &self.payload);
                http::Request::get(url).body(()).map(|r| (r, None))
            }
        };
        built.map_err(|e| ClientError::Reply(e.to_string()))
    }

    pub async fn echo(&mut self, seq: u64) -> Result<Measurement, ClientError> {
        let sent_at = now_unix_ns();
        let (request, body) = self.request(unix_ns_to_secs(sent_at), seq)?;
        let before = self.quic.udp_totals();
        let start = Instant::now();
        let closed = |e: h3::error::StreamError| ClientError::Closed(e.to_string());
        let mut stream = self.send.send_request(request).await.map_err(closed)?;
        let sent = body.clone();
        if let Some(body) = body {
            stream.send_data(body).await.map_err(closed)?;
        }
        stream.finish().await.map_err(closed)?;
        let response = stream.recv_response().await.map_err(closed)?;
        let mut answer = Vec::new();
        while let Some(mut chunk) = stream.recv_data().await.map_err(closed)? {
            if answer.len() + chunk.remaining() > MAX_BODY {
                return Err(ClientError::Reply(format!("an answer over {MAX_BODY} bytes")));
            }
            while chunk.has_remaining() {
                let part = chunk.chunk();
                answer.extend_from_slice(part);
                let n = part.len();
                chunk.advance(n);
            }
        }
        let latency_ns = elapsed_ns(start);
        if !response.status().is_success() {
            return Err(ClientError::status(response.status().as_u16(), &answer));
        }
        if let Some(f) = &self.foreign {
            let sent: &[u8] = sent.as_deref().unwrap_or_default();
            f.accepts(sent, &answer).map_err(ClientError::Reply)?;
            return Ok(self.quic.measured(sent_at, latency_ns, None, before));
        }
        let view = EchoReplyView::parse(&answer).map_err(|e| ClientError::Reply(e.to_string()))?;
        if view.seq != Some(seq) {
            return Err(ClientError::Reply(format!("expected seq {seq}, got {:?}", view.seq)));
        }
        Ok(self.quic.measured(sent_at, latency_ns, secs_to_unix_ns(view.server_time), before))
    }

    pub async fn close(self) {
        self.quic.conn.close(0u32.into(), b"done");
    }
}
