//! `GET /events/sse`: the server events (the same as `/ws/push`, `/events/next` and
//! `/events/latest`) as Server-Sent Events, `text/event-stream`. Every event carries its sequence
//! as `id:`; a client that reconnects with `Last-Event-ID: N` first gets the kept events after N
//! (the last 256 published), then the live ones. A comment line every 15 s keeps proxies from
//! closing a quiet stream (one timer per stream, not one per event). Each event's bytes are formatted once, when it is published
//! ([`EventFrame::sse`]), and written as they are to every subscriber.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::events::EventFrame;

/// How often a quiet stream gets a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
const KEEP_ALIVE_COMMENT: &[u8] = b":keep-alive\n\n";

struct Feed {
    replay: VecDeque<EventFrame>,
    live: broadcast::Receiver<EventFrame>,
    /// The last sequence sent: nothing at or below it is sent again.
    sent: u64,
    stop: CancellationToken,
    keep_alive: tokio::time::Interval,
}

/// What a stream sends next: an event, or a keep-alive comment.
enum Next {
    Event(EventFrame),
    Quiet,
}

impl Feed {
    async fn next(&mut self) -> Option<Next> {
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
                    _ = self.keep_alive.tick() => return Some(Next::Quiet),
                    _ = self.stop.cancelled() => return None,
                },
            };
            if frame.seq > self.sent {
                self.sent = frame.seq;
                return Some(Next::Event(frame));
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
    let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = Feed { replay, live, sent: last.unwrap_or(0), stop: state.shutdown.clone(), keep_alive };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let bytes = match feed.next().await? {
            Next::Event(frame) => frame.sse,
            Next::Quiet => Bytes::from_static(KEEP_ALIVE_COMMENT),
        };
        Some((Ok::<_, Infallible>(bytes), feed))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
