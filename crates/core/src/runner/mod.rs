//! Runs a plan against a target: connects the clients, paces the calls, records every sample,
//! reports progress and samples as they come, honours cancellation, and keeps everything
//! measured when the server vanishes mid-run.
//!
//! Use [`spawn`] (its own thread and single-threaded runtime, so an embedded server can share the
//! clients' thread) to measure a part of a run that a [`crate::session::RunSession`] keeps, or
//! [`execute`] for a whole run on a runtime of your own (the floor benchmark, tests).

mod pacing;
mod target;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use duplex_model::plan::{CheckedPlan, Plan, PlanError};
pub use pacing::{Pacer, Watchdog};
use target::open_target;
pub use target::{Target, own_endpoints, own_trust};

use crate::power::PowerMonitor;
use duplex_clients::{Client, ClientError, ClientOptions, Endpoints, Shared, SharedQuic, Transport, Trust};
use duplex_model::clock::{nanos, now_unix_ns};
use duplex_model::record::{
    BlockTiming, ClientKind, ConnectionUse, RunRecord, RunStatus, Sample, TlsUse, Topology,
};
use duplex_model::redact::redact;

/// How far a run is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub transport: Transport,
    pub set: u32,
    pub sets: u32,
    /// Calls recorded so far, all transports.
    pub done: u64,
    pub total: u64,
}

/// What a run reports while it runs.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Started {
        run_id: String,
        server: String,
        topology: Topology,
        /// The record so far (plan, platform, target; no samples): enough to begin writing it
        /// to a history as it is measured.
        record: Box<RunRecord>,
    },
    Progress(Progress),
    /// New samples, in batches about every 100 ms.
    Samples(Vec<Sample>),
    /// The idle baseline for power has begun: no traffic for this long.
    Baseline {
        duration_ms: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("cannot start the run thread: {0}")]
    Thread(std::io::Error),
}

/// What a part of a run fills, and the power monitor spanning the whole run. A run session
/// lends it to the runner for its native part and gets it back.
pub struct Part {
    pub record: RunRecord,
    pub power: PowerMonitor,
}

/// A part of a run in progress on its own thread.
pub struct RunHandle {
    pub events: mpsc::UnboundedReceiver<RunEvent>,
    result: oneshot::Receiver<Part>,
}

impl RunHandle {
    /// The filled part, once the run thread is done (read `events` first if you want them).
    pub async fn finish(self) -> Result<Part, RunError> {
        self.result
            .await
            .map_err(|_| RunError::Thread(std::io::Error::other("the run thread stopped unexpectedly")))
    }
}

/// Measures `plan`'s native part against `target` on a new thread with a single-threaded tokio
/// runtime, into `part`. Cancel it with `cancel`: the calls in flight finish, what was measured
/// is kept.
pub fn spawn(
    plan: CheckedPlan,
    target: Target,
    mut part: Part,
    cancel: CancellationToken,
) -> Result<RunHandle, RunError> {
    let (tx, events) = mpsc::unbounded_channel();
    let (result_tx, result) = oneshot::channel();
    std::thread::Builder::new()
        .name("duplex-run".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(measure(&plan, &target, &mut part, &tx, &cancel)),
                Err(e) => fail(&mut part.record, format!("cannot start a runtime: {e}")),
            }
            let _ = result_tx.send(part);
        })
        .map_err(RunError::Thread)?;
    Ok(RunHandle { events, result })
}

fn fail(record: &mut RunRecord, error: String) {
    record.status = RunStatus::Failed;
    record.error = Some(redact(&error));
    record.finished_at_unix_ns = now_unix_ns();
}

/// A connected client and its own counters.
struct Slot {
    id: u32,
    client: Client,
    wire_seq: u64,
    recorded: u64,
    /// Recorded calls answered, and those that opened a connection of their own.
    answered: u64,
    opened: u64,
}

