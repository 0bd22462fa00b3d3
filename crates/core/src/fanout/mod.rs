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

mod cell;
pub(crate) mod collect;
mod floor;
mod headline;

use cell::{Progress, measure_cell};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use duplex_clients::{ClientError, Endpoints, Transport};
use duplex_server::{Limits, ServerConfig, ServerError, ServerThread};

pub use headline::headline;

pub use collect::Broadcast;
pub use floor::FloorRow;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
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

/// The floor's frame when no push transport measured one: about a Duplex event's WebSocket frame.
const DEFAULT_FRAME_BYTES: u64 = 100;

/// The transports that deliver server events to a waiting subscriber, measured by default.
pub const PUSH_TRANSPORTS: [Transport; 3] = [Transport::WsPush, Transport::LongPoll, Transport::Sse];

/// Every transport a fan-out may measure: the default ones and WebTransport's push, on a
/// stream or by datagrams (a QUIC connection per subscriber, asked for by name).
pub const FANOUT_TRANSPORTS: [Transport; 5] =
    [Transport::WsPush, Transport::LongPoll, Transport::Sse, Transport::WtPush, Transport::WtPushDgram];

impl FanoutPlan {
    pub fn check(&self) -> Result<(), String> {
        if self.subscribers.is_empty() || self.subscribers.contains(&0) {
            return Err("subscribers: at least one count, each at least 1".into());
        }
        let names = FANOUT_TRANSPORTS.map(Transport::name).join(", ");
        if let Some(t) = self.transports.iter().find(|t| !FANOUT_TRANSPORTS.contains(t)) {
            return Err(format!("{} is not a push transport: fan-out measures {names}", t.name()));
        }
        if self.transports.is_empty() {
            return Err(format!("transports: at least one of {names}"));
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
    /// [`FanoutCell::server_cpu_per_delivery_us`] over the floor's CPU per write at the same
    /// count ([`FanoutReport::floor`]): 1.0 would be a plain thread's cost.
    #[serde(default)]
    pub over_floor: Option<f64>,
    /// Errors by kind, with the first message of each.
    pub errors: BTreeMap<String, (u64, String)>,
    /// Each measured broadcast, in order.
    pub each: Vec<Broadcast>,
    /// The figures above in words, as every view shows them ("-" where there is none).
    #[serde(default)]
    pub words: FanoutWords,
}

/// A [`FanoutCell`]'s figures in words: "812.4 µs", "1.23 ms", "96 B", "-".
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, TS)]
pub struct FanoutWords {
    pub p50: String,
    pub p99: String,
    pub last: String,
    pub server_cpu: String,
    pub server_cpu_per_delivery: String,
    pub bytes_per_event: String,
    /// "3.2×" over the floor, or "-".
    #[serde(default)]
    pub over_floor: String,
    /// By datagrams, the missed deliveries as loss: "2.4 % lost"; empty when none was lost
    /// or the transport is reliable (its missed deliveries are failures).
    #[serde(default)]
    pub loss: String,
}

