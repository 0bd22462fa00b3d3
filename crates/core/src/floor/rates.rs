//! What the floor adds to its latency rows: the server's echo throughput against a stock echo's,
//! and what the link relay costs at RTT 0.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::plan::Plan;

use crate::runner::{Target, execute};
use crate::stats::{Group, summarize};
use duplex_clients::Transport;
use duplex_model::record::{RunStatus, Topology};

use super::stock::{Stock, stock_on_thread};
use super::{
    FloorError, FloorRow, RELAYED_WS, RelayCost, THROUGHPUT_CONNECTIONS, THROUGHPUT_SECONDS, Throughput,
    current_thread, row,
};

pub(super) fn throughput(message: &str) -> Result<Throughput, FloorError> {
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
pub(super) fn relay_cost(
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