/// What every client of a block shares.
struct BlockCtx<'a> {
    plan: &'a Plan,
    transport: Transport,
    set: u32,
    events: &'a mpsc::UnboundedSender<RunEvent>,
    cancel: &'a CancellationToken,
    done: &'a AtomicU64,
    total: u64,
}

impl BlockCtx<'_> {
    fn report(&self, batch: Vec<Sample>) {
        if !batch.is_empty() {
            let _ = self.events.send(RunEvent::Samples(batch));
        }
        let _ = self.events.send(RunEvent::Progress(Progress {
            transport: self.transport,
            set: self.set,
            sets: self.plan.sets,
            done: self.done.load(Ordering::Relaxed),
            total: self.total,
        }));
    }
}

#[derive(Default)]
struct BlockOutcome {
    samples: Vec<Sample>,
    fatal: Option<String>,
}

const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// One client's calls for one set.
async fn run_block(slot: &mut Slot, ctx: &BlockCtx<'_>) -> BlockOutcome {
    let plan = ctx.plan;
    // Capped: a plan of a billion calls should grow as it measures, not reserve it all up front.
    let mut out = BlockOutcome { samples: Vec::with_capacity(plan.calls.min(1 << 16) as usize), fatal: None };
    slot.client.resync().await;
    let pacer = Pacer::new(plan.interval(), plan.rate, slot.id, plan.concurrency);
    let mut watchdog = Watchdog::new(plan.timeout());
    let cancelled = ctx.cancel.cancelled();
    tokio::pin!(cancelled);
    let mut flushed = 0;
    let mut last_flush = std::time::Instant::now();
    for i in 0..plan.calls {
        let send_delay = tokio::select! {
            biased;
            _ = &mut cancelled => break,
            delay = pacer.wait(i) => delay,
        };
        slot.wire_seq += 1;
        watchdog.arm();
        let result = tokio::select! {
            biased;
            r = slot.client.measure(slot.wire_seq) => r,
            _ = watchdog.expired() => Err(ClientError::Timeout(watchdog.timeout())),
            _ = &mut cancelled => break,
        };
        slot.recorded += 1;
        let delay_ns = nanos(send_delay);
        let mut sample = Sample {
            transport: ctx.transport,
            client: ClientKind::Native,
            client_id: slot.id,
            set: ctx.set,
            seq: slot.recorded,
            sent_at_unix_ns: now_unix_ns(),
            latency_ns: 0,
            send_delay_ns: delay_ns,
            server_time_unix_ns: None,
            bytes_out: 0,
            bytes_in: 0,
            error: None,
        };
        match result {
            Ok(m) => {
                slot.answered += 1;
                slot.opened += u64::from(m.new_connection);
                sample.sent_at_unix_ns = m.sent_at_unix_ns;
                sample.latency_ns = m.latency_ns.saturating_add(delay_ns);
                sample.server_time_unix_ns = m.server_time_unix_ns;
                sample.bytes_out = m.bytes_out;
                sample.bytes_in = m.bytes_in;
            }
            Err(e) => {
                let fatal = e.is_fatal();
                // Errors name URLs, and a LAN server's URLs carry its token: never keep it.
                sample.error = Some(redact(&e.to_string()));
                if fatal {
                    out.fatal = Some(redact(&format!("{} client {}: {e}", ctx.transport, slot.id)));
                }
            }
        }
        out.samples.push(sample);
        ctx.done.fetch_add(1, Ordering::Relaxed);
        if out.fatal.is_some() {
            break;
        }
        if last_flush.elapsed() >= FLUSH_EVERY {
            ctx.report(out.samples[flushed..].to_vec());
            flushed = out.samples.len();
            last_flush = std::time::Instant::now();
        }
    }
    ctx.report(out.samples[flushed..].to_vec());
    out
}

