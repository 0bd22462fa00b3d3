//! Push fan-out: one server event delivered to N subscribers at once, by WebSocket push,
//! long-poll and Server-Sent Events — the paper's broadcast "tick" at the scale of a dashboard
//! with many viewers. For each transport and N it reports how the delivery latency spreads over
//! the subscribers (p50, p99, the last one), what a broadcast costs the server in CPU time, and
//! the bytes on the wire per delivered event.
//!
//! Against the embedded server (on its own thread, [`ServerThread`]) a broadcast is published on
//! demand and the server thread's CPU time is read around it: from just before the publish until
//! every subscriber has it and waits for the next one (a long-poller has asked again). Against a
//! server elsewhere the server's own ticks are the broadcasts and its CPU is not seen.

mod collect;
mod headline;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use duplex_clients::{Client, ClientError, ClientOptions, Endpoints, Transport};
use duplex_model::clock::now_unix_ns;
use duplex_server::{Limits, ServerConfig, ServerError, ServerThread};

pub use headline::headline;

pub use collect::Broadcast;

/// What to measure.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, TS)]
pub struct FanoutPlan {
    /// Subscriber counts, one measurement each.
    pub subscribers: Vec<u32>,
    pub transports: Vec<Transport>,
    /// Broadcasts measured per transport and count (after one to warm up).
    pub broadcasts: u32,
    /// Longest wait for one broadcast to reach everyone, and for everyone to connect, ms.
    pub timeout_ms: u64,
}

impl Default for FanoutPlan {
    fn default() -> Self {
        FanoutPlan {
            subscribers: vec![100, 1000, 10_000],
            transports: PUSH_TRANSPORTS.to_vec(),
            broadcasts: 10,
            timeout_ms: 20_000,
        }
    }
}

/// The transports that deliver server events to a waiting subscriber.
pub const PUSH_TRANSPORTS: [Transport; 3] = [Transport::WsPush, Transport::LongPoll, Transport::Sse];

impl FanoutPlan {
    pub fn check(&self) -> Result<(), String> {
        if self.subscribers.is_empty() || self.subscribers.contains(&0) {
            return Err("subscribers: at least one count, each at least 1".into());
        }
        if let Some(t) = self.transports.iter().find(|t| !PUSH_TRANSPORTS.contains(t)) {
            return Err(format!(
                "{} is not a push transport: fan-out measures ws-push, long-poll and sse",
                t.name()
            ));
        }
        if self.transports.is_empty() {
            return Err("transports: at least one of ws-push, long-poll, sse".into());
        }
        if self.broadcasts == 0 {
            return Err("broadcasts: at least 1".into());
        }
        Ok(())
    }

    /// The most subscribers at once.
    pub fn largest(&self) -> u32 {
        self.subscribers.iter().copied().max().unwrap_or(0)
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(100))
    }
}

/// One transport at one subscriber count.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, TS)]
pub struct FanoutCell {
    pub transport: Transport,
    pub subscribers: u32,
    /// Seconds until every subscriber was connected and waiting.
    pub connect_s: f64,
    /// Broadcasts measured.
    pub broadcasts: u32,
    /// Deliveries measured, and those that never came (subscriber × broadcast).
    pub delivered: u64,
    pub missed: u64,
    /// Event creation to arrival over every delivery, µs.
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    /// The last subscriber's latency: the median over broadcasts, and the worst.
    pub last_us: Option<f64>,
    pub worst_us: Option<f64>,
    /// Server CPU time per broadcast (median), µs; None when the server is elsewhere.
    pub server_cpu_us: Option<f64>,
    /// The same per delivered event (per broadcast over the subscribers), µs.
    pub server_cpu_per_delivery_us: Option<f64>,
    /// Bytes on the wire per delivered event, both directions (a long-poll's request too).
    pub bytes_per_event: Option<f64>,
    /// Errors by kind, with the first message of each.
    pub errors: BTreeMap<String, (u64, String)>,
    /// Each measured broadcast, in order.
    pub each: Vec<Broadcast>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, TS)]
pub struct FanoutReport {
    pub plan: FanoutPlan,
    /// The server measured (its address), and whether it ran in this process.
    pub server: String,
    pub embedded: bool,
    pub cells: Vec<FanoutCell>,
    /// The result in one sentence: at the most subscribers, who reaches the last one first, and
    /// the others beside it (the terminal and the app both show it).
    pub headline: String,
    /// Every delivery of every broadcast arrived and nothing failed.
    pub ok: bool,
    pub notes: Vec<String>,
}

