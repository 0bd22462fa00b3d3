//! The floor benchmark: in one process run, the same message size over raw TCP ping-pong
//! (the physical floor), a stock echo (plain tokio-tungstenite; plain axum + reqwest) and
//! Duplex's own full run path (runner, clients, embedded server), on one thread and across
//! two, each unpinned and then pinned to one core ([`crate::pin`]), and the ratios between
//! them. Ratios compare only within one configuration, and come from the pinned rows where the
//! platform can pin: across two threads, unpinned figures switch between a busy and an idle
//! regime as the CPUs sleep between calls, and a ratio of two such figures is a coin toss.
//!
//! The rows take turns: each of the plan's sets is a round in which every row measures its
//! calls, and a ratio is the median over the rounds of the two rows' p50s in the same round.
//! A machine that changes pace meanwhile (a slower mode of a core for a while) slows both rows
//! of a round alike, as the interleaved order of a run protects its comparisons.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use schemars::JsonSchema;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::plan::Plan;

use crate::runner::{Target, execute};
use crate::stats::{Group, summarize};
use duplex_clients::Transport;
use duplex_model::clock::unix_ns_to_secs;
use duplex_model::protocol::echo_request_json;
use duplex_model::record::{RunStatus, Topology};

#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    #[error("floor benchmark: {0}")]
    Io(#[from] std::io::Error),
    #[error("floor benchmark: {0}")]
    Other(String),
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FloorRow {
    pub topology: Topology,
    /// Client and server threads on one core.
    pub pinned: bool,
    pub name: &'static str,
    pub p50_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
    pub count: u64,
    /// The p50 of each round, in order.
    pub round_p50_us: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Ratio {
    pub topology: Topology,
    /// Computed from the pinned rows.
    pub pinned: bool,
    pub what: &'static str,
    /// The rows it divides, by name: `numerator`'s p50 over `denominator`'s.
    pub numerator: &'static str,
    pub denominator: &'static str,
    /// The median over the rounds of the numerator's p50 over the denominator's.
    pub value: f64,
    /// The brief's aim for this ratio.
    pub aim: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FloorReport {
    pub message_bytes: usize,
    pub calls: u64,
    pub rows: Vec<FloorRow>,
    pub ratios: Vec<Ratio>,
    /// The core the pinned rows ran on, or why there are none.
    pub pinning: Pinning,
    /// Wall time of the Duplex ws + http run on one thread (sets x calls each).
    pub duplex_run_seconds: f64,
    /// What the link emulator's relay costs at RTT 0, on one thread.
    pub relay: Option<RelayCost>,
    /// Echo messages per second Duplex's WebSocket server answers, against the stock echo.
    pub throughput: Throughput,
}

/// Server throughput: [`THROUGHPUT_CONNECTIONS`] WebSockets, each sending the message back to
/// back (the next when the echo of the last is back), on one thread; the server on a thread of
/// its own: Duplex's plain echo (`/ws/echo`) and then a stock tokio-tungstenite echo, in turn.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Throughput {
    pub connections: u32,
    /// The window counted, after a warm-up of a fifth of it.
    pub seconds: f64,
    pub duplex_per_s: f64,
    pub stock_per_s: f64,
    /// Duplex over stock (aim: at least 1).
    pub ratio: f64,
}

/// Where the pinned rows ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Pinning {
    pub core: Option<usize>,
    /// Why this platform has no pinned rows.
    pub unavailable: Option<String>,
}

pub const THROUGHPUT_CONNECTIONS: u32 = 100;
const THROUGHPUT_SECONDS: f64 = 2.0;

/// The link relay's own cost: a ws run through it at RTT 0 (no delay, bandwidth far above the
/// traffic) against the same run without it, one after the other in this process.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RelayCost {
    /// Added to the median ws round trip, µs (aim: under 20).
    pub added_p50_us: f64,
    /// This process's extra CPU time per round trip, µs (clients, server and relay together).
    pub added_cpu_us_per_message: Option<f64>,
    pub messages: u64,
}

