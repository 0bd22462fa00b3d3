//! The relay's UDP side, for QUIC (HTTP/3, WebTransport): on the relay's own port number, as
//! the server serves QUIC on its TCP port's. Each client address gets a socket of its own
//! towards the server; every datagram is delayed, paced and jittered by its direction's
//! [`Schedule`] as a chunk is over TCP, and lost at the link's rate: dropped, as a real link
//! drops it (QUIC resends stream data itself; datagrams stay lost).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::stats::RelayStats;
use super::timing::wait_until;
use super::{Link, Schedule};

/// Largest UDP payload read.
const MAX_DATAGRAM: usize = 65_535;

/// Relays datagrams between clients on `outer` and `upstream` until `stop`.
pub(super) async fn carry(
    outer: UdpSocket,
    upstream: SocketAddr,
    link: Link,
    stats: Arc<RelayStats>,
    stop: CancellationToken,
) {
    let outer = Arc::new(outer);
    let origin = Instant::now();
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut seed = 1u64 << 32;
    loop {
        let (n, client) = tokio::select! {
            () = stop.cancelled() => return,
            received = outer.recv_from(&mut buf) => match received {
                Ok(r) => r,
                Err(_) => continue,
            },
        };
        let flow = match flows.entry(client) {
            Entry::Occupied(flow) => flow.into_mut(),
            Entry::Vacant(place) => {
                seed += 2;
                let opened = Flow::open(
                    outer.clone(),
                    client,
                    upstream,
                    &link,
                    &stats,
                    origin,
                    seed,
                    stop.child_token(),
                )
                .await;
                match opened {
                    Ok(flow) => place.insert(flow),
                    Err(e) => {
                        tracing::debug!("link relay: no UDP flow to {upstream}: {e}");
                        stats.failures.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
            }
        };
        if flow.up.drops() {
            stats.datagrams_lost_up.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let at = origin + flow.up.arrival(origin.elapsed(), n);
        let _ = flow.to_server.send((at, buf[..n].to_vec()));
    }
}

/// One client's datagrams: the up direction's schedule and queue; the down direction runs in
/// a task of its own.
struct Flow {
    up: Schedule,
    to_server: mpsc::UnboundedSender<(Instant, Vec<u8>)>,
}

impl Flow {
    #[allow(clippy::too_many_arguments)]
    async fn open(
        outer: Arc<UdpSocket>,
        client: SocketAddr,
        upstream: SocketAddr,
        link: &Link,
        stats: &Arc<RelayStats>,
        origin: Instant,
        seed: u64,
        stop: CancellationToken,
    ) -> std::io::Result<Flow> {
        let local: SocketAddr = if upstream.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let inner = Arc::new(UdpSocket::bind(local).await?);
        inner.connect(upstream).await?;
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let to_server = deliver(Towards::Server(inner.clone()), stats.clone(), |s| &s.bytes_up, stop.clone());
        let to_client =
            deliver(Towards::Client(outer, client), stats.clone(), |s| &s.bytes_down, stop.clone());
        let mut down = Schedule::for_datagrams(link, true, seed + 1);
        let reader_stats = stats.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let n = tokio::select! {
                    () = stop.cancelled() => return,
                    received = inner.recv(&mut buf) => match received {
                        Ok(n) => n,
                        Err(_) => continue,
                    },
                };
                if down.drops() {
                    reader_stats.datagrams_lost_down.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let at = origin + down.arrival(origin.elapsed(), n);
                if to_client.send((at, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        });
        Ok(Flow { up: Schedule::for_datagrams(link, false, seed), to_server })
    }
}

/// Where a direction's datagrams go: the server (through a socket connected to it), or a client.
enum Towards {
    Server(Arc<UdpSocket>),
    Client(Arc<UdpSocket>, SocketAddr),
}

/// Sends each queued datagram once it is due (its arrival over the link) until `stop`, counting
/// the bytes sent in `counter`'s field of `stats`; returns the queue.
fn deliver(
    towards: Towards,
    stats: Arc<RelayStats>,
    counter: fn(&RelayStats) -> &AtomicU64,
    stop: CancellationToken,
) -> mpsc::UnboundedSender<(Instant, Vec<u8>)> {
    let (queue, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = due.recv() => next,
            };
            let Some((at, bytes)) = next else { return };
            wait_until(at).await;
            let sent = match &towards {
                Towards::Server(socket) => socket.send(&bytes).await,
                Towards::Client(socket, client) => socket.send_to(&bytes, *client).await,
            };
            if sent.is_ok() {
                counter(&stats).fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
        }
    });
    queue
}
