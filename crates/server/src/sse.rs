//! `GET /events/sse`: the server events (the same as `/ws/push`, `/events/next` and
//! `/events/latest`) as Server-Sent Events, `text/event-stream`. Every event carries its sequence
//! as `id:`; a client that reconnects with `Last-Event-ID: N` first gets the kept events after N
//! (the last 256 published), then the live ones. A comment line every 15 s keeps proxies from
//! closing a quiet stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::events::EventFrame;

/// How often a quiet stream gets a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

struct Feed {
    replay: VecDeque<EventFrame>,
    live: broadcast::Receiver<EventFrame>,
    /// The last sequence sent: nothing at or below it is sent again.
    sent: u64,
    stop: CancellationToken,
}

impl Feed {
    async fn next(&mut self) -> Option<EventFrame> {
        loop {
            let frame = match self.replay.pop_front() {
                Some(f) => f,
                None => tokio::select! {
                    r = self.live.recv() => match r {
                        Ok(f) => f,
                        // A slow client skips what it missed; the ids show the gap.
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    },
                    _ = self.stop.cancelled() => return None,
                },
            };
            if frame.seq > self.sent {
                self.sent = frame.seq;
                return Some(frame);
            }
        }
    }
}

/// The `Last-Event-ID` a reconnecting client sends, if it is a sequence number.
fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers.get("last-event-id")?.to_str().ok()?.trim().parse().ok()
}

pub async fn events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Subscribed before the replay is read: no event between the two is lost.
    let live = state.hub.subscribe();
    let last = last_event_id(&headers);
    let replay = last.map(|n| state.hub.since(n)).unwrap_or_default().into();
    let feed = Feed { replay, live, sent: last.unwrap_or(0), stop: state.shutdown.clone() };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let frame = feed.next().await?;
        let event = Event::default().id(frame.seq.to_string()).data(frame.json.as_str());
        Some((Ok::<_, Infallible>(event), feed))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")).into_response()
}
