//! The server side of the live monitor: an agent that samples only while someone watches, at
//! the chosen rate, and publishes each snapshot once for every WebSocket subscriber
//! (`/ws/monitor`) and poller (`/monitor/latest`, `/monitor/next`).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::agent::Agent;
use crate::EventHub;
use duplex_model::clock::now_unix_ns;
use duplex_model::monitor::SNAPSHOT_EVENT;

/// Snapshots per second a monitor may be asked for.
pub const MIN_HZ: f64 = 0.1;
pub const MAX_HZ: f64 = 20.0;
/// A poll keeps the agent sampling this long; then, with no subscriber either, it rests.
const POLL_KEEPS_AWAKE: Duration = Duration::from_secs(3);

pub struct MonitorHub {
    events: EventHub,
    period_ns: AtomicU64,
    last_poll_ns: AtomicI64,
    /// Long-polls waiting now.
    waiting: AtomicUsize,
    /// Why the agent cannot read this machine, if it cannot.
    problem: Mutex<Option<String>>,
    /// Rouses a resting agent when someone starts watching: no timer runs while nobody does
    /// (every server has a hub, and the app's runs for the life of the app).
    wake: tokio::sync::Notify,
    /// The agent rests: nobody watches, nothing is sampled until someone does.
    resting: AtomicBool,
}

impl MonitorHub {
    pub fn new(hz: f64) -> Result<MonitorHub, String> {
        let hub = MonitorHub {
            events: EventHub::new(),
            period_ns: AtomicU64::new(1_000_000_000),
            last_poll_ns: AtomicI64::new(i64::MIN),
            waiting: AtomicUsize::new(0),
            problem: Mutex::new(None),
            wake: tokio::sync::Notify::new(),
            resting: AtomicBool::new(false),
        };
        hub.set_hz(hz)?;
        Ok(hub)
    }

    /// Changes the sampling rate, from the next snapshot on.
    pub fn set_hz(&self, hz: f64) -> Result<(), String> {
        if !(MIN_HZ..=MAX_HZ).contains(&hz) {
            return Err(format!("monitor rate {hz} Hz is outside {MIN_HZ}–{MAX_HZ} Hz"));
        }
        self.period_ns.store((1e9 / hz).round() as u64, Ordering::Relaxed);
        Ok(())
    }

    pub fn hz(&self) -> f64 {
        1e9 / self.period_ns.load(Ordering::Relaxed) as f64
    }

    pub fn events(&self) -> &EventHub {
        &self.events
    }

