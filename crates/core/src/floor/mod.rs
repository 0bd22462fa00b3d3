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

mod rates;
mod stock;

use std::time::Instant;

use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::plan::Plan;
use crate::runner::{Target, execute};
use crate::stats::{Group, summarize};
use duplex_clients::Transport;
use duplex_model::clock::unix_ns_to_secs;
use duplex_model::protocol::echo_request_json;
use duplex_model::record::{RunStatus, Topology};
use rates::{relay_cost, throughput};
use stock::{Stock, measure_stock};

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
