//! What a run produced: every sample, the plan, where and how it ran. This is what stats,
//! storage and export consume; it is serialisable so it can be stored and shipped whole.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::plan::Plan;
use crate::platform::PlatformInfo;
use crate::power::PowerTrace;
pub use crate::transport::ClientKind;
use crate::transport::Transport;

mod outside;

pub use outside::{ClientPart, MAX_ERROR_CHARS, MergeError};

/// One measured (or failed) exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
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

/// A datagram echo whose datagram or answer did not arrive (an unreliable transport: it is
/// counted, never sent again), in the words every client (native or page) records it in.
pub const LOST_DATAGRAM: &str = "datagram lost (no answer within 4 round trips, at least 250 ms)";

/// A pushed event whose datagram did not arrive (a later event's came first), in the words the
/// client records it in.
pub const LOST_EVENT: &str = "event datagram lost (a later event came first)";

impl Sample {
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    /// Whether the call is a lost datagram ([`LOST_DATAGRAM`], [`LOST_EVENT`]): loss, not
    /// failure.
    pub fn is_lost(&self) -> bool {
        matches!(self.error.as_deref(), Some(LOST_DATAGRAM | LOST_EVENT))
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Complete,
    Cancelled,
    /// Ended by an error (recorded in [`RunRecord::error`]); the samples before it are kept.
    Failed,
}

impl RunStatus {
    /// "complete", "cancelled", "failed": as the history and every report say it.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Failed => "failed",
        }
    }
}

/// Where client and server ran relative to each other. Latencies compare only within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct BlockTiming {
    pub transport: Transport,
    pub client: ClientKind,
    pub set: u32,
    /// When the block started (Unix ns; 0 in runs stored before Duplex recorded it): power
    /// and energy are attributed to transports by these windows.
    #[serde(default)]
    pub started_at_unix_ns: i64,
    pub elapsed_ns: u64,
}

impl BlockTiming {
    pub fn window(&self) -> Option<crate::power::TimeWindow> {
        (self.started_at_unix_ns > 0).then(|| crate::power::TimeWindow {
            start_unix_ns: self.started_at_unix_ns,
            end_unix_ns: self
                .started_at_unix_ns
                .saturating_add(i64::try_from(self.elapsed_ns).unwrap_or(i64::MAX)),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
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
    /// The web view that measured the `webview` samples, if any did.
    #[serde(default)]
    pub webview: Option<WebviewInfo>,
    /// CPU, memory, RAPL and battery readings taken during the run, if power was sampled.
    #[serde(default)]
    pub power: Option<PowerTrace>,
    /// What TLS the TLS transports used, one entry per transport and kind of client.
    #[serde(default)]
    pub tls: Vec<TlsUse>,
    /// Per kept-alive transport and kind of client, the calls that opened a connection of
    /// their own. Empty in older runs.
    #[serde(default)]
    pub connections: Vec<ConnectionUse>,
}

/// The TLS one transport of a run used: what its handshakes negotiated, how many there were,
/// and what they cost on the wire (counted on the socket). Keys never appear here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct TlsUse {
    pub transport: Transport,
    pub client: ClientKind,
    /// How the server's certificate was checked ("pinned certificate, SHA-256 …", "the
    /// platform's trust store", or NOT VERIFIED with `--insecure`).
    pub verification: String,
    /// Protocol version, cipher suite and ALPN protocol of the first handshake.
    pub version: String,
    pub cipher_suite: String,
    pub alpn: Option<String>,
    /// Connections opened (handshakes), warm-up included, and how many resumed a session.
    pub connections: u64,
    pub resumed: u64,
    /// Connections whose first request went before the handshake ended, as 0-RTT data the
    /// server took (`h3-new` resumed). Records before it have none.
    #[serde(default)]
    pub early_data: u64,
    /// Bytes of all handshakes, each way.
    pub handshake_bytes_out: u64,
    pub handshake_bytes_in: u64,
}

impl TlsUse {
    /// Whether nothing was verified (`--insecure`): every report says so.
    pub fn unverified(&self) -> bool {
        self.verification.starts_with("NOT VERIFIED")
    }

    /// One line for a report.
    pub fn describe(&self) -> String {
        let n = self.connections.max(1);
        // QUIC's stack does not say which suite it chose: no empty ", ," then.
        let suite =
            if self.cipher_suite.is_empty() { String::new() } else { format!(", {}", self.cipher_suite) };
        let early = match self.early_data {
            0 => String::new(),
            n => format!(", {n} sent their request as 0-RTT data"),
        };
        format!(
            "{} ({}): {}{suite}, ALPN {}; {} connection(s), {} resumed{early}; handshake {} B out, {} B in per connection; server verified by {}",
            self.transport,
            self.client.name(),
            self.version,
            self.alpn.as_deref().unwrap_or("none"),
            self.connections,
            self.resumed,
            self.handshake_bytes_out / n,
            self.handshake_bytes_in / n,
            self.verification
        )
    }
}

/// What a web view says about itself beside its samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct WebviewInfo {
    pub user_agent: String,
    /// Smallest step `performance.now()` showed, µs: web views coarsen their clock, so
    /// differences below this are not measurable from a page. A round trip read as 0 was
    /// shorter than this step (censored, not an error).
    pub timer_resolution_us: f64,
    /// Whether the page was cross-origin isolated (`crossOriginIsolated`): browsers give such
    /// pages a finer clock. None when the page did not say (older runs).
    #[serde(default)]
    pub cross_origin_isolated: Option<bool>,
    /// Transports of its plan the page could not measure, and why (a browser without
    /// WebTransport, a page that is not a secure context).
    #[serde(default)]
    pub unavailable: Vec<Unavailable>,
}

/// A transport a page was handed and could not measure, and why, in the page's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Unavailable {
    pub transport: Transport,
    pub reason: String,
}

