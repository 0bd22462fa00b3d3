//! Load and endurance: many WebSocket and HTTP echo clients at once for a while, against the
//! embedded server or any Duplex server. It counts every error (the target is none), follows
//! the process's memory (the target is flat once everyone is connected), and reports throughput
//! and latency percentiles per transport.

pub mod files;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::stats::live::LiveLatency;
use duplex_clients::{Client, ClientError, ClientOptions, Endpoints, HttpMethod, Transport};

/// How hard and how long.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SoakPlan {
    pub ws_clients: u32,
    pub http_clients: u32,
    pub duration: Duration,
    /// Echo messages per second sent by each client.
    pub rate_per_client: f64,
    pub payload_bytes: usize,
    /// Longest wait for one answer before it counts as an error.
    pub timeout: Duration,
}

impl Default for SoakPlan {
    fn default() -> Self {
        SoakPlan {
            ws_clients: 1000,
            http_clients: 100,
            duration: Duration::from_secs(60),
            rate_per_client: 2.0,
            payload_bytes: 64,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Numbers while it runs.
#[derive(Debug, Clone, Serialize)]
pub struct SoakProgress {
    pub elapsed_s: f64,
    pub connected: u64,
    pub messages: u64,
    pub errors: u64,
    pub rss_bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TransportLoad {
    pub transport: Transport,
    pub clients: u32,
    pub messages: u64,
    pub errors: u64,
    /// Errors by kind (connect, closed, timeout, status, reply) with the first message of each.
    pub error_kinds: BTreeMap<String, (u64, String)>,
    pub per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

/// This process's resident memory over the steady part of the soak (everyone connected).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MemoryTrend {
    pub start_bytes: u64,
    pub end_bytes: u64,
    pub max_bytes: u64,
    /// end − start, as a share of start.
    pub growth: f64,
    /// Least-squares slope over the steady part, bytes per minute.
    pub slope_bytes_per_min: f64,
    /// How long the steady part lasted, seconds.
    pub steady_s: f64,
    /// (seconds since start, bytes), one a second.
    pub samples: Vec<(f64, u64)>,
}

impl MemoryTrend {
    /// Flat: grew by less than 10 % and, over a steady part of a minute or more, by less than
    /// 16 MiB a minute. Over a few seconds a slope is an extrapolation: one step of the
    /// allocator (a new segment of a few MiB) would read as tens of MiB a minute.
    pub fn is_flat(&self) -> bool {
        self.growth < 0.10 && (self.steady_s < 60.0 || self.slope_bytes_per_min < 16.0 * 1048576.0)
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SoakReport {
    pub plan: SoakPlan,
    pub server: String,
    /// Seconds until every client was connected.
    pub ramp_s: f64,
    pub steady_s: f64,
    pub transports: Vec<TransportLoad>,
    pub memory: Option<MemoryTrend>,
    pub ok: bool,
    pub verdict: String,
}

/// Called after starting client `id` of many: connects go in waves of 100, 20 ms apart, as a
/// burst of a thousand SYNs overflows a server's listen backlog. The soak and the fan-out use it.
pub(crate) async fn pace_connects(id: u32) {
    if id % 100 == 99 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one client did. Latencies go to its transport's histogram, shared: one histogram per
/// client would cost a third of a MiB each, more than the client itself.
struct ClientOutcome {
    messages: u64,
    errors: BTreeMap<String, (u64, String)>,
}

type SharedLatency = Arc<std::sync::Mutex<LiveLatency>>;

/// Counters every client bumps, for progress.
#[derive(Default)]
struct Totals {
    connected: AtomicU64,
    messages: AtomicU64,
    errors: AtomicU64,
}

/// What every client of a soak shares.
struct Soak {
    endpoints: Endpoints,
    plan: SoakPlan,
    totals: Totals,
    start_at: tokio::time::Instant,
    stop: CancellationToken,
}

async fn run_client(transport: Transport, id: u32, latency: SharedLatency, soak: Arc<Soak>) -> ClientOutcome {
    let Soak { endpoints, plan, totals, start_at, stop } = &*soak;
    let start_at = *start_at;
    let mut out = ClientOutcome { messages: 0, errors: BTreeMap::new() };
    let options = ClientOptions {
        payload_bytes: plan.payload_bytes,
        http_method: HttpMethod::Post,
        ..ClientOptions::default()
    };
    let period = Duration::from_secs_f64(1.0 / plan.rate_per_client.max(0.001));
    let mut client = None;
    let mut seq = 0u64;
    // Spread the clients over the period so the load is even, not in waves.
    let phase = period.mul_f64(f64::from(id % 1000) / 1000.0);
    let mut next = start_at + phase;
    loop {
        if client.is_none() {
            match tokio::time::timeout(
                plan.timeout,
                Client::connect(transport, endpoints, &options, &Default::default()),
            )
            .await
            {
                Ok(Ok(c)) => {
                    totals.connected.fetch_add(1, Ordering::Relaxed);
                    client = Some(c);
                }
                Ok(Err(e)) => record_error(&mut out, totals, &e),
                Err(_) => record_error(&mut out, totals, &ClientError::Timeout(plan.timeout)),
            }
            if client.is_none() {
                // Try again shortly, unless it is over.
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(next) => {}
        }
        next += period;
        let Some(c) = client.as_mut() else { continue };
        seq += 1;
        match tokio::time::timeout(plan.timeout, c.measure(seq)).await {
            Ok(Ok(m)) => {
                latency.lock().unwrap_or_else(|e| e.into_inner()).record(m.latency_ns);
                out.messages += 1;
                totals.messages.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                record_error(&mut out, totals, &e);
                if e.is_fatal() {
                    totals.connected.fetch_sub(1, Ordering::Relaxed);
                    client = None;
                }
            }
            Err(_) => {
                record_error(&mut out, totals, &ClientError::Timeout(plan.timeout));
                totals.connected.fetch_sub(1, Ordering::Relaxed);
                client = None;
            }
        }
    }
    if let Some(c) = client {
        c.close().await;
    }
    out
}

fn record_error(out: &mut ClientOutcome, totals: &Totals, e: &ClientError) {
    totals.errors.fetch_add(1, Ordering::Relaxed);
    let entry = out.errors.entry(e.kind().to_owned()).or_insert_with(|| (0, e.to_string()));
    entry.0 += 1;
}

/// This process's resident memory, if it can be read.
fn rss_bytes(system: &mut sysinfo::System, pid: sysinfo::Pid) -> Option<u64> {
    system.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::Some(&[pid]),
        true,
        sysinfo::ProcessRefreshKind::nothing().with_memory(),
    );
    system.process(pid).map(sysinfo::Process::memory)
}

fn memory_trend(samples: Vec<(f64, u64)>, steady_from_s: f64) -> Option<MemoryTrend> {
    let steady: Vec<(f64, u64)> = samples.iter().copied().filter(|(t, _)| *t >= steady_from_s).collect();
    let (first, last) = (steady.first()?, steady.last()?);
    let n = steady.len() as f64;
    let mean_t = steady.iter().map(|(t, _)| t).sum::<f64>() / n;
    let mean_b = steady.iter().map(|(_, b)| *b as f64).sum::<f64>() / n;
    let var_t: f64 = steady.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
    let cov: f64 = steady.iter().map(|(t, b)| (t - mean_t) * (*b as f64 - mean_b)).sum();
    let slope_per_s = if var_t > 0.0 { cov / var_t } else { 0.0 };
    Some(MemoryTrend {
        start_bytes: first.1,
        end_bytes: last.1,
        max_bytes: steady.iter().map(|(_, b)| *b).max().unwrap_or(0),
        growth: (last.1 as f64 - first.1 as f64) / (first.1.max(1) as f64),
        slope_bytes_per_min: slope_per_s * 60.0,
        steady_s: last.0 - first.0,
        samples,
    })
}

/// Runs the soak against `endpoints`, reporting progress about once a second.
pub async fn soak(
    plan: SoakPlan,
    endpoints: Endpoints,
    mut progress: impl FnMut(&SoakProgress),
) -> SoakReport {
    let started = Instant::now();
    let start_at = tokio::time::Instant::now();
    let shared = Arc::new(Soak {
        endpoints,
        plan,
        totals: Totals::default(),
        start_at,
        stop: CancellationToken::new(),
    });
    let Soak { endpoints, plan, totals, stop, .. } = &*shared;
    let mut tasks = Vec::new();
    let everyone = u64::from(plan.ws_clients + plan.http_clients);
    let mut latencies: Vec<(Transport, SharedLatency)> = Vec::new();
    for (transport, n) in [(Transport::Ws, plan.ws_clients), (Transport::Http, plan.http_clients)] {
        let latency = SharedLatency::default();
        latencies.push((transport, latency.clone()));
        for id in 0..n {
            let task = tokio::spawn(run_client(transport, id, latency.clone(), shared.clone()));
            tasks.push((transport, task));
            pace_connects(id).await;
        }
    }
    let pid = sysinfo::get_current_pid().ok();
    let mut system = sysinfo::System::new().ok();
    let mut memory = Vec::new();
    let mut ramp_s = None;
    let deadline = start_at + plan.duration;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::time::sleep_until(deadline) => break,
        }
        let elapsed_s = started.elapsed().as_secs_f64();
        let connected = totals.connected.load(Ordering::Relaxed);
        if ramp_s.is_none() && connected >= everyone {
            ramp_s = Some(elapsed_s);
        }
        let rss = match (&mut system, pid) {
            (Some(s), Some(pid)) => rss_bytes(s, pid),
            _ => None,
        };
        if let Some(b) = rss {
            memory.push((elapsed_s, b));
        }
        progress(&SoakProgress {
            elapsed_s,
            connected,
            messages: totals.messages.load(Ordering::Relaxed),
            errors: totals.errors.load(Ordering::Relaxed),
            rss_bytes: rss.unwrap_or(0),
        });
    }
    stop.cancel();
    let total_s = started.elapsed().as_secs_f64();
    let ramp = ramp_s.unwrap_or(total_s);
    // Memory is judged once everyone is connected and warm: a few seconds after the ramp.
    let steady_from = (ramp + 5.0).min(total_s * 0.5);
    let mut by_transport: Vec<(Transport, u32, ClientOutcome)> = Vec::new();
    for (transport, task) in tasks {
        let outcome = task.await.unwrap_or_else(|e| ClientOutcome {
            messages: 0,
            errors: BTreeMap::from([("panic".to_owned(), (1, e.to_string()))]),
        });
        match by_transport.iter_mut().find(|(t, _, _)| *t == transport) {
            Some((_, n, acc)) => {
                *n += 1;
                acc.messages += outcome.messages;
                for (k, (c, first)) in outcome.errors {
                    acc.errors.entry(k).or_insert((0, first)).0 += c;
                }
            }
            None => by_transport.push((transport, 1, outcome)),
        }
    }
    let transports: Vec<TransportLoad> = by_transport
        .into_iter()
        .map(|(transport, clients, o)| {
            let hist =
                latencies.iter().find(|(t, _)| *t == transport).map(|(_, l)| l.clone()).unwrap_or_default();
            let hist = hist.lock().unwrap_or_else(|e| e.into_inner());
            TransportLoad {
                transport,
                clients,
                messages: o.messages,
                errors: o.errors.values().map(|(c, _)| c).sum(),
                error_kinds: o.errors,
                per_s: o.messages as f64 / total_s.max(1e-9),
                p50_us: hist.quantile_us(0.5),
                p99_us: hist.quantile_us(0.99),
                p999_us: hist.quantile_us(0.999),
                max_us: hist.quantile_us(1.0),
            }
        })
        .collect();
    let memory = memory_trend(memory, steady_from);
    let errors: u64 = transports.iter().map(|t| t.errors).sum();
    let flat = memory.as_ref().is_none_or(MemoryTrend::is_flat);
    let verdict = match (errors, flat, &memory) {
        (0, true, Some(m)) => format!(
            "no errors; memory flat ({:+.1} % over the steady {:.0} s)",
            m.growth * 100.0,
            total_s - steady_from
        ),
        (0, true, None) => "no errors; memory could not be read".into(),
        (0, false, Some(m)) => format!(
            "no errors, but memory grew {:+.1} % ({:.1} MiB/min)",
            m.growth * 100.0,
            m.slope_bytes_per_min / 1048576.0
        ),
        (n, _, _) => format!("{n} errors"),
    };
    SoakReport {
        plan: plan.clone(),
        server: endpoints.authority.clone(),
        ramp_s: ramp,
        steady_s: total_s - steady_from,
        transports,
        memory,
        ok: errors == 0 && flat,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_trend_by_hand() {
        // Ramp to 100 MB in 5 s, then flat at 100 MB, last reading 101 MB.
        let samples: Vec<(f64, u64)> = (0..20)
            .map(|s| (s as f64, if s < 5 { 20_000_000 * s } else { 100_000_000 }))
            .chain([(20.0, 101_000_000)])
            .collect();
        let m = memory_trend(samples, 5.0).expect("trend");
        assert_eq!((m.start_bytes, m.end_bytes, m.max_bytes), (100_000_000, 101_000_000, 101_000_000));
        assert!((m.growth - 0.01).abs() < 1e-12);
        assert!(m.is_flat());
        // 1 MB a second for a minute and a half: 9 % in all, but a leak by its slope.
        let leaking: Vec<(f64, u64)> = (0..90).map(|s| (s as f64, 1_000_000_000 + 1_000_000 * s)).collect();
        let m = memory_trend(leaking, 0.0).expect("trend");
        assert!((m.slope_bytes_per_min - 60_000_000.0).abs() < 1.0 && m.growth < 0.10);
        assert_eq!(m.steady_s, 89.0);
        assert!(!m.is_flat());
        // One step of 3 MB in a steady part of 4 s: 3 % growth, judged by that alone.
        let step: Vec<(f64, u64)> =
            (0..5).map(|s| (s as f64, if s < 2 { 100_000_000 } else { 103_000_000 })).collect();
        let m = memory_trend(step, 0.0).expect("trend");
        assert!(m.slope_bytes_per_min > 16.0 * 1048576.0 && m.steady_s < 60.0);
        assert!(m.is_flat());
        // Over 10 % is never flat, however short.
        let m = memory_trend(vec![(0.0, 100), (4.0, 120)], 0.0).expect("trend");
        assert!(!m.is_flat());
        assert!(memory_trend(vec![(1.0, 5)], 2.0).is_none());
    }
}