    /// A WebSocket subscriber: the agent samples while it listens.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::events::EventFrame> {
        let events = self.events.subscribe();
        self.wake.notify_one();
        events
    }

    /// A poller asked: keep sampling for a while.
    pub fn polled(&self) {
        self.last_poll_ns.store(now_unix_ns(), Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// A long-poll waits: the agent samples until the guard is dropped (and a while after).
    pub fn watching(&self) -> Watching<'_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_one();
        Watching(self)
    }

    pub fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the agent rests (nobody watches, no timer runs, nothing is sampled).
    pub fn resting(&self) -> bool {
        self.resting.load(Ordering::Acquire)
    }

    fn watched(&self) -> bool {
        let since_poll = now_unix_ns().saturating_sub(self.last_poll_ns.load(Ordering::Relaxed));
        self.events.subscribers() > 0
            || self.waiting.load(Ordering::Relaxed) > 0
            || since_poll < POLL_KEEPS_AWAKE.as_nanos() as i64
    }

    /// Samples and publishes while someone watches, until `stop` is cancelled. Sampling runs on
    /// the blocking pool: a full process scan takes a millisecond or more.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut agent: Option<Agent> = None;
        let mut next = tokio::time::Instant::now();
        loop {
            if !self.watched() {
                // Nobody watches: free the agent, and forget the last snapshot, so that the next
                // session's push and poll feeds both start from the same fresh one (a poller
                // would otherwise first read a snapshot from the session before, seconds old).
                agent = None;
                self.events.forget_latest();
                // Rest until a subscriber or a poller comes.
                self.resting.store(true, Ordering::Release);
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = self.wake.notified() => {}
                }
                self.resting.store(false, Ordering::Release);
                continue;
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(next) => {}
            }
            if !self.watched() {
                continue;
            }
            let period = Duration::from_nanos(self.period_ns.load(Ordering::Relaxed));
            let current = agent.take();
            let sampled = tokio::task::spawn_blocking(move || {
                let mut agent = match current {
                    Some(a) => a,
                    // A new agent's first reading is only a baseline: wait one period for the next.
                    None => return Agent::new().map(|a| (a, None)),
                };
                let snapshot = agent.sample();
                Ok((agent, Some(snapshot)))
            })
            .await
            .unwrap_or_else(|e| Err(format!("the agent stopped: {e}")));
            match sampled {
                Ok((a, snapshot)) => {
                    agent = Some(a);
                    if let Some(snapshot) = snapshot {
                        self.events.publish(SNAPSHOT_EVENT, serde_json::to_value(&snapshot).ok());
                    }
                }
                Err(why) => {
                    tracing::warn!("live monitor: {why}");
                    *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                    return;
                }
            }
            next = (next + period).max(tokio::time::Instant::now());
        }
    }
}

/// Held while a long-poll waits (see [`MonitorHub::watching`]).
pub struct Watching<'a>(&'a MonitorHub);

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
        // The next long-poll follows at once; keep sampling in between.
        self.0.polled();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_outside_the_range_are_refused() {
        let hub = MonitorHub::new(1.0).expect("1 Hz");
        assert!((hub.hz() - 1.0).abs() < 1e-9);
        hub.set_hz(20.0).expect("20 Hz");
        assert!((hub.hz() - 20.0).abs() < 1e-9);
        for bad in [0.0, 0.05, 25.0, f64::NAN] {
            assert!(hub.set_hz(bad).is_err(), "{bad}");
        }
        assert!((hub.hz() - 20.0).abs() < 1e-9, "a refused rate changes nothing");
    }

    /// Waits until `condition` holds (at most 5 s, then the test fails).
    async fn until(condition: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(tokio::time::Instant::now() < deadline, "the condition never held");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn the_agent_samples_only_while_watched() {
        if duplex_platform::wine::version().is_some() {
            // No agent under Wine (CPU load cannot be read): agent::tests checks the refusal.
            eprintln!("skipped under Wine: the live monitor's agent cannot read CPU load there");
            return;
        }
        let hub = Arc::new(MonitorHub::new(20.0).expect("hub"));
        let stop = CancellationToken::new();
        let task = tokio::spawn(hub.clone().run(stop.clone()));
        // Nobody watches: the agent goes to rest without sampling (it would never rest if it
        // sampled while unwatched).
        until(|| hub.resting()).await;
        assert!(hub.events().latest().is_none(), "nobody watched, nothing sampled");
        let mut rx = hub.subscribe();
        let first =
            tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("in time").expect("event");
        let second =
            tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("in time").expect("event");
        assert_eq!(second.seq, first.seq + 1);
        // The watcher leaves: the agent rests and the last snapshot is forgotten, so a new
        // session's poller does not start from an old one.
        drop(rx);
        until(|| hub.resting()).await;
        assert!(hub.events().latest().is_none(), "a stale snapshot is still served");
        // A new watcher's first snapshot is fresh, and later than anything before.
        let mut rx = hub.subscribe();
        let fresh =
            tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("in time").expect("event");
        assert!(fresh.seq > second.seq);
        assert_eq!(hub.events().latest().map(|f| f.seq), Some(fresh.seq), "poll and push see the same one");
        stop.cancel();
        task.await.expect("stops");
    }
}
