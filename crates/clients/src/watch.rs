//! Native watchers of a live monitor, as `duplex monitor` runs them side by side: a WebSocket
//! subscriber and an AJAX poller (or long-poller). Each answer becomes an [`Observation`] with
//! the bytes it cost on the wire and the time spent reading it; a new snapshot comes along.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::http::build_client;
use crate::push::get_answer;
use crate::ws::{connect_counted, next_data, ws_frame_len};
use crate::{ClientError, Endpoints, with_query};
use duplex_model::clock::now_unix_ns;
use duplex_model::monitor::{Feed, Observation, Published};

/// What a watcher reports per answer.
#[derive(Debug, Clone)]
pub struct Watched {
    pub observation: Observation,
    pub snapshot: Option<Published>,
}

fn watched(
    feed: Feed,
    body: Option<&[u8]>,
    bytes_out: u64,
    bytes_in: u64,
    started: Instant,
) -> Result<Watched, ClientError> {
    let snapshot = body.map(Published::parse).transpose().map_err(ClientError::Reply)?;
    Ok(Watched {
        observation: Observation {
            feed,
            seq: snapshot.as_ref().map(|s| s.seq),
            created_ns: snapshot.as_ref().map(|s| s.created_ns),
            shown_ns: now_unix_ns(),
            bytes_out,
            bytes_in,
            handler_ns: u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
        },
        snapshot,
    })
}

/// Subscribes to `/ws/monitor` and reports every snapshot until `stop` or the server goes.
pub async fn watch_push(
    endpoints: &Endpoints,
    tx: UnboundedSender<Watched>,
    stop: CancellationToken,
) -> Result<(), ClientError> {
    let (mut ws, _, _) =
        connect_counted(&endpoints.ws_monitor, &endpoints.route, duplex_model::protocol::WS_READ_BUFFER)
            .await?;
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => break,
            m = next_data(&mut ws) => m?,
        };
        let started = Instant::now();
        let Message::Text(text) = message else {
            return Err(ClientError::Reply("binary message on the monitor channel".into()));
        };
        // An unmasked server frame's size is exact by RFC 6455.
        let w = watched(Feed::Push, Some(text.as_bytes()), 0, ws_frame_len(text.len(), false), started)?;
        if tx.send(w).is_err() {
            break;
        }
    }
    let _ = futures_util::SinkExt::close(&mut ws).await;
    Ok(())
}

/// One GET: the snapshot in the answer (none on 204) and its bytes each way.
async fn get(
    client: &reqwest::Client,
    url: &str,
    authority: &str,
    feed: Feed,
) -> Result<Watched, ClientError> {
    let (body, out, bytes_in) = get_answer(client, url, authority).await?;
    watched(feed, body.as_deref(), out, bytes_in, Instant::now())
}

/// Polls `/monitor/latest` every `interval` and reports every answer, new snapshot or not.
pub async fn watch_poll(
    endpoints: &Endpoints,
    interval: Duration,
    tx: UnboundedSender<Watched>,
    stop: CancellationToken,
) -> Result<(), ClientError> {
    let client = build_client(true)?;
    let mut timer = tokio::time::interval(interval.max(Duration::from_millis(1)));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = timer.tick() => {}
        }
        let w = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            w = get(&client, &endpoints.monitor_latest, &endpoints.authority, Feed::Poll) => w?,
        };
        if tx.send(w).is_err() {
            return Ok(());
        }
    }
}

/// Long-polls `/monitor/next`: each answer comes when a newer snapshot exists.
pub async fn watch_long_poll(
    endpoints: &Endpoints,
    tx: UnboundedSender<Watched>,
    stop: CancellationToken,
) -> Result<(), ClientError> {
    let client = build_client(true)?;
    let mut last: Option<u64> = None;
    loop {
        let url = match last {
            Some(seq) => with_query(&endpoints.monitor_next, "after", &seq.to_string()),
            None => endpoints.monitor_next.clone(),
        };
        let w = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            w = get(&client, &url, &endpoints.authority, Feed::LongPoll) => w?,
        };
        last = w.observation.seq.or(last);
        if tx.send(w).is_err() {
            return Ok(());
        }
    }
}
