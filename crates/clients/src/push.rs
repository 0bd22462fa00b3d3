//! Clients that wait for server events: WebSocket push, HTTP long-poll and HTTP poll.
//! Latency is the event's creation (server clock) to its arrival (client clock): meaningful
//! only when both are the same clock, which the runner records.

use std::time::Duration;

use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::Message;

use super::http::{build_client, request_wire_len, send};
use super::ws::{CountedWs, connect_counted, next_data, ws_frame_len};
use super::{ClientError, Endpoints, Measurement};
use duplex_model::clock::now_unix_ns;
use duplex_model::protocol::Event;

pub(crate) fn measurement_of(event: &Event, bytes_out: u64, bytes_in: u64) -> Measurement {
    let now = now_unix_ns();
    Measurement {
        sent_at_unix_ns: event.created_ns,
        // A negative age means the two clocks disagree (remote server); it is clamped to 0
        // and the run is marked as measured across two clocks.
        latency_ns: u64::try_from(now.saturating_sub(event.created_ns)).unwrap_or(0),
        server_time_unix_ns: Some(event.created_ns),
        bytes_out,
        bytes_in,
        server_cpu_ns: event.server_cpu_ns(),
        new_connection: false,
    }
}

pub(crate) fn parse_event(bytes: &[u8]) -> Result<Event, ClientError> {
    Event::parse(bytes).map_err(|e| ClientError::Reply(e.to_string()))
}

pub struct WsPushClient {
    ws: CountedWs,
}

impl WsPushClient {
    pub async fn connect(url: &str, route: &crate::wire::Route) -> Result<WsPushClient, ClientError> {
        let (ws, _, _) = connect_counted(url, route, duplex_model::protocol::WS_EVENT_READ_BUFFER).await?;
        Ok(WsPushClient { ws })
    }

    /// Drops the events that wait unread (they arrived while this client was not measuring).
    pub async fn resync(&mut self) {
        use futures_util::StreamExt;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(std::time::Duration::ZERO, self.ws.next()).await {}
    }

    pub async fn next_event(&mut self) -> Result<Measurement, ClientError> {
        let message = next_data(&mut self.ws).await?;
        let Message::Text(text) = message else {
            return Err(ClientError::Reply("binary message on the push channel".into()));
        };
        let event = parse_event(text.as_bytes())?;
        // Pushed frames can arrive several per socket read, so the socket count cannot be
        // split per event; an unmasked server frame's size is exact by RFC 6455 instead.
        Ok(measurement_of(&event, 0, ws_frame_len(text.len(), false)))
    }

    pub async fn close(mut self) {
        let _ = futures_util::SinkExt::close(&mut self.ws).await;
    }
}

/// GETs `url`: the body of a 200 (None on 204), with the bytes out and in on the wire. The
/// poll and long-poll clients of events and of the live monitor share it.
pub(crate) async fn get_answer(
    client: &reqwest::Client,
    url: &str,
    authority: &str,
) -> Result<(Option<bytes::Bytes>, u64, u64), ClientError> {
    let request = client.get(url).build().map_err(|e| ClientError::Reply(e.to_string()))?;
    let out = request_wire_len(&request, authority, 0);
    let (status, head_len, body) = send(client, request, url).await?;
    let bytes_in = head_len + body.len() as u64;
    match status {
        StatusCode::OK => Ok((Some(body), out, bytes_in)),
        StatusCode::NO_CONTENT => Ok((None, out, bytes_in)),
        other => Err(ClientError::status(other.as_u16(), &body)),
    }
}

/// GETs `url` and returns the event in the answer (None on 204), with bytes out and in.
async fn get_event(
    client: &reqwest::Client,
    url: &str,
    authority: &str,
) -> Result<(Option<Event>, u64, u64), ClientError> {
    let (body, out, bytes_in) = get_answer(client, url, authority).await?;
    Ok((body.as_deref().map(parse_event).transpose()?, out, bytes_in))
}

pub struct LongPollClient {
    client: reqwest::Client,
    next_url: String,
    authority: String,
    last_seq: Option<u64>,
}

impl LongPollClient {
    /// Waits for an event newer than the server's latest from the next call on.
    pub fn resync(&mut self) {
        self.last_seq = None;
    }

    pub fn new(endpoints: &Endpoints) -> Result<LongPollClient, ClientError> {
        Ok(LongPollClient {
            client: build_client(true)?,
            next_url: endpoints.events_next.clone(),
            authority: endpoints.authority.clone(),
            last_seq: None,
        })
    }

    pub async fn next_event(&mut self) -> Result<Measurement, ClientError> {
        let (mut out, mut inn) = (0, 0);
        loop {
            let url = match self.last_seq {
                Some(seq) => super::with_query(&self.next_url, "after", &seq.to_string()),
                None => self.next_url.clone(),
            };
            let (event, o, i) = get_event(&self.client, &url, &self.authority).await?;
            out += o;
            inn += i;
            // 204: the server's wait ran out before an event; ask again.
            if let Some(event) = event {
                self.last_seq = Some(event.seq);
                return Ok(measurement_of(&event, out, inn));
            }
        }
    }
}