const RAW_TCP: &str = "raw TCP ping-pong";
const STOCK_WS: &str = "stock WebSocket echo";
const STOCK_HTTP: &str = "stock HTTP keep-alive echo";
const DUPLEX_WS: &str = "duplex ws";
const DUPLEX_HTTP: &str = "duplex http";
const RELAYED_WS: &str = "duplex ws via link (RTT 0)";

/// Runs everything; blocking (it builds its own runtimes and threads).
pub fn measure(plan: &Plan) -> Result<FloorReport, FloorError> {
    let message = echo_request_json(
        unix_ns_to_secs(duplex_model::clock::now_unix_ns()),
        1,
        &"x".repeat(plan.payload_bytes),
    );
    let calls = u64::from(plan.sets) * u64::from(plan.calls);
    // One round is one set of every row.
    let duplex_plan = Plan {
        sets: 1,
        // Power readings would add a 2 s idle baseline to every round, and their own load.
        power: crate::power::PowerSettings::OFF,
        transports: vec![Transport::Ws, Transport::Http],
        interval_ms: 0.0,
        rate: None,
        concurrency: 1,
        binary: false,
        http_method: duplex_clients::HttpMethod::Post,
        ..plan.clone()
    }
    .check()
    .map_err(|e| FloorError::Other(e.to_string()))?;
    let rounds = plan.sets.max(1);
    let (mut rows, duplex_run_seconds) = rows_of(&duplex_plan, &message, rounds, false)?;
    let pinning = match crate::pin::unavailable() {
        Some(why) => Pinning { core: None, unavailable: Some(why.to_owned()) },
        None => {
            let core = crate::pin::default_core();
            let (plan, message) = (duplex_plan.clone(), message.clone());
            let (pinned, _) = crate::pin::on_core(core, move || rows_of(&plan, &message, rounds, true))
                .map_err(FloorError::Other)??;
            rows.extend(pinned);
            Pinning { core: Some(core), unavailable: None }
        }
    };
    let relay = relay_cost(&duplex_plan, rounds, &mut rows)?;
    let pinned = pinning.core.is_some();
    let rounds_of = |t: Topology, name: &str| {
        rows.iter()
            .find(|r| r.topology == t && r.name == name && r.pinned == pinned)
            .map_or_else(Vec::new, |r| r.round_p50_us.clone())
    };
    // (what, numerator, denominator, the brief's aim)
    const RATIOS: [(&str, &str, &str, f64); 4] = [
        ("duplex ws / stock ws", DUPLEX_WS, STOCK_WS, 1.05),
        ("duplex http / stock http", DUPLEX_HTTP, STOCK_HTTP, 1.05),
        ("duplex ws / raw TCP", DUPLEX_WS, RAW_TCP, 1.5),
        ("duplex http / raw TCP", DUPLEX_HTTP, RAW_TCP, 2.5),
    ];
    let ratios = [Topology::SameThread, Topology::CrossThread]
        .into_iter()
        .flat_map(|t| {
            RATIOS.map(|(what, num, den, aim)| Ratio {
                topology: t,
                pinned,
                what,
                numerator: num,
                denominator: den,
                value: round_ratio(&rounds_of(t, num), &rounds_of(t, den)),
                aim,
            })
        })
        .collect();
    let throughput = throughput(&message)?;
    Ok(FloorReport {
        message_bytes: message.len(),
        calls,
        rows,
        ratios,
        pinning,
        duplex_run_seconds,
        relay,
        throughput,
    })
}