/// How many of the recorded calls of one transport that means to keep its connection opened
/// one of their own: a browser that does not keep a connection (WebKitGTK's network stack never
/// reuses one for a POST), or a server that closed an idle one (a transfer longer than its
/// keep-alive timeout). Each such call pays a TCP handshake, and the link's model counts it.
/// Native clients count the connections they open; web clients read the server's
/// `x-duplex-connection-request` answer header (1: the connection's first request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct ConnectionUse {
    pub transport: Transport,
    pub client: ClientKind,
    /// Calls that said where they were (every native call; a web call a Duplex server answered).
    pub calls: u64,
    /// Of those, the first request on their connection: each opened a connection of its own.
    pub new_connections: u64,
}

impl ConnectionUse {
    /// Share of the calls that opened a connection; 0 when none said.
    pub fn share(&self) -> f64 {
        if self.calls == 0 { 0.0 } else { self.new_connections as f64 / self.calls as f64 }
    }
}

impl RunRecord {
    /// A run in which a transport failed every call it made is not complete: it has no
    /// latency to show for it. Marks it failed, with that transport's first error.
    pub fn fail_unanswered(&mut self) {
        if self.status != RunStatus::Complete {
            return;
        }
        let mut groups: Vec<(Transport, ClientKind)> =
            self.samples.iter().map(|s| (s.transport, s.client)).collect();
        groups.sort();
        groups.dedup();
        let unanswered = groups
            .into_iter()
            .find(|(t, c)| !self.samples.iter().any(|s| s.transport == *t && s.client == *c && s.is_ok()));
        if let Some((transport, client)) = unanswered {
            let of = |s: &&Sample| s.transport == transport && s.client == client;
            let calls = self.samples.iter().filter(of).count();
            let first = self.samples.iter().filter(of).find_map(|s| s.error.clone()).unwrap_or_default();
            self.status = RunStatus::Failed;
            self.error = Some(format!(
                "every {transport} call of the {} clients failed ({calls} of {calls}), the first with: {first}",
                client.name()
            ));
        }
    }

    /// An empty record for `plan`, started now.
    pub fn new(plan: Plan, target: String) -> RunRecord {
        RunRecord {
            id: uuid::Uuid::new_v4().to_string(),
            duplex_version: crate::VERSION.to_owned(),
            started_at_unix_ns: crate::clock::now_unix_ns(),
            finished_at_unix_ns: 0,
            status: RunStatus::Complete,
            error: None,
            plan,
            target,
            server: String::new(),
            topology: Topology::SameThread,
            platform: PlatformInfo::default(),
            blocks: Vec::new(),
            samples: Vec::new(),
            webview: None,
            power: None,
            tls: Vec::new(),
            connections: Vec::new(),
        }
    }

    /// The record with every access token in its texts (target, server, error, sample errors)
    /// written `token=…`: what is stored, exported or shown keeps no secret.
    pub fn redact_secrets(&mut self) {
        use crate::redact::redact;
        self.target = redact(&self.target);
        self.server = redact(&self.server);
        self.error = self.error.as_deref().map(redact);
        for s in &mut self.samples {
            if let Some(e) = &mut s.error {
                *e = redact(e);
            }
        }
    }

    /// Plain words for the clock caveat of push latencies.
    pub fn clock_note(&self) -> &'static str {
        if self.topology.one_clock() {
            "one machine, one clock: round trips and push latencies alike"
        } else {
            "two machines: round trips are timed on the client's clock alone; push latencies \
             subtract the server's clock from the client's, so they are not one-way delays"
        }
    }
}