/// Where a run stands, for a progress line.
#[derive(Debug, Clone, Serialize, TS)]
pub struct FanoutProgress {
    pub transport: Transport,
    pub subscribers: u32,
    pub connected: u64,
    /// Broadcasts measured so far for this cell.
    pub broadcasts: u32,
    /// Cells finished, of all.
    pub cell: usize,
    pub cells: usize,
}

/// One subscriber's news: an event arrived, or something failed.
enum News {
    /// `server_cpu_ns`: the server's CPU time at the event, if it said (ticks elsewhere).
    Event {
        created_ns: i64,
        latency_ns: u64,
        bytes: u64,
        server_cpu_ns: Option<u64>,
    },
    Failed(ClientError),
}

/// The embedded server for a fan-out of up to `subscribers`: room for every connection and
/// long-poll, and no ticks of its own (broadcasts are published on demand).
pub fn embedded_server(subscribers: u32) -> Result<ServerThread, ServerError> {
    let room = usize::try_from(subscribers).unwrap_or(usize::MAX).saturating_add(64);
    let limits = Limits {
        max_connections: room,
        max_connections_per_peer: room,
        max_long_polls: room,
        ..Limits::default()
    };
    ServerThread::spawn(ServerConfig {
        limits,
        tick_interval: Duration::from_secs(24 * 3600),
        ..ServerConfig::default()
    })
}

/// Runs every cell of the plan against `endpoints`: the embedded `server` when given (it must
/// be the one `endpoints` name), else a server elsewhere whose ticks are the broadcasts.
pub async fn fanout(
    plan: FanoutPlan,
    endpoints: Endpoints,
    server: Option<&ServerThread>,
    cancel: CancellationToken,
    mut progress: impl FnMut(&FanoutProgress),
) -> FanoutReport {
    let endpoints = Arc::new(endpoints);
    let cells_total = plan.subscribers.len() * plan.transports.len();
    let mut cells = Vec::new();
    for &transport in &plan.transports {
        for &n in &plan.subscribers {
            if cancel.is_cancelled() {
                break;
            }
            let at = Progress { transport, subscribers: n, cell: cells.len(), cells: cells_total };
            let cell = measure_cell(&plan, transport, n, &endpoints, server, &cancel, |connected, done| {
                progress(&at.with(connected, done))
            })
            .await;
            cells.push(cell);
        }
    }
    let ok = cells.len() == cells_total && cells.iter().all(|c| c.missed == 0 && c.errors.is_empty());
    let mut notes = Vec::new();
    if server.is_none() {
        notes.push(
            "the server is elsewhere: its ticks are the broadcasts, and latency crosses two clocks unless it \
             runs on this machine"
                .to_owned(),
        );
        notes.push(if cells.iter().any(|c| c.server_cpu_us.is_some()) {
            "server CPU: the server process's CPU time from one tick to the next, as its ticks say (idle time \
             between them included; the figure adds about 30 bytes to each event)"
                .to_owned()
        } else {
            "server CPU: not seen (`duplex serve --tick-cpu` puts it in the ticks)".to_owned()
        });
        if cells.iter().any(|c| c.transport == Transport::LongPoll && c.missed > 0) {
            notes.push(
                "long-poll deliveries missed: a long-poller that asks again after the next tick gets only the \
                 newest event; give the server a longer --tick-ms than the last subscriber's latency"
                    .to_owned(),
            );
        }
    } else {
        notes.push(
            "server CPU: the server thread's CPU time from just before a broadcast until every subscriber has \
             it and waits for the next (a long-poller has asked again)"
                .to_owned(),
        );
    }
    notes.push(
        "latency includes this process's scheduling of its subscribers: with thousands, the last one waits \
         for the others' turns on this machine's cores"
            .to_owned(),
    );
    if cancel.is_cancelled() {
        notes.push("stopped before the end: the cells measured so far are kept".to_owned());
    }
    let headline = headline(&cells);
    FanoutReport {
        plan,
        server: endpoints.authority.clone(),
        embedded: server.is_some(),
        cells,
        headline,
        ok,
        notes,
    }
}

#[derive(Clone, Copy)]
struct Progress {
    transport: Transport,
    subscribers: u32,
    cell: usize,
    cells: usize,
}

impl Progress {
    fn with(self, connected: u64, broadcasts: u32) -> FanoutProgress {
        FanoutProgress {
            transport: self.transport,
            subscribers: self.subscribers,
            connected,
            broadcasts,
            cell: self.cell,
            cells: self.cells,
        }
    }
}

