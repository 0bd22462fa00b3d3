//! The relay: it accepts connections (on 127.0.0.1, or a LAN host's address), opens one to the
//! server for each, and carries every chunk each way at the time its direction's [`Schedule`]
//! says. A new connection sends nothing before the round trip of the TCP handshake a local
//! accept did not cost, so TLS, HTTP/2 and WebSocket handshakes over the relay cost their own
//! round trips by themselves. The link's model ([`Link::predict_us`]) runs the same schedules.
//! The same port number carries UDP for QUIC ([`super::udp`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::stats::RelayStats;
use super::timing::wait_until;
use super::{CHUNK, Link, Schedule};

/// A running relay; dropped, it stops and closes every connection it carries.
pub struct Relay {
    addr: SocketAddr,
    stats: Arc<RelayStats>,
    stop: CancellationToken,
}

impl Relay {
    /// Listens on 127.0.0.1 (a free port) and relays to `upstream` under `link`: the first of its
    /// addresses that accepts (a name may resolve to IPv6 and IPv4 both).
    pub async fn start(link: &Link, upstream: &[SocketAddr]) -> std::io::Result<Relay> {
        Relay::start_on(SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)), link, upstream).await
    }

    /// A relay in front of a server on this machine, for the browsers that join it over the
    /// link: on the server's own address (another port), to the server (over loopback when it
    /// listens on every address).
    pub async fn in_front_of(server: SocketAddr, link: &Link) -> std::io::Result<Relay> {
        let upstream = if server.ip().is_unspecified() {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, server.port()))
        } else {
            server
        };
        Relay::start_on(SocketAddr::new(server.ip(), 0), link, &[upstream]).await
    }

    /// The same on `bind`: a LAN host's relay, which other devices' browsers reach.
    pub async fn start_on(bind: SocketAddr, link: &Link, upstream: &[SocketAddr]) -> std::io::Result<Relay> {
        let upstream: Arc<[SocketAddr]> = upstream.into();
        let (listener, udp) = bind_both(bind).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(RelayStats::default());
        let stop = CancellationToken::new();
        if let Some(&first) = upstream.first() {
            tokio::spawn(super::udp::carry(udp, first, link.clone(), stats.clone(), stop.clone()));
        }
        let (link, task_stats, task_stop) = (link.clone(), stats.clone(), stop.clone());
        tokio::spawn(async move {
            let mut seed = 0u64;
            loop {
                let accepted = tokio::select! {
                    () = task_stop.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((client, _)) = accepted else { continue };
                seed += 1;
                task_stats.connections.fetch_add(1, Ordering::Relaxed);
                let (link, stats, stop) = (link.clone(), task_stats.clone(), task_stop.child_token());
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = stop.cancelled() => {}
                        () = carry(client, &upstream, &link, &stats, seed) => {}
                    }
                });
            }
        });
        Ok(Relay { addr, stats, stop })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> &RelayStats {
        &self.stats
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A TCP listener and a UDP socket on the same port number (QUIC goes where TCP goes); a free
/// port (0) whose UDP twin is taken is given back for another.
async fn bind_both(bind: SocketAddr) -> std::io::Result<(TcpListener, tokio::net::UdpSocket)> {
    let mut tries = 0;
    loop {
        let listener = TcpListener::bind(bind).await?;
        let port = listener.local_addr()?.port();
        match tokio::net::UdpSocket::bind(SocketAddr::new(bind.ip(), port)).await {
            Ok(udp) => return Ok((listener, udp)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && bind.port() == 0 && tries < 16 => {
                tries += 1
            }
            Err(e) => return Err(e),
        }
    }
}

/// One connection, both ways, until both sides are done.
async fn carry(client: TcpStream, upstream: &[SocketAddr], link: &Link, stats: &RelayStats, seed: u64) {
    // The connection's clock starts at its accept: the schedules' handshake gates count from it.
    let accepted = Instant::now();
    let server = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("link relay: cannot reach {upstream:?}: {e}");
            stats.failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let up = Schedule::for_link(link, false, seed * 2);
    let down = Schedule::for_link(link, true, seed * 2 + 1);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pipe(client_read, server_write, up, accepted, &stats.bytes_up),
        pipe(server_read, client_write, down, accepted, &stats.bytes_down),
    );
}

/// One direction: chunks are read as they come (while the schedule's queue has room), stamped
/// with their arrival time, and written at it.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut schedule: Schedule,
    origin: Instant,
    counted: &AtomicU64,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // A full queue stops the reading: the sender's TCP window fills and it waits.
            let readable = origin + schedule.admit(origin.elapsed(), n);
            wait_until(readable).await;
            let at = origin + schedule.arrival(origin.elapsed(), n);
            if tx.send((at, buf[..n].to_vec())).is_err() {
                break;
            }
        }
        // Dropping `tx` tells the writer the stream ended once everything before it arrived.
    };
    let writer = async move {
        while let Some((at, bytes)) = rx.recv().await {
            wait_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
            counted.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
