//! WebTransport clients (web-transport-quinn): `wt`, echo on one long bidirectional stream (one
//! JSON message per line, as the server's `/wt/echo` reads them); `wt-streams`, each message on
//! a stream of its own, finished after it; `wt-dgram`, echo by datagrams,
//! where a datagram whose answer does not come within the wait is lost: counted, not sent
//! again; `wt-push`, the server's events on the unidirectional stream it opens; `wt-push-dgram`,
//! the server's events one per datagram, an event whose datagram is lost counted when a later
//! one comes.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{QuicConn, SharedQuic};
use crate::tls::Handshake;
use crate::wire::Route;
use crate::{ClientError, ClientOptions, Measurement, elapsed_ns, payload_of};
use duplex_model::clock::{now_unix_ns, secs_to_unix_ns, unix_ns_to_secs};
use duplex_model::protocol::{EchoReplyView, echo_request_json};
use duplex_model::transport::ForeignMessages;

/// Longest line (message) read from a stream.
const MAX_LINE: usize = 1 << 20;

/// The shortest wait for a datagram's answer before it counts as lost; longer links wait four
/// round trips.
const MIN_DATAGRAM_WAIT: Duration = Duration::from_millis(250);

async fn open(
    url: &str,
    route: &Route,
    shared: &SharedQuic,
) -> Result<(QuicConn, web_transport_quinn::Session, bool), ClientError> {
    let connect_err = |reason: String| ClientError::Connect { url: url.to_owned(), reason };
    let (quic, resumed) = super::connect(url, route, shared).await?;
    let parsed = url::Url::parse(url).map_err(|e| connect_err(e.to_string()))?;
    let session = web_transport_quinn::Session::connect(quic.conn.clone(), parsed)
        .await
        .map_err(|e| connect_err(format!("WebTransport session refused: {e}")))?;
    Ok((quic, session, resumed))
}

/// Lines read from a stream, kept across reads.
struct Lines {
    recv: web_transport_quinn::RecvStream,
    buffer: Vec<u8>,
}

impl Lines {
    async fn next(&mut self) -> Result<Vec<u8>, ClientError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                line.pop();
                return Ok(line);
            }
            if self.buffer.len() > MAX_LINE {
                return Err(ClientError::Reply(format!("a message over {MAX_LINE} bytes")));
            }
            let mut chunk = [0u8; 4096];
            match self.recv.read(&mut chunk).await {
                Ok(Some(n)) => self.buffer.extend_from_slice(&chunk[..n]),
                Ok(None) => return Err(ClientError::Closed("the server finished the stream".into())),
                Err(e) => return Err(ClientError::Closed(e.to_string())),
            }
        }
    }
}

/// How a WebTransport echo client sends its messages.
enum Channel {
    Stream { send: web_transport_quinn::SendStream, lines: Lines },
    StreamPerMessage,
    Datagram,
}

pub struct WtClient {
    quic: QuicConn,
    session: web_transport_quinn::Session,
    channel: Channel,
    payload: String,
    foreign: Option<ForeignMessages>,
    pub(crate) handshakes: Vec<Handshake>,
}

impl WtClient {
    /// A session at `url` (`https://host:port/wt/echo`), echoing as `transport` does: on one
    /// stream (`wt`), a stream per message (`wt-streams`) or by datagrams (`wt-dgram`).
    pub async fn connect(
        url: &str,
        route: &Route,
        options: &ClientOptions,
        transport: crate::Transport,
        shared: &SharedQuic,
    ) -> Result<WtClient, ClientError> {
        let (quic, session, resumed) = open(url, route, shared).await?;
        let channel = match transport {
            crate::Transport::WtDgram => Channel::Datagram,
            crate::Transport::WtStreams => Channel::StreamPerMessage,
            _ => {
                let (send, recv) = session.open_bi().await.map_err(|e| ClientError::Closed(e.to_string()))?;
                Channel::Stream { send, lines: Lines { recv, buffer: Vec::new() } }
            }
        };
        let handshakes = vec![quic.handshake(resumed, false)];
        let (payload, foreign) = (payload_of(options.payload_bytes), options.foreign.clone());
        Ok(WtClient { quic, session, channel, payload, foreign, handshakes })
    }

