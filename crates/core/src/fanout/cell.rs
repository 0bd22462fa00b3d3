//! One cell of a fan-out: `n` subscribers of one transport connected, the broadcasts measured
//! (published on demand against the embedded server, or the server's own ticks), then closed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use duplex_clients::{Client, ClientError, ClientOptions, Endpoints, Shared, SharedQuic, Transport};
use duplex_model::clock::now_unix_ns;
use duplex_server::ServerThread;

use super::{FanoutCell, FanoutPlan, FanoutProgress, News, collect};

#[derive(Clone, Copy)]
pub(super) struct Progress {
    pub(super) transport: Transport,
    pub(super) subscribers: u32,
    pub(super) cell: usize,
    pub(super) cells: usize,
}

impl Progress {
    pub(super) fn with(self, connected: u64, broadcasts: u32) -> FanoutProgress {
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
pub(super) async fn measure_cell(
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
    // QUIC handshakes queue for the server's one thread (and past 64 at once it asks for a
    // Retry): a few dozen at a time keep each well within its timeout.
    let handshakes = Arc::new(tokio::sync::Semaphore::new(QUIC_HANDSHAKES_AT_ONCE));
    let udp = SharedQuic::pooled_endpoints();
    for id in 0..n {
        let subscriber = Subscriber {
            transport,
            endpoints: endpoints.clone(),
            news: tx.clone(),
            connected: connected.clone(),
            stop: stop.clone(),
            timeout,
            handshakes: transport.is_quic().then(|| handshakes.clone()),
            quic: udp.own_sessions(),
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
            None => from_ticks(plan, transport, &mut rx, &mut tally, cancel, &mut progress).await,
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
        // The server's count may still hold the cell before's subscribers (a closed connection
        // is seen at the next write to it): this cell's own must have connected too.
        let ours = connected.load(Ordering::Relaxed);
        let waiting = match server {
            Some(s) if transport == Transport::LongPoll => ours.min(s.long_polls_waiting() as u64),
            Some(s) => ours.min(s.push_subscribers() as u64),
            None => ours,
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

/// How long a broadcast by datagrams waits after its last arrival before what did not come is
/// lost.
pub(super) const DATAGRAM_QUIET: Duration = Duration::from_millis(500);

/// The embedded server publishes each broadcast when the last one has reached everyone (by
/// datagrams: or nothing more has come for [`DATAGRAM_QUIET`]).
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
        let mut quiet = deadline;
        let mut got = collect::Round::default();
        let mut expected = tally.alive();
        while (got.len() as u64) < expected {
            tokio::select! {
                news = rx.recv() => match news {
                    Some(News::Event { created_ns, latency_ns, bytes, .. }) if created_ns >= floor_ns => {
                        got.add(latency_ns, bytes);
                        if transport.is_datagram() {
                            quiet = (tokio::time::Instant::now() + DATAGRAM_QUIET).min(deadline);
                        }
                    }
                    Some(other) => { tally.stray(other); expected = tally.alive(); }
                    None => break,
                },
                _ = tokio::time::sleep_until(quiet) => break,
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
/// every subscriber (by datagrams: or after which nothing has come for [`DATAGRAM_QUIET`]) is
/// the warm-up, and the next `broadcasts` events are kept. Where the ticks
/// carry the server's CPU time, a broadcast's cost is the server's CPU from the tick before it
/// to it (only the fan-out runs there, so that is the previous broadcast's delivery, alike).
async fn from_ticks(
    plan: &FanoutPlan,
    transport: Transport,
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
    let mut quiet = deadline;
    while kept < plan.broadcasts {
        // None: quiet, the newest event as complete as it will be.
        let news = tokio::select! {
            news = rx.recv() => match news {
                Some(news) => Some(news),
                None => break,
            },
            _ = tokio::time::sleep_until(quiet), if transport.is_datagram() && !events.is_empty() => None,
            _ = tokio::time::sleep_until(deadline) => {
                tally.timed_out(format!("no event reached every subscriber within {timeout:?}"));
                break;
            }
            _ = cancel.cancelled() => return,
        };
        let created_ns = match news {
            None => match events.keys().next_back() {
                Some(&newest) => newest,
                None => continue,
            },
            Some(News::Event { created_ns, latency_ns, bytes, server_cpu_ns }) => {
                if warm_up.is_some_and(|w| created_ns <= w) {
                    continue;
                }
                let round = events.entry(created_ns).or_default();
                round.add(latency_ns, bytes);
                round.server_cpu_ns = round.server_cpu_ns.or(server_cpu_ns);
                quiet = (tokio::time::Instant::now() + DATAGRAM_QUIET).min(deadline);
                if (round.len() as u64) < tally.alive() {
                    continue;
                }
                created_ns
            }
            Some(news) => {
                tally.stray(news);
                continue;
            }
        };
        // This event reached everyone (or all it will): the ones before it that did not are
        // missed in part.
        let complete = events.split_off(&(created_ns.saturating_add(1)));
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
    /// Over QUIC, a place among the handshakes made at once.
    handshakes: Option<Arc<tokio::sync::Semaphore>>,
    /// Over QUIC, the UDP endpoints the cell's subscribers share, 16 to one (one of its own
    /// would hold 3 MB), and TLS sessions of the subscriber's own.
    quic: SharedQuic,
}

/// QUIC subscribers connecting at once.
const QUIC_HANDSHAKES_AT_ONCE: usize = 32;

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
                    // The broadcast it missed counts it.
                    Err(ClientError::LostEvent) => continue,
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
        let shared = Shared { quic: self.quic.clone(), ..Default::default() };
        let options = ClientOptions::default();
        let _turn = match &self.handshakes {
            Some(handshakes) => handshakes.acquire().await.ok(),
            None => None,
        };
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