/// The stock and Duplex rows on one thread and across two, taking turns round by round, and
/// how long Duplex's runs on one thread took in all (s).
fn rows_of(
    duplex_plan: &crate::plan::CheckedPlan,
    message: &str,
    rounds: u32,
    pinned: bool,
) -> Result<(Vec<FloorRow>, f64), FloorError> {
    const NAMES: [&str; 5] = [RAW_TCP, STOCK_WS, STOCK_HTTP, DUPLEX_WS, DUPLEX_HTTP];
    let (calls, warmup) = (u64::from(duplex_plan.calls), duplex_plan.warmup);
    let mut duplex_run_seconds = 0.0;
    let mut rows = Vec::new();
    for topology in [Topology::SameThread, Topology::CrossThread] {
        // Per row: every latency, and each round's p50.
        let mut measured: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); NAMES.len()];
        for _ in 0..rounds {
            let mut round: Vec<Vec<f64>> = Vec::new();
            for kind in [Stock::Tcp, Stock::Ws, Stock::Http] {
                round.push(measure_stock(kind, topology, message, calls, warmup)?);
            }
            let started = Instant::now();
            let record = current_thread()?.block_on(execute(
                duplex_plan.clone(),
                Target::Embedded { topology },
                tokio::sync::mpsc::unbounded_channel().0,
                CancellationToken::new(),
            ));
            if topology == Topology::SameThread {
                duplex_run_seconds += started.elapsed().as_secs_f64();
            }
            if record.status != RunStatus::Complete {
                return Err(FloorError::Other(format!("duplex run failed: {:?}", record.error)));
            }
            for transport in [Transport::Ws, Transport::Http] {
                round.push(
                    record
                        .samples
                        .iter()
                        .filter(|s| s.transport == transport && s.is_ok())
                        .map(|s| s.latency_ns as f64 / 1e3)
                        .collect(),
                );
            }
            for ((all, p50s), latencies) in measured.iter_mut().zip(round) {
                p50s.push(summarize(&Group { latencies_us: latencies.clone(), ..Group::default() }).p50_us);
                all.extend(latencies);
            }
        }
        for (name, (all, p50s)) in NAMES.into_iter().zip(measured) {
            let mut r = row(topology, pinned, name, &all);
            r.round_p50_us = p50s;
            rows.push(r);
        }
    }
    Ok((rows, duplex_run_seconds))
}

/// The median over rounds of one row's p50 over another's in the same round.
fn round_ratio(num: &[f64], den: &[f64]) -> f64 {
    duplex_model::numbers::median(num.iter().zip(den).map(|(n, d)| n / d).filter(|r| r.is_finite()))
        .unwrap_or(f64::NAN)
}

fn throughput(message: &str) -> Result<Throughput, FloorError> {
    let room = THROUGHPUT_CONNECTIONS as usize + 16;
    let limits = crate::server::Limits {
        max_connections: room,
        max_connections_per_peer: room,
        ..crate::server::Limits::default()
    };
    let server = crate::server::ServerThread::spawn(crate::server::ServerConfig {
        limits,
        ..crate::server::ServerConfig::default()
    })
    .map_err(|e| FloorError::Other(e.to_string()))?;
    let duplex_per_s = echo_rate(&format!("ws://{}/ws/echo", server.local_addr()), message)?;
    drop(server);
    let stop = CancellationToken::new();
    let _guard = stop.clone().drop_guard();
    let (addr, thread) = stock_on_thread(Stock::Ws, stop.clone())?;
    let stock_per_s = echo_rate(&format!("ws://{addr}/"), message);
    stop.cancel();
    let _ = thread.join();
    let stock_per_s = stock_per_s?;
    Ok(Throughput {
        connections: THROUGHPUT_CONNECTIONS,
        seconds: THROUGHPUT_SECONDS,
        duplex_per_s,
        stock_per_s,
        ratio: duplex_per_s / stock_per_s,
    })
}

/// Echoes per second at `url` from [`THROUGHPUT_CONNECTIONS`] WebSockets sending back to back.
fn echo_rate(url: &str, message: &str) -> Result<f64, FloorError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    current_thread()?.block_on(async {
        let mut sockets = Vec::new();
        for _ in 0..THROUGHPUT_CONNECTIONS {
            let (ws, _) =
                tokio_tungstenite::connect_async(url).await.map_err(|e| FloorError::Other(e.to_string()))?;
            sockets.push(ws);
        }
        let warm = Instant::now() + Duration::from_secs_f64(THROUGHPUT_SECONDS / 5.0);
        let end = warm + Duration::from_secs_f64(THROUGHPUT_SECONDS);
        let counted = Arc::new(AtomicU64::new(0));
        let tasks = sockets.into_iter().map(|mut ws| {
            let (counted, message) = (counted.clone(), message.to_owned());
            async move {
                while Instant::now() < end {
                    ws.send(Message::Text(message.clone().into())).await.map_err(|e| e.to_string())?;
                    match ws.next().await {
                        Some(Ok(_)) if Instant::now() >= warm && Instant::now() < end => {
                            counted.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(Ok(_)) => {}
                        other => return Err(format!("echo: {other:?}")),
                    }
                }
                let _ = ws.close(None).await;
                Ok::<(), String>(())
            }
        });
        for result in futures_util::future::join_all(tasks).await {
            result.map_err(FloorError::Other)?;
        }
        Ok(counted.load(Ordering::Relaxed) as f64 / THROUGHPUT_SECONDS)
    })
}

