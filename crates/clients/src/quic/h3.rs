//! The AJAX echo over HTTP/3: hyper's `h3` on the client's own QUIC connection, one request
//! per call as the HTTP/1.1 and HTTP/2 clients make.
//! - `h3`: the connection kept alive;
//! - `h3-new`: a new connection per request. Once the client holds a session ticket (from its
//!   first connection on) the request goes in the handshake's first flight as 0-RTT data, and
//!   the server answers before the handshake ends: 1 RTT, where `https-new` takes 3. A call's
//!   bytes are its connection's up to the answer, handshake and all (they share packets), and
//!   what the last call's connection carried after its own answer.

use std::time::Instant;

use bytes::{Buf, Bytes};

use super::{QuicConn, SharedQuic};
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
    /// The kept-alive connection (`h3`); none for `h3-new`.
    kept: Option<(QuicConn, SendRequest)>,
    /// `h3-new`: the last call's connection, closed once the next call is answered, so that
    /// the session tickets the server sends when its handshake ends (after an early answer)
    /// reach the client for the calls after. Its request sender with it (HTTP/3 closes a
    /// connection whose senders are all gone), and its bytes when its call was counted.
    last: Option<(QuicConn, SendRequest, (u64, u64))>,
    route: Route,
    shared: SharedQuic,
    url: String,
    method: HttpMethod,
    payload: String,
    foreign: Option<ForeignMessages>,
    pub(crate) handshakes: Vec<Handshake>,
}

/// HTTP/3 on a QUIC connection: its request sender, and its driver's task (it ends when the
/// connection does).
async fn start_h3(
    quic: &QuicConn,
    url: &str,
) -> Result<(SendRequest, tokio::task::JoinHandle<()>), ClientError> {
    let (mut driver, send) =
        h3::client::new(h3_quinn::Connection::new(quic.conn.clone())).await.map_err(|e| {
            ClientError::Connect { url: url.to_owned(), reason: format!("HTTP/3 did not start: {e}") }
        })?;
    let driving = tokio::spawn(async move {
        let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
    });
    Ok((send, driving))
}

impl H3Client {
    /// An `h3` client, its connection opened now, or with `new_per_call` an `h3-new` one, whose
    /// calls open their own. An `h3-new` client keeps TLS sessions of its own: its tickets are
    /// its calls' alone.
    pub async fn connect(
        url: &str,
        route: &Route,
        options: &ClientOptions,
        shared: &SharedQuic,
        new_per_call: bool,
    ) -> Result<H3Client, ClientError> {
        let mut client = H3Client {
            kept: None,
            last: None,
            route: route.clone(),
            shared: if new_per_call { shared.own_sessions() } else { shared.clone() },
            url: url.to_owned(),
            method: options.http_method,
            payload: payload_of(options.payload_bytes),
            foreign: options.foreign.clone(),
            handshakes: Vec::new(),
        };
        if !new_per_call {
            let (quic, resumed) = super::connect(url, route, shared).await?;
            let (send, _) = start_h3(&quic, url).await?;
            client.handshakes.push(quic.handshake(resumed, false));
            client.kept = Some((quic, send));
        }
        Ok(client)
    }

    pub async fn echo(&mut self, seq: u64) -> Result<Measurement, ClientError> {
        let sent_at = now_unix_ns();
        let Some((quic, send)) = &mut self.kept else {
            return self.echo_on_a_new_connection(seq, sent_at).await;
        };
        let (request, body) = request(self.method, &self.foreign, &self.url, &self.payload, sent_at, seq)?;
        let before = quic.udp_totals();
        let start = Instant::now();
        let (status, answer) = exchange(send, request, body.clone()).await?;
        let latency_ns = elapsed_ns(start);
        let measured = quic.measured(sent_at, latency_ns, None, before);
        let server_time_unix_ns = self.check(seq, status, body.as_deref(), &answer)?;
        Ok(Measurement { server_time_unix_ns, ..measured })
    }