    /// One echo: Duplex's request (its answer checked for the sequence number and read for the
    /// server's clock), or a foreign server's message, its answer taken by the reply rule.
    pub async fn echo(&mut self, seq: u64) -> Result<Measurement, ClientError> {
        let sent_at = now_unix_ns();
        let time = unix_ns_to_secs(sent_at);
        let message = match &self.foreign {
            Some(f) => f.render(seq, time, &self.payload),
            None => echo_request_json(time, seq, &self.payload),
        };
        // Whether `reply` answers this call, and the server's clock if it says.
        let answers = |reply: &[u8]| -> Result<Option<i64>, ClientError> {
            match &self.foreign {
                Some(f) => f.accepts(message.as_bytes(), reply).map(|()| None).map_err(ClientError::Reply),
                None => check_seq(reply, seq).map(|view| secs_to_unix_ns(view.server_time)),
            }
        };
        let before = self.quic.udp_totals();
        let start = Instant::now();
        let server_time = match &mut self.channel {
            Channel::Stream { send, lines } => {
                send.write_all(format!("{message}\n").as_bytes()).await.map_err(closed)?;
                answers(&lines.next().await?)?
            }
            Channel::StreamPerMessage => {
                let (mut send, recv) = self.session.open_bi().await.map_err(closed)?;
                send.write_all(format!("{message}\n").as_bytes()).await.map_err(closed)?;
                send.finish().map_err(closed)?;
                answers(&Lines { recv, buffer: Vec::new() }.next().await?)?
            }
            Channel::Datagram => {
                self.session
                    .send_datagram(Bytes::from(message.clone()))
                    .map_err(|e| ClientError::Closed(e.to_string()))?;
                let wait = (self.quic.conn.rtt() * 4).max(MIN_DATAGRAM_WAIT);
                let deadline = tokio::time::Instant::now() + wait;
                loop {
                    let datagram = match tokio::time::timeout_at(deadline, self.session.read_datagram()).await
                    {
                        Ok(read) => read.map_err(|e| ClientError::Closed(e.to_string()))?,
                        Err(_) => return Err(ClientError::Lost(wait)),
                    };
                    // An answer to an earlier datagram, come after its wait: skipped.
                    if let Ok(server_time) = answers(&datagram) {
                        break server_time;
                    }
                }
            }
        };
        let latency_ns = elapsed_ns(start);
        Ok(self.quic.measured(sent_at, latency_ns, server_time, before))
    }

    pub async fn close(self) {
        self.session.close(0, b"done");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.quic.conn.closed()).await;
    }
}

/// A stream or session that ended under a call.
fn closed(e: impl std::fmt::Display) -> ClientError {
    ClientError::Closed(e.to_string())
}

fn check_seq(reply: &[u8], seq: u64) -> Result<EchoReplyView, ClientError> {
    let view = EchoReplyView::parse(reply).map_err(|e| ClientError::Reply(e.to_string()))?;
    if view.seq != Some(seq) {
        return Err(ClientError::Reply(format!("expected seq {seq}, got {:?}", view.seq)));
    }
    Ok(view)
}

/// Where a `/wt/push` session's events come from.
enum Events {
    /// The unidirectional stream the server opens.
    Stream(Lines),
    /// Datagrams (`?datagrams=1`): `last_seq` is the newest event seen, `lost` the events
    /// before it whose datagrams did not come and are yet to be reported.
    Datagrams { last_seq: Option<u64>, lost: u64 },
}

/// Server events of a `/wt/push` session: on the unidirectional stream its server opens
/// (`wt-push`), or one per datagram (`wt-push-dgram`).
pub struct WtPushClient {
    quic: QuicConn,
    session: web_transport_quinn::Session,
    events: Events,
    /// The connection's UDP totals when the last event was read.
    counted: (u64, u64),
    pub(crate) handshakes: Vec<Handshake>,
}