/// Duplex's ws on one thread without and then through the link relay at RTT 0 (its bandwidth,
/// 1 Tbit/s, only makes the relay run), with this process's CPU time around each.
fn relay_cost(
    plan: &crate::plan::CheckedPlan,
    sets: u32,
    rows: &mut Vec<FloorRow>,
) -> Result<Option<RelayCost>, FloorError> {
    // All the plan's calls at once: the CPU time is read in whole milliseconds.
    let ws_only = Plan { transports: vec![Transport::Ws], sets, ..plan.clone().into_plan() };
    let link = crate::link::Link::parse("down=1000000mbit,up=1000000mbit")
        .map_err(|e| FloorError::Other(e.to_string()))?;
    let mut measured = Vec::new();
    for link in [None, Some(link)] {
        let plan = Plan { link, ..ws_only.clone() }.check().map_err(|e| FloorError::Other(e.to_string()))?;
        let cpu_before = process_cpu_ms();
        let record = current_thread()?.block_on(execute(
            plan,
            Target::Embedded { topology: Topology::SameThread },
            tokio::sync::mpsc::unbounded_channel().0,
            CancellationToken::new(),
        ));
        let cpu_ms = cpu_before.zip(process_cpu_ms()).map(|(a, b)| b.saturating_sub(a));
        if record.status != RunStatus::Complete {
            return Err(FloorError::Other(format!("duplex run failed: {:?}", record.error)));
        }
        let latencies: Vec<f64> =
            record.samples.iter().filter(|s| s.is_ok()).map(|s| s.latency_ns as f64 / 1e3).collect();
        let messages = latencies.len() as u64;
        measured.push((
            summarize(&Group { latencies_us: latencies.clone(), ..Group::default() }).p50_us,
            cpu_ms,
            messages,
        ));
        if measured.len() == 2 {
            rows.push(row(Topology::SameThread, false, RELAYED_WS, &latencies));
        }
    }
    let [(direct_p50, direct_cpu, messages), (relayed_p50, relayed_cpu, _)] = measured[..] else {
        return Ok(None);
    };
    let added_cpu_us_per_message = direct_cpu
        .zip(relayed_cpu)
        .filter(|_| messages > 0)
        .map(|(a, b)| (b as f64 - a as f64) * 1e3 / messages as f64);
    Ok(Some(RelayCost { added_p50_us: relayed_p50 - direct_p50, added_cpu_us_per_message, messages }))
}

/// CPU time this process has used so far, ms (sysinfo).
fn process_cpu_ms() -> Option<u64> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = sysinfo::get_current_pid().ok()?;
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_cpu(),
    );
    system.process(pid).map(|p| p.accumulated_cpu_time())
}

fn row(topology: Topology, pinned: bool, name: &'static str, latencies_us: &[f64]) -> FloorRow {
    let s = summarize(&Group { latencies_us: latencies_us.to_vec(), ..Group::default() });
    FloorRow {
        topology,
        pinned,
        name,
        p50_us: s.p50_us,
        p99_us: s.p99_us,
        mean_us: s.mean_us,
        count: s.count,
        round_p50_us: Vec::new(),
    }
}

fn current_thread() -> Result<tokio::runtime::Runtime, FloorError> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

#[derive(Clone, Copy)]
enum Stock {
    Tcp,
    Ws,
    Http,
}