/// What TLS a transport's clients used, from their handshakes.
fn tls_use(transport: Transport, slots: &[Slot], trust: &Trust) -> Option<TlsUse> {
    let handshakes: Vec<_> = slots.iter().flat_map(|s| s.client.handshakes()).collect();
    let first = handshakes.first()?;
    Some(TlsUse {
        transport,
        client: ClientKind::Native,
        verification: trust.describe(),
        version: first.version.clone(),
        cipher_suite: first.cipher_suite.clone(),
        alpn: first.alpn.clone(),
        connections: handshakes.len() as u64,
        resumed: handshakes.iter().filter(|h| h.resumed).count() as u64,
        early_data: handshakes.iter().filter(|h| h.early_data).count() as u64,
        handshake_bytes_out: handshakes.iter().map(|h| h.bytes_out).sum(),
        handshake_bytes_in: handshakes.iter().map(|h| h.bytes_in).sum(),
    })
}

/// How many of a kept-alive transport's recorded calls opened a connection of their own.
fn connection_use(transport: Transport, slots: &[Slot]) -> Option<ConnectionUse> {
    let keeps = transport.pattern() == duplex_clients::Pattern::RoundTrip && !transport.opens_per_call();
    keeps.then(|| ConnectionUse {
        transport,
        client: ClientKind::Native,
        calls: slots.iter().map(|s| s.answered).sum(),
        new_connections: slots.iter().map(|s| s.opened).sum(),
    })
}

/// Unrecorded calls that open connections and warm caches before the first set.
async fn warm_up(slot: &mut Slot, calls: u32, timeout: Duration) -> Result<(), ClientError> {
    for _ in 0..calls {
        slot.wire_seq += 1;
        match tokio::time::timeout(timeout, slot.client.measure(slot.wire_seq)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.is_fatal() => return Err(e),
            Ok(Err(_)) => {}
            Err(_) => return Err(ClientError::Timeout(timeout)),
        }
    }
    Ok(())
}

async fn connect_clients(
    transport: Transport,
    endpoints: &Endpoints,
    options: &ClientOptions,
    plan: &Plan,
) -> Result<Vec<Slot>, String> {
    let mut slots = Vec::with_capacity(plan.concurrency as usize);
    // QUIC clients share a UDP endpoint 16 to one (one of its own holds about 3 MB: 10,000
    // clients would need 24 GB), but over an emulated link each keeps its own: the relay gives
    // each client address its own schedule, as it gives each TCP connection.
    let quic = match plan.link {
        None => SharedQuic::pooled_endpoints(),
        Some(_) => SharedQuic::default(),
    };
    let shared = Shared { quic, ..Shared::default() };
    for id in 0..plan.concurrency {
        let client =
            tokio::time::timeout(plan.timeout(), Client::connect(transport, endpoints, options, &shared))
                .await
                .map_err(|_| format!("{transport} client {id}: no connection within {:?}", plan.timeout()))?
                .map_err(|e| format!("{transport} client {id}: {e}"))?;
        slots.push(Slot { id, client, wire_seq: 0, recorded: 0, answered: 0, opened: 0 });
    }
    // Warm up concurrently so the clients' first recorded calls start together.
    let warmups = slots.iter_mut().map(|s| warm_up(s, plan.warmup, plan.timeout()));
    for (id, r) in join_all(warmups).await.into_iter().enumerate() {
        r.map_err(|e| format!("{transport} client {id} during warm-up: {e}"))?;
    }
    Ok(slots)
}

/// Runs `plan` against `target` on the current runtime, with its own record and power monitor
/// (the platform's sensors). Never fails: a run that cannot start or breaks mid-way returns a
/// record with status `Failed`, its error, and every sample taken.
pub async fn execute(
    plan: CheckedPlan,
    target: Target,
    events: mpsc::UnboundedSender<RunEvent>,
    cancel: CancellationToken,
) -> RunRecord {
    let record = RunRecord::new(plan.clone().into_plan(), target.name());
    let power = PowerMonitor::start(&plan.power, crate::power::default_sensors());
    let mut part = Part { record, power };
    measure(&plan, &target, &mut part, &events, &cancel).await;
    let Part { mut record, power } = part;
    record.power = power.finish();
    record
}