/// The most events one datagram may show lost; a longer gap (an outage, or a server whose
/// sequence jumped) is an error of its own, the sequence taken up again from there.
const MAX_LOST_AT_ONCE: u64 = 10_000;

impl WtPushClient {
    /// A session at `url` (`https://host:port/wt/push`); by datagrams when `datagrams`.
    pub async fn connect(
        url: &str,
        route: &Route,
        shared: &SharedQuic,
        datagrams: bool,
    ) -> Result<WtPushClient, ClientError> {
        let url =
            if datagrams { crate::endpoints::with_query(url, "datagrams", "1") } else { url.to_owned() };
        let (quic, session, resumed) = open(&url, route, shared).await?;
        let events = if datagrams {
            Events::Datagrams { last_seq: None, lost: 0 }
        } else {
            let recv = session.accept_uni().await.map_err(closed)?;
            Events::Stream(Lines { recv, buffer: Vec::new() })
        };
        let handshake = quic.handshake(resumed, false);
        let counted = quic.udp_totals();
        Ok(WtPushClient { quic, session, events, counted, handshakes: vec![handshake] })
    }

    /// The next event; its bytes are the connection's since the event before (events come
    /// several to a packet at times, so one event's own share cannot be told apart). Over
    /// datagrams, the events a later one shows lost come after it, one a call, as
    /// [`ClientError::LostEvent`].
    pub async fn next_event(&mut self) -> Result<Measurement, ClientError> {
        let event = match &mut self.events {
            Events::Stream(lines) => crate::push::parse_event(&lines.next().await?)?,
            Events::Datagrams { lost, .. } if *lost > 0 => {
                *lost -= 1;
                return Err(ClientError::LostEvent);
            }
            Events::Datagrams { last_seq, lost } => {
                let datagram = self.session.read_datagram().await.map_err(closed)?;
                let event = crate::push::parse_event(&datagram)?;
                // Out of order or repeated: not a new event.
                if let Some(last) = *last_seq
                    && event.seq <= last
                {
                    return Err(ClientError::Reply(format!("event {} after event {last}", event.seq)));
                }
                let missing = last_seq.map_or(0, |last| event.seq - last - 1);
                *last_seq = Some(event.seq);
                if missing > MAX_LOST_AT_ONCE {
                    return Err(ClientError::Reply(format!(
                        "event {}: more than {MAX_LOST_AT_ONCE} events missing before it",
                        event.seq
                    )));
                }
                *lost = missing;
                event
            }
        };
        let now = self.quic.udp_totals();
        let (out, inn) = (now.0 - self.counted.0, now.1 - self.counted.1);
        self.counted = now;
        // Events this one shows lost are reported by the next calls.
        Ok(crate::push::measurement_of(&event, out, inn))
    }

    /// Drops the events that came while the client was not measuring, and their bytes; over
    /// datagrams, the sequence starts again at the next event.
    pub async fn resync(&mut self) {
        use futures_util::FutureExt;
        match &mut self.events {
            Events::Stream(lines) => {
                let mut chunk = [0u8; 4096];
                while let Some(Ok(Some(n))) = lines.recv.read(&mut chunk).now_or_never() {
                    lines.buffer.extend_from_slice(&chunk[..n]);
                }
                // Whole lines go; a line begun stays for the next event.
                if let Some(last) = lines.buffer.iter().rposition(|b| *b == b'\n') {
                    lines.buffer.drain(..=last);
                }
            }
            Events::Datagrams { last_seq, lost } => {
                while let Some(Ok(_)) = self.session.read_datagram().now_or_never() {}
                (*last_seq, *lost) = (None, 0);
            }
        }
        self.counted = self.quic.udp_totals();
    }

    pub async fn close(self) {
        self.session.close(0, b"done");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.quic.conn.closed()).await;
    }
}