pub struct PollClient {
    client: reqwest::Client,
    url: String,
    authority: String,
    timer: tokio::time::Interval,
    last_seq: Option<u64>,
}

impl PollClient {
    /// Learns where the stream stands again at the next poll.
    pub fn resync(&mut self) {
        self.last_seq = None;
    }

    pub fn new(endpoints: &Endpoints, interval: Duration) -> Result<PollClient, ClientError> {
        let mut timer = tokio::time::interval(interval.max(Duration::from_millis(1)));
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(PollClient {
            client: build_client(true)?,
            url: endpoints.events_latest.clone(),
            authority: endpoints.authority.clone(),
            timer,
            last_seq: None,
        })
    }

    /// Polls at the interval until an event newer than the last one seen appears. Bytes count
    /// every poll it took, empty ones included: that is what polling costs per event.
    pub async fn next_event(&mut self) -> Result<Measurement, ClientError> {
        let (mut out, mut inn) = (0, 0);
        loop {
            self.timer.tick().await;
            let (event, o, i) = get_event(&self.client, &self.url, &self.authority).await?;
            out += o;
            inn += i;
            match (event, self.last_seq) {
                // The first poll only learns where the stream stands.
                (Some(event), None) => self.last_seq = Some(event.seq),
                (Some(event), Some(last)) if event.seq > last => {
                    self.last_seq = Some(event.seq);
                    return Ok(measurement_of(&event, out, inn));
                }
                _ => {}
            }
        }
    }
}

/// Server-Sent Events (`EventSource`'s protocol) over one HTTP/1.1 connection: the server's
/// events arrive as `text/event-stream`, parsed as the HTML standard says.
pub struct SseClient {
    body: hyper::body::Incoming,
    parser: duplex_model::sse::SseParser,
    ready: std::collections::VecDeque<duplex_model::sse::SseEvent>,
    url: String,
}

impl SseClient {
    pub async fn connect(url: &str, route: &crate::wire::Route) -> Result<SseClient, ClientError> {
        use hyper::header;
        let connect_err = |reason: String| ClientError::Connect { url: url.to_owned(), reason };
        let (uri, dial) = route.dial(url)?;
        let tls = dial
            .secure
            .then(|| route.trust.client_config(&[b"http/1.1"]))
            .transpose()
            .map_err(connect_err)?;
        let (wire, _, _) = crate::wire::open(&dial.address, &dial.host, tls.as_ref()).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(wire))
            .await
            .map_err(|e| connect_err(e.to_string()))?;
        tokio::spawn(conn);
        let request = hyper::Request::get(uri.clone())
            .header(header::HOST, uri.authority().map_or("", |a| a.as_str()))
            .header(header::ACCEPT, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| connect_err(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| connect_err(e.to_string()))?;
        let status = response.status();
        let is_stream = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !status.is_success() || !is_stream {
            return Err(connect_err(format!("answered HTTP {status}, not an event stream")));
        }
        Ok(SseClient {
            body: response.into_body(),
            parser: duplex_model::sse::SseParser::new(MAX_SSE_EVENT_BYTES),
            ready: Default::default(),
            url: url.to_owned(),
        })
    }

    /// Drops the events that wait unread (they arrived while this client was not measuring).
    pub async fn resync(&mut self) {
        use http_body_util::BodyExt;
        self.ready.clear();
        while let Ok(Some(Ok(frame))) =
            tokio::time::timeout(std::time::Duration::ZERO, self.body.frame()).await
        {
            if let Ok(data) = frame.into_data() {
                // Complete events are dropped; a partial one stays for the next read.
                let _ = self.parser.feed(&data);
            }
        }
    }

    pub async fn next_event(&mut self) -> Result<Measurement, ClientError> {
        use http_body_util::BodyExt;
        loop {
            if let Some(sse) = self.ready.pop_front() {
                let event = parse_event(sse.data.as_bytes())?;
                // Each event is one chunk of the chunked body: its size line and CR LFs too.
                let chunk = sse.wire_len as u64 + format!("{:x}", sse.wire_len).len() as u64 + 4;
                return Ok(measurement_of(&event, 0, chunk));
            }
            let frame = match self.body.frame().await {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Err(ClientError::Closed(format!("{}: {e}", self.url))),
                None => return Err(ClientError::Closed("the server ended the event stream".into())),
            };
            if let Ok(data) = frame.into_data() {
                let events = self.parser.feed(&data).map_err(|e| ClientError::Reply(e.to_string()))?;
                self.ready.extend(events);
            }
        }
    }
}

/// The largest event an SSE client takes (bigger: the stream is refused).
const MAX_SSE_EVENT_BYTES: usize = 1 << 20;