/// Connects `n` subscribers, measures the broadcasts, disconnects them.
async fn measure_cell(
    plan: &FanoutPlan,
    transport: Transport,
    n: u32,
    endpoints: &Arc<Endpoints>,
    server: Option<&ServerThread>,
    cancel: &CancellationToken,
    mut progress: impl FnMut(u64, u32),
) -> FanoutCell {
    let timeout = plan.timeout();
    let started = Instant::now();
    let stop = CancellationToken::new();
    let connected = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for id in 0..n {
        let subscriber = Subscriber {
            transport,
            endpoints: endpoints.clone(),
            news: tx.clone(),
            connected: connected.clone(),
            stop: stop.clone(),
            timeout,
        };
        tasks.push(tokio::spawn(subscriber.run()));
        crate::soak::pace_connects(id).await;
    }
    drop(tx);
    let mut tally = collect::Tally::new(n);
    let ready =
        wait_ready(transport, n, server, &connected, &mut rx, &mut tally, timeout, cancel, &mut progress)
            .await;
    let connect_s = started.elapsed().as_secs_f64();
    if ready {
        match server {
            Some(server) => {
                on_demand(plan, transport, server, &mut rx, &mut tally, cancel, &mut progress).await
            }
            None => from_ticks(plan, &mut rx, &mut tally, cancel, &mut progress).await,
        }
    }
    stop.cancel();
    for task in tasks {
        let _ = task.await;
    }
    tally.into_cell(transport, n, connect_s)
}

/// Waits until every subscriber is connected and waiting (the embedded server counts them;
/// a server elsewhere cannot tell, and its first tick that reaches everyone is the warm-up).
#[allow(clippy::too_many_arguments)]
async fn wait_ready(
    transport: Transport,
    n: u32,
    server: Option<&ServerThread>,
    connected: &AtomicU64,
    rx: &mut mpsc::UnboundedReceiver<News>,
    tally: &mut collect::Tally,
    timeout: Duration,
    cancel: &CancellationToken,
    progress: &mut impl FnMut(u64, u32),
) -> bool {
    let deadline = tokio::time::Instant::now() + timeout.max(Duration::from_secs(u64::from(n) / 500));
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut last_report = Instant::now();
    loop {
        let alive = tally.alive();
        let waiting = match server {
            Some(s) if transport == Transport::LongPoll => s.long_polls_waiting() as u64,
            Some(s) => s.push_subscribers() as u64,
            None => connected.load(Ordering::Relaxed),
        };
        if waiting >= alive {
            return alive > 0;
        }
        if last_report.elapsed() >= Duration::from_millis(250) {
            progress(connected.load(Ordering::Relaxed), 0);
            last_report = Instant::now();
        }
        tokio::select! {
            _ = tick.tick() => {}
            news = rx.recv() => match news {
                Some(news) => tally.stray(news),
                None => return false,
            },
            _ = tokio::time::sleep_until(deadline) => {
                tally.timed_out(format!("{waiting} of {alive} subscribers connected within {timeout:?}"));
                return false;
            }
            _ = cancel.cancelled() => return false,
        }
    }
}

