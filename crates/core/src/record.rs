//! What a run produced: every sample, the plan, where and how it ran. This is what stats,
//! storage and export consume; it is serialisable so it can be stored and shipped whole.

use serde::{Deserialize, Serialize};

use crate::clients::Transport;
use crate::platform::PlatformInfo;
use crate::runner::Plan;

/// Which kind of client measured a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// Rust clients in the engine (tokio-tungstenite, reqwest).
    Native,
    /// The web view's own JavaScript (`WebSocket`, `fetch`, `XMLHttpRequest`).
    Webview,
}

impl ClientKind {
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Native => "native",
            ClientKind::Webview => "webview",
        }
    }
}

impl std::str::FromStr for ClientKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(ClientKind::Native),
            "webview" => Ok(ClientKind::Webview),
            other => Err(format!("unknown client {other:?} (expected native or webview)")),
        }
    }
}

/// One measured (or failed) exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub transport: Transport,
    pub client: ClientKind,
    /// Which of the plan's concurrent clients (0-based).
    pub client_id: u32,
    /// Set number, from 1.
    pub set: u32,
    /// Sequence of the call within its client, from 1 (warm-up calls are not recorded).
    pub seq: u64,
    /// Wall clock at send (round trip) or event creation (push), Unix ns.
    pub sent_at_unix_ns: i64,
    /// Round trip (ws, http, http-new) or event-to-client latency (push), ns. 0 on error.
    pub latency_ns: u64,
    /// Fixed-rate runs: how late the send was against its schedule. `latency_ns` already
    /// includes it (the coordinated-omission correction); subtract it for the raw service time.
    pub send_delay_ns: u64,
    pub server_time_unix_ns: Option<i64>,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub error: Option<String>,
}

impl Sample {
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Complete,
    Cancelled,
    /// Ended by an error (recorded in [`RunRecord::error`]); the samples before it are kept.
    Failed,
}

/// Where client and server ran relative to each other. Latencies compare only within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// Client and embedded server on one runtime thread.
    SameThread,
    /// Client and embedded server on two threads of one process.
    CrossThread,
    /// A server in another process on this machine (loopback target).
    SeparateProcess,
    /// A server on another machine.
    Remote,
    /// Clients in the web view, server in the app process.
    Webview,
}

impl Topology {
    pub fn name(self) -> &'static str {
        match self {
            Topology::SameThread => "same-thread",
            Topology::CrossThread => "cross-thread",
            Topology::SeparateProcess => "separate-process",
            Topology::Remote => "remote",
            Topology::Webview => "webview",
        }
    }

    /// Push latency compares a server timestamp with a client one: valid on one machine only.
    pub fn one_clock(self) -> bool {
        self != Topology::Remote
    }
}

/// Wall time one transport spent on one set (for throughput: round trips per millisecond).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockTiming {
    pub transport: Transport,
    pub client: ClientKind,
    pub set: u32,
    pub elapsed_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub duplex_version: String,
    pub started_at_unix_ns: i64,
    pub finished_at_unix_ns: i64,
    pub status: RunStatus,
    pub error: Option<String>,
    pub plan: Plan,
    /// "embedded" or the target URL.
    pub target: String,
    /// The server address actually used.
    pub server: String,
    pub topology: Topology,
    pub platform: PlatformInfo,
    pub blocks: Vec<BlockTiming>,
    pub samples: Vec<Sample>,
}

impl RunRecord {
    /// Plain words for the clock caveat of push latencies.
    pub fn clock_note(&self) -> &'static str {
        if self.topology.one_clock() {
            "client and server share one clock"
        } else {
            "server and client clocks differ: push latencies are not one-way delays"
        }
    }
}