/// Measures the native part of `part.record`'s run: opens the target (a remote one must answer
/// as a Duplex server), waits the power monitor's idle baseline, then runs `plan`'s blocks. The
/// record keeps its own (whole) plan; `plan` is the native clients' part of it.
pub async fn measure(
    plan: &CheckedPlan,
    target: &Target,
    part: &mut Part,
    events: &mpsc::UnboundedSender<RunEvent>,
    cancel: &CancellationToken,
) {
    let record = &mut part.record;
    if let Some(t) = plan.transports.iter().find(|t| !t.runs_on(ClientKind::Native)) {
        return fail(record, format!("{t} cannot be measured by native clients"));
    }
    record.platform = crate::platform::this_machine();
    let (endpoints, topology, guard) = match open_target(target, plan).await {
        Ok(t) => t,
        Err(e) => return fail(record, e),
    };
    // Over an emulated link, every connection goes through a relay (kept until the run ends).
    let (endpoints, _relays) = match crate::link::through(endpoints, plan.link.as_ref()).await {
        Ok(t) => t,
        Err(e) => return fail(record, e),
    };
    record.server = endpoints.authority.clone();
    record.topology = topology;
    let _ = events.send(RunEvent::Started {
        run_id: record.id.clone(),
        server: record.server.clone(),
        topology,
        record: Box::new(record.clone()),
    });
    let power = &mut part.power;
    if power.baseline_ms() > 0 {
        let _ = events.send(RunEvent::Baseline { duration_ms: power.baseline_ms() });
    }
    if !power.idle_baseline(cancel).await {
        record.status = RunStatus::Cancelled;
    }

    let mut options = plan.client_options();
    if let Target::Foreign { messages, .. } = target {
        options.foreign = Some(messages.clone());
    }
    let done = AtomicU64::new(0);
    let total = plan.total_calls();
    let mut pools: Vec<(Transport, Vec<Slot>)> = Vec::new();
    for (transport, set) in plan.blocks() {
        if cancel.is_cancelled() || record.status == RunStatus::Cancelled {
            record.status = RunStatus::Cancelled;
            break;
        }
        let pool_index = match pools.iter().position(|(t, _)| *t == transport) {
            Some(i) => i,
            None => {
                let connected = tokio::select! {
                    c = connect_clients(transport, &endpoints, &options, plan) => c,
                    _ = cancel.cancelled() => { record.status = RunStatus::Cancelled; break; }
                };
                match connected {
                    Ok(slots) => pools.push((transport, slots)),
                    Err(e) => {
                        record.status = RunStatus::Failed;
                        record.error = Some(redact(&e));
                        break;
                    }
                }
                pools.len() - 1
            }
        };
        let ctx = BlockCtx { plan, transport, set, events, cancel, done: &done, total };
        let (started, started_at_unix_ns) = (std::time::Instant::now(), now_unix_ns());
        let outcomes = join_all(pools[pool_index].1.iter_mut().map(|slot| run_block(slot, &ctx))).await;
        record.blocks.push(BlockTiming {
            transport,
            client: ClientKind::Native,
            set,
            started_at_unix_ns,
            elapsed_ns: nanos(started.elapsed()),
        });
        let mut fatal = None;
        for outcome in outcomes {
            record.samples.extend(outcome.samples);
            fatal = fatal.or(outcome.fatal);
        }
        if let Some(e) = fatal {
            record.status = RunStatus::Failed;
            record.error = Some(redact(&e));
            break;
        }
        if cancel.is_cancelled() {
            record.status = RunStatus::Cancelled;
            break;
        }
    }
    for (transport, slots) in pools {
        if let Some(tls) = tls_use(transport, &slots, &endpoints.route.trust) {
            record.tls.push(tls);
        }
        if let Some(opened) = connection_use(transport, &slots) {
            record.connections.push(opened);
        }
        join_all(slots.into_iter().map(|s| s.client.close())).await;
    }
    guard.stop().await;
    record.finished_at_unix_ns = now_unix_ns();
}