impl FanoutWords {
    pub(crate) fn of(c: &FanoutCell) -> Self {
        use crate::stats::{format_bytes, format_us};
        let us = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), format_us);
        FanoutWords {
            p50: us(c.p50_us),
            p99: us(c.p99_us),
            last: us(c.last_us),
            server_cpu: us(c.server_cpu_us),
            server_cpu_per_delivery: us(c.server_cpu_per_delivery_us),
            bytes_per_event: c.bytes_per_event.map_or_else(|| "-".to_owned(), format_bytes),
            over_floor: c.over_floor.map_or_else(|| "-".to_owned(), crate::stats::format_ratio),
            loss: if c.transport.is_datagram() {
                crate::stats::format_loss(c.missed, c.delivered + c.missed)
            } else {
                String::new()
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, TS)]
pub struct FanoutReport {
    pub plan: FanoutPlan,
    /// The server measured (its address), and whether it ran in this process.
    pub server: String,
    pub embedded: bool,
    pub cells: Vec<FanoutCell>,
    /// The floor at each subscriber count, where the server's CPU was seen.
    #[serde(default)]
    pub floor: Vec<FloorRow>,
    /// The result in one sentence: at the most subscribers, who reaches the last one first, and
    /// the others beside it (the terminal and the app both show it).
    pub headline: String,
    /// Every delivery of every broadcast arrived (by datagrams: or was lost, counted as
    /// missed) and nothing failed.
    pub ok: bool,
    /// [`FanoutReport::ok`] in words, as the terminal and the app both say it.
    #[serde(default)]
    pub outcome: String,
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

/// "wt-push-dgram at 1,000: 12 of 10,000 deliveries lost (0.1 % lost)…": an unreliable transport's
/// loss, counted as missed, not a failure.
fn lost_events(c: &FanoutCell) -> String {
    let all = c.delivered + c.missed;
    format!(
        "{} at {}: {} of {} deliveries lost ({}): a datagram is not sent again; a broadcast waits \
         {} ms after its last arrival for the rest, and counts what did not come as missed",
        c.transport,
        crate::stats::format_count(u64::from(c.subscribers)),
        crate::stats::format_count(c.missed),
        crate::stats::format_count(all),
        c.words.loss,
        cell::DATAGRAM_QUIET.as_millis(),
    )
}

/// Whether every broadcast reached everyone, in words ([`FanoutReport::outcome`]).
pub(crate) fn outcome(ok: bool, cells: &[FanoutCell]) -> String {
    let words = if !ok {
        "Some deliveries were missed or failed: see the table and its errors."
    } else if cells.iter().any(|c| !c.words.loss.is_empty()) {
        "Every subscriber got every broadcast, but for the datagrams lost (counted in the table)."
    } else {
        "Every subscriber got every broadcast."
    };
    words.to_owned()
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
    // The floor at each count, in the same run, where the server's CPU is seen (the embedded
    // server's, or a server's elsewhere on this machine that puts it in its ticks).
    let mut floor = Vec::new();
    if cells.iter().any(|c| c.server_cpu_us.is_some()) && !cancel.is_cancelled() {
        for &n in &plan.subscribers {
            let frame = [Transport::WsPush, Transport::Sse]
                .iter()
                .find_map(|t| cells.iter().find(|c| c.transport == *t && c.subscribers == n)?.bytes_per_event)
                .map_or(DEFAULT_FRAME_BYTES, |b| b.round() as u64);
            let broadcasts = plan.broadcasts;
            let row = tokio::task::spawn_blocking(move || floor::measure(n, frame, broadcasts))
                .await
                .unwrap_or_else(|e| FloorRow::failed(n, frame, e.to_string()));
            for c in cells.iter_mut().filter(|c| c.subscribers == n) {
                c.over_floor = c.server_cpu_per_delivery_us.zip(row.cpu_per_write_us).map(|(cpu, f)| cpu / f);
                c.words = FanoutWords::of(c);
            }
            floor.push(row);
        }
    }
    let ok = cells.len() == cells_total
        && cells.iter().all(|c| (c.missed == 0 || c.transport.is_datagram()) && c.errors.is_empty());
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
    notes.extend(cells.iter().filter(|c| c.transport.is_datagram() && c.missed > 0).map(lost_events));
    if !floor.is_empty() {
        notes.push(
            "floor: one plain thread writing the same frame bytes once to each of as many loopback sockets, \
             each with a reader waiting on it as a subscriber waits, its CPU time per write; a transport's \
             \"over floor\" is its server CPU per delivered event over it. floor, unread: the same writes with \
             nobody waiting"
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
    let outcome = outcome(ok, &cells);
    FanoutReport {
        plan,
        server: endpoints.authority.clone(),
        embedded: server.is_some(),
        cells,
        floor,
        headline,
        ok,
        outcome,
        notes,
    }
}