/// The embedded server publishes each broadcast when the last one has reached everyone.
async fn on_demand(
    plan: &FanoutPlan,
    transport: Transport,
    server: &ServerThread,
    rx: &mut mpsc::UnboundedReceiver<News>,
    tally: &mut collect::Tally,
    cancel: &CancellationToken,
    progress: &mut impl FnMut(u64, u32),
) {
    let timeout = plan.timeout();
    // The first broadcast warms up (first writes on each connection) and is not kept.
    for round in 0..=plan.broadcasts {
        let floor_ns = now_unix_ns();
        let cpu_before = server.publish("fanout").await;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut got = collect::Round::default();
        let mut expected = tally.alive();
        while (got.len() as u64) < expected {
            tokio::select! {
                news = rx.recv() => match news {
                    Some(News::Event { created_ns, latency_ns, bytes, .. }) if created_ns >= floor_ns => {
                        got.add(latency_ns, bytes);
                    }
                    Some(other) => { tally.stray(other); expected = tally.alive(); }
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = cancel.cancelled() => return,
            }
        }
        // A long-poller costs the server its next request too: wait until all have asked.
        if transport == Transport::LongPoll {
            while (server.long_polls_waiting() as u64) < tally.alive()
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        let cpu_after = server.cpu_time().await;
        let cpu = cpu_before.zip(cpu_after).map(|(b, a)| a.saturating_sub(b));
        if round > 0 {
            tally.round(got, cpu);
            progress(tally.alive(), round);
        }
    }
}

/// A server elsewhere ticks: deliveries are grouped by event, the first event that reaches
/// every subscriber is the warm-up, and the next `broadcasts` events are kept. Where the ticks
/// carry the server's CPU time, a broadcast's cost is the server's CPU from the tick before it
/// to it (only the fan-out runs there, so that is the previous broadcast's delivery, alike).
async fn from_ticks(
    plan: &FanoutPlan,
    rx: &mut mpsc::UnboundedReceiver<News>,
    tally: &mut collect::Tally,
    cancel: &CancellationToken,
    progress: &mut impl FnMut(u64, u32),
) {
    let timeout = plan.timeout();
    let mut events: BTreeMap<i64, collect::Round> = BTreeMap::new();
    let mut warm_up: Option<i64> = None;
    let mut kept = 0;
    let mut cpu_before: Option<u64> = None;
    let mut deadline = tokio::time::Instant::now() + timeout;
    while kept < plan.broadcasts {
        let news = tokio::select! {
            news = rx.recv() => news,
            _ = tokio::time::sleep_until(deadline) => {
                tally.timed_out(format!("no event reached every subscriber within {timeout:?}"));
                break;
            }
            _ = cancel.cancelled() => return,
        };
        let Some(news) = news else { break };
        let News::Event { created_ns, latency_ns, bytes, server_cpu_ns } = news else {
            tally.stray(news);
            continue;
        };
        if warm_up.is_some_and(|w| created_ns <= w) {
            continue;
        }
        let round = events.entry(created_ns).or_default();
        round.add(latency_ns, bytes);
        round.server_cpu_ns = round.server_cpu_ns.or(server_cpu_ns);
        if (round.len() as u64) < tally.alive() {
            continue;
        }
        // This event reached everyone: the ones before it that did not are missed in part.
        let complete = events.split_off(&(created_ns + 1));
        let done = std::mem::replace(&mut events, complete);
        deadline = tokio::time::Instant::now() + timeout;
        if warm_up.is_none() {
            warm_up = Some(created_ns);
            cpu_before = done.values().last().and_then(|r| r.server_cpu_ns);
            continue;
        }
        warm_up = Some(created_ns);
        for (_, round) in done {
            let cpu = round.server_cpu_ns.zip(cpu_before).map(|(now, before)| now.saturating_sub(before));
            cpu_before = round.server_cpu_ns.or(cpu_before);
            if kept < plan.broadcasts {
                tally.round(round, cpu.map(Duration::from_nanos));
                kept += 1;
                progress(tally.alive(), kept);
            }
        }
    }
}

/// One subscriber: connects, then reports every event until stopped or its connection is gone.
struct Subscriber {
    transport: Transport,
    endpoints: Arc<Endpoints>,
    news: mpsc::UnboundedSender<News>,
    connected: Arc<AtomicU64>,
    stop: CancellationToken,
    timeout: Duration,
}

impl Subscriber {
    async fn run(self) {
        let Some(mut client) = self.connect().await else { return };
        self.connected.fetch_add(1, Ordering::Relaxed);
        loop {
            let news = tokio::select! {
                _ = self.stop.cancelled() => break,
                m = client.measure(0) => match m {
                    Ok(m) => News::Event {
                        created_ns: m.server_time_unix_ns.unwrap_or(m.sent_at_unix_ns),
                        latency_ns: m.latency_ns,
                        bytes: m.bytes_in + m.bytes_out,
                        server_cpu_ns: m.server_cpu_ns,
                    },
                    Err(error) => News::Failed(error),
                },
            };
            let fatal = matches!(&news, News::Failed(e) if e.is_fatal());
            if self.news.send(news).is_err() || fatal {
                return;
            }
        }
        client.close().await;
    }

    async fn connect(&self) -> Option<Client> {
        // Each subscriber its own connection, as each page of a dashboard has: long-pollers
        // sharing one client's pool opened more connections than subscribers (a connection
        // not yet back in the pool when the next request leaves) and met the server's limit.
        let (options, shared) = (ClientOptions::default(), Default::default());
        let connect = Client::connect(self.transport, &self.endpoints, &options, &shared);
        let outcome = tokio::select! {
            _ = self.stop.cancelled() => return None,
            c = tokio::time::timeout(self.timeout, connect) => c,
        };
        let error = match outcome {
            Ok(Ok(client)) => return Some(client),
            Ok(Err(e)) => e,
            Err(_) => ClientError::Timeout(self.timeout),
        };
        let _ = self.news.send(News::Failed(error));
        None
    }
}
