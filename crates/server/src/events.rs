//! Server events for the push-style transports: a periodic "tick" (Appendix A.2's broadcast)
//! and anything else published (live-monitor snapshots). WebSocket subscribers get every event
//! through a broadcast channel; pollers and long-pollers read the latest through a watch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use duplex_model::clock::now_unix_ns;
use duplex_model::protocol::Event;

/// How many events a slow WebSocket subscriber may fall behind before it skips ahead.
const PUSH_BUFFER: usize = 1024;
/// How many past events an SSE client resuming with `Last-Event-ID` can get back.
const RECENT: usize = 256;

/// One published event, serialised once and shared by every subscriber: as JSON (a WebSocket
/// message, a long-poll's body) and as a Server-Sent Event (`id: SEQ`, `data: JSON`).
#[derive(Debug, Clone)]
pub struct EventFrame {
    pub seq: u64,
    pub json: Utf8Bytes,
    pub sse: bytes::Bytes,
}

#[derive(Debug)]
pub struct EventHub {
    next_seq: AtomicU64,
    latest: watch::Sender<Option<EventFrame>>,
    push: broadcast::Sender<EventFrame>,
    recent: std::sync::Mutex<std::collections::VecDeque<EventFrame>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    pub fn new() -> Self {
        let (latest, _) = watch::channel(None);
        let (push, _) = broadcast::channel(PUSH_BUFFER);
        EventHub { next_seq: AtomicU64::new(1), latest, push, recent: Default::default() }
    }

    /// Creates an event stamped now and delivers it to every subscriber. Returns its sequence.
    pub fn publish(&self, event: &str, data: Option<serde_json::Value>) -> u64 {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let ev = Event { event: event.to_owned(), seq, created_ns: now_unix_ns(), data };
        let json = serde_json::to_string(&ev).unwrap_or_default();
        // The JSON is one line (serde_json escapes newlines), so one data: line holds it.
        let sse = bytes::Bytes::from(format!("id: {seq}\ndata: {json}\n\n"));
        let frame = EventFrame { seq, json: Utf8Bytes::from(json), sse };
        {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(frame.clone());
        }
        // No receivers is normal (nobody subscribed yet); it is not an error.
        let _ = self.push.send(frame.clone());
        self.latest.send_replace(Some(frame));
        seq
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EventFrame> {
        self.push.subscribe()
    }

    /// The kept past events with a sequence above `after`, oldest first (at most the last
    /// 256 published: an SSE client resuming after a longer gap misses the older ones).
    pub fn since(&self, after: u64) -> Vec<EventFrame> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().filter(|f| f.seq > after).cloned().collect()
    }

    /// WebSocket subscribers listening now.
    pub fn subscribers(&self) -> usize {
        self.push.receiver_count()
    }

    pub fn latest(&self) -> Option<EventFrame> {
        self.latest.borrow().clone()
    }

    /// Forgets the latest event (a poll answers 204 until the next); sequences go on.
    pub fn forget_latest(&self) {
        self.latest.send_replace(None);
    }

    /// Waits for the first event with a sequence above `after` (above the current latest when
    /// `None`), for at most `timeout`.
    pub async fn next_after(&self, after: Option<u64>, timeout: Duration) -> Option<EventFrame> {
        let mut rx = self.latest.subscribe();
        let after = after.unwrap_or_else(|| rx.borrow().as_ref().map_or(0, |f| f.seq));
        let wait = async {
            loop {
                if let Some(frame) = rx.borrow_and_update().as_ref().filter(|f| f.seq > after) {
                    return Some(frame.clone());
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// Publishes a tick every `interval` until `stop` is cancelled; with `cpu`, each tick holds
    /// the process's CPU time so far.
    pub async fn run_ticker(self: Arc<Self>, interval: Duration, cpu: bool, stop: CancellationToken) {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer.tick().await; // the first tick is immediate; start one interval from now
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = timer.tick() => {
                    let data = cpu.then(process_cpu_ns).flatten().map(|ns| {
                        serde_json::json!({ duplex_model::protocol::SERVER_CPU_NS: ns })
                    });
                    self.publish("tick", data);
                }
            }
        }
    }
}

/// This process's CPU time so far, ns (None where the OS cannot tell).
fn process_cpu_ns() -> Option<u64> {
    let cpu = cpu_time::ProcessTime::try_now().ok()?.as_duration();
    u64::try_from(cpu.as_nanos()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_poll_waits_for_the_next_event_and_poll_sees_latest() {
        let hub = Arc::new(EventHub::new());
        assert!(hub.latest().is_none());
        assert!(hub.next_after(None, Duration::from_millis(20)).await.is_none());

        let first = hub.publish("tick", None);
        assert_eq!(hub.latest().map(|f| f.seq), Some(first));
        // An event already newer than `after` is answered at once.
        assert_eq!(hub.next_after(Some(0), Duration::from_secs(5)).await.map(|f| f.seq), Some(1));

        let waiter = {
            let hub = hub.clone();
            tokio::spawn(async move { hub.next_after(Some(first), Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        let second = hub.publish("tick", None);
        let got = waiter.await.expect("joined").expect("event arrives");
        assert_eq!(got.seq, second);
        let ev = Event::parse(got.json.as_bytes()).expect("valid json");
        assert_eq!((ev.event.as_str(), ev.seq), ("tick", 2));
    }

    #[test]
    fn an_event_reads_back_the_same_from_its_sse_bytes() {
        let hub = EventHub::new();
        hub.publish("tick", Some(serde_json::json!({ "text": "two\nlines" })));
        let frame = hub.latest().expect("published");
        let mut parser = duplex_model::sse::SseParser::new(1 << 16);
        let events = parser.feed(&frame.sse).expect("within bounds");
        assert_eq!(events.len(), 1, "{:?}", String::from_utf8_lossy(&frame.sse));
        assert_eq!(events[0].id.as_deref(), Some("1"));
        assert_eq!(events[0].data, frame.json.as_str(), "the JSON, whole, in one data line");
    }

    #[tokio::test]
    async fn subscribers_get_every_event() {
        let hub = EventHub::new();
        let mut rx = hub.subscribe();
        for _ in 0..3 {
            hub.publish("tick", None);
        }
        for want in 1..=3 {
            assert_eq!(rx.recv().await.expect("event").seq, want);
        }
    }

    #[test]
    fn past_events_are_kept_for_resumption_up_to_a_bound() {
        let hub = EventHub::new();
        for _ in 0..(RECENT + 10) {
            hub.publish("tick", None);
        }
        let seqs: Vec<u64> = hub.since(RECENT as u64 + 7).iter().map(|f| f.seq).collect();
        assert_eq!(seqs, vec![RECENT as u64 + 8, RECENT as u64 + 9, RECENT as u64 + 10]);
        assert_eq!(hub.since(0).len(), RECENT);
        assert_eq!(hub.since(0)[0].seq, 11);
    }
}