    /// `h3-new`'s call: a connection of its own, the request sent at once (as 0-RTT data when
    /// resumed). A server that refused the early data never saw the request: it is sent again
    /// once the handshake is done, the time lost counted.
    async fn echo_on_a_new_connection(&mut self, seq: u64, sent_at: i64) -> Result<Measurement, ClientError> {
        let start = Instant::now();
        let (quic, resuming) = super::open(&self.url, &self.route, &self.shared).await?;
        let full = resuming.is_none().then(|| quic.handshake(false, false));
        let ask = || request(self.method, &self.foreign, &self.url, &self.payload, sent_at, seq);
        let (first, body) = ask()?;
        let (mut send, driving) = start_h3(&quic, &self.url).await?;
        let exchanged = exchange(&mut send, first, body.clone()).await;
        let mut latency_ns = elapsed_ns(start);
        let early = match resuming {
            Some(accepted) => quic.handshake_done(&self.url, accepted).await?,
            None => false,
        };
        let (status, answer) = if full.is_none() && !early {
            let (again, _) = ask()?;
            // HTTP/3 starts again on the connection: the server saw nothing of the first
            // (its streams were refused with the data), whose driver would close it.
            driving.abort();
            send = start_h3(&quic, &self.url).await?.0;
            let answered = exchange(&mut send, again, body.clone()).await?;
            latency_ns = elapsed_ns(start);
            answered
        } else {
            exchanged?
        };
        // Resumed, the handshake's packets carried the request and often its answer: it is
        // counted with them.
        self.handshakes.push(full.unwrap_or_else(|| quic.handshake(early, early)));
        let mut measured = quic.measured(sent_at, latency_ns, None, (0, 0));
        let counted = (measured.bytes_out, measured.bytes_in);
        // What the last call's connection carried after its answer (its handshake's end, the
        // tickets, path MTU probes) is this call's, so that the calls' bytes are all their
        // connections' (but the last one's end).
        if let Some((last, _, (out, inn))) = self.last.replace((quic, send, counted)) {
            let (now_out, now_in) = last.udp_totals();
            measured.bytes_out += now_out.saturating_sub(out);
            measured.bytes_in += now_in.saturating_sub(inn);
            last.conn.close(0u32.into(), b"done");
        }
        let server_time_unix_ns = self.check(seq, status, body.as_deref(), &answer)?;
        Ok(Measurement { server_time_unix_ns, new_connection: true, ..measured })
    }

    /// The answer's time on the server, once it is known to answer call `seq` (a foreign
    /// server's by its rule).
    fn check(
        &self,
        seq: u64,
        status: http::StatusCode,
        sent: Option<&[u8]>,
        answer: &[u8],
    ) -> Result<Option<i64>, ClientError> {
        if !status.is_success() {
            return Err(ClientError::status(status.as_u16(), answer));
        }
        if let Some(f) = &self.foreign {
            f.accepts(sent.unwrap_or_default(), answer).map_err(ClientError::Reply)?;
            return Ok(None);
        }
        let view = EchoReplyView::parse(answer).map_err(|e| ClientError::Reply(e.to_string()))?;
        if view.seq != Some(seq) {
            return Err(ClientError::Reply(format!("expected seq {seq}, got {:?}", view.seq)));
        }
        Ok(secs_to_unix_ns(view.server_time))
    }

    pub async fn close(self) {
        let last = self.last.map(|(quic, send, _)| (quic, send));
        for (quic, _) in self.kept.into_iter().chain(last) {
            quic.conn.close(0u32.into(), b"done");
        }
    }
}

/// The request for call `seq` sent at `sent_at`: Duplex's echo (POST JSON, or GET with a
/// query), or a foreign server's message POSTed (a GET asks it nothing of the call).
fn request(
    method: HttpMethod,
    foreign: &Option<ForeignMessages>,
    url: &str,
    payload: &str,
    sent_at: i64,
    seq: u64,
) -> Result<(http::Request<()>, Option<Bytes>), ClientError> {
    let client_time = unix_ns_to_secs(sent_at);
    let post = |body: String| {
        http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(())
            .map(|r| (r, Some(Bytes::from(body))))
    };
    let built = match (method, foreign) {
        (HttpMethod::Post, Some(f)) => post(f.render(seq, client_time, payload)),
        (HttpMethod::Get, Some(_)) => http::Request::get(url).body(()).map(|r| (r, None)),
        (HttpMethod::Post, None) => post(echo_request_json(client_time, seq, payload)),
        (HttpMethod::Get, None) => {
            let url = crate::endpoints::echo_get_url(url, client_time, seq, payload);
            http::Request::get(url).body(()).map(|r| (r, None))
        }
    };
    built.map_err(|e| ClientError::Reply(e.to_string()))
}

/// One request and its whole answer: the status and the body (at most [`MAX_BODY`]).
async fn exchange(
    send: &mut SendRequest,
    request: http::Request<()>,
    body: Option<Bytes>,
) -> Result<(http::StatusCode, Vec<u8>), ClientError> {
    let closed = |e: h3::error::StreamError| ClientError::Closed(e.to_string());
    let mut stream = send.send_request(request).await.map_err(closed)?;
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
    Ok((response.status(), answer))
}