fn measure_stock(
    kind: Stock,
    topology: Topology,
    message: &str,
    calls: u64,
    warmup: u32,
) -> Result<Vec<f64>, FloorError> {
    let rt = current_thread()?;
    let stop = CancellationToken::new();
    let _guard = stop.clone().drop_guard();
    let (addr, thread) = if topology == Topology::SameThread {
        (rt.block_on(start_stock(kind, stop.clone()))?, None)
    } else {
        let (addr, thread) = stock_on_thread(kind, stop.clone())?;
        (addr, Some(thread))
    };
    let result = rt.block_on(async {
        match kind {
            Stock::Tcp => tcp_client(addr, message.len(), calls, warmup).await,
            Stock::Ws => ws_client(addr, message, calls, warmup).await,
            Stock::Http => http_client(addr, message, calls, warmup).await,
        }
    });
    stop.cancel();
    if let Some(t) = thread {
        let _ = t.join();
    }
    result
}

/// A stock server on a thread (and runtime) of its own, until `stop`.
fn stock_on_thread(
    kind: Stock,
    stop: CancellationToken,
) -> Result<(SocketAddr, std::thread::JoinHandle<()>), FloorError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let Ok(rt) = current_thread() else { return };
        rt.block_on(async move {
            let _ = tx.send(start_stock(kind, stop.clone()).await.map_err(|e| e.to_string()));
            stop.cancelled().await;
        });
    });
    let addr = rx.recv().map_err(|e| FloorError::Other(e.to_string()))?.map_err(FloorError::Other)?;
    Ok((addr, thread))
}

async fn start_stock(kind: Stock, stop: CancellationToken) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    match kind {
        Stock::Http => {
            let app = axum::Router::new()
                .route("/echo", axum::routing::post(|body: axum::body::Bytes| async move { body }));
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await;
            });
        }
        Stock::Tcp | Stock::Ws => {
            tokio::spawn(async move {
                loop {
                    let (tcp, _) = tokio::select! {
                        _ = stop.cancelled() => return,
                        accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => return },
                    };
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(async move {
                        match kind {
                            Stock::Tcp => tcp_echo(tcp).await,
                            _ => ws_echo(tcp).await,
                        }
                    });
                }
            });
        }
    }
    Ok(addr)
}

async fn tcp_echo(mut tcp: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tcp.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn ws_echo(tcp: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}

fn elapsed_us(t: Instant) -> f64 {
    t.elapsed().as_nanos() as f64 / 1e3
}

async fn tcp_client(addr: SocketAddr, len: usize, calls: u64, warmup: u32) -> Result<Vec<f64>, FloorError> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let out = vec![b'x'; len];
    let mut back = vec![0u8; len];
    let mut xs = Vec::with_capacity(calls as usize);
    for i in 0..u64::from(warmup) + calls {
        let t = Instant::now();
        tcp.write_all(&out).await?;
        tcp.read_exact(&mut back).await?;
        if i >= u64::from(warmup) {
            xs.push(elapsed_us(t));
        }
    }
    Ok(xs)
}

async fn ws_client(addr: SocketAddr, message: &str, calls: u64, warmup: u32) -> Result<Vec<f64>, FloorError> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp)
        .await
        .map_err(|e| FloorError::Other(e.to_string()))?;
    let mut xs = Vec::with_capacity(calls as usize);
    for i in 0..u64::from(warmup) + calls {
        let msg = Message::Text(message.to_owned().into());
        let t = Instant::now();
        ws.send(msg).await.map_err(|e| FloorError::Other(e.to_string()))?;
        match ws.next().await {
            Some(Ok(_)) => {}
            other => return Err(FloorError::Other(format!("stock ws echo: {other:?}"))),
        }
        if i >= u64::from(warmup) {
            xs.push(elapsed_us(t));
        }
    }
    Ok(xs)
}

async fn http_client(
    addr: SocketAddr,
    message: &str,
    calls: u64,
    warmup: u32,
) -> Result<Vec<f64>, FloorError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| FloorError::Other(e.to_string()))?;
    let url = format!("http://{addr}/echo");
    let mut xs = Vec::with_capacity(calls as usize);
    for i in 0..u64::from(warmup) + calls {
        let request = client.post(&url).body(message.to_owned());
        let t = Instant::now();
        let response = request.send().await.map_err(|e| FloorError::Other(e.to_string()))?;
        response.bytes().await.map_err(|e| FloorError::Other(e.to_string()))?;
        if i >= u64::from(warmup) {
            xs.push(elapsed_us(t));
        }
    }
    Ok(xs)
}
