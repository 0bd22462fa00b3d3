//! The floor of a broadcast: what delivering one event to N subscribers costs at the least on
//! this machine, measured in the same run. One plain thread writes the same frame bytes once to
//! each of N connected loopback sockets (no framing, no scheduling, no allocation per write);
//! its CPU time per write is what a server's delivery is compared with.
//!
//! Each socket has a reader waiting on it, as each of a fan-out's connections has its
//! subscriber: a write to a socket somebody waits on wakes them (the kernel's
//! `sock_def_readable`, the waiter's epoll), which every delivery of a server pays and a socket
//! read by nobody does not. The same writes to the same sockets with nobody waiting are measured
//! first and shown beside it ("unread"), so that what the waiting costs is seen.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::stats::{format_bytes, format_ratio, format_us};

/// The floor at one subscriber count.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, TS)]
pub struct FloorRow {
    pub subscribers: u32,
    /// The bytes written to each socket per broadcast: what the server's WebSocket push wrote
    /// per delivered event at this count (else SSE's).
    pub frame_bytes: u64,
    /// CPU time of the writing thread per socket written, each socket with a reader waiting on it
    /// (median over the broadcasts), µs; None when it could not be measured (`error` says why).
    pub cpu_per_write_us: Option<f64>,
    /// The same writes to the same sockets with nobody waiting on them, µs.
    pub unread_cpu_per_write_us: Option<f64>,
    pub error: Option<String>,
    /// [`FloorRow::cpu_per_write_us`] in words ("2.41 µs", "-"), the frame's size ("96 B") and
    /// the floor over itself ("1.00×", "-"), as the transports' rows read.
    pub cpu_per_write: String,
    pub frame: String,
    pub over_floor: String,
    /// [`FloorRow::unread_cpu_per_write_us`] in words, and over the floor ("0.74×", "-").
    pub unread_cpu_per_write: String,
    pub unread_over_floor: String,
}

impl FloorRow {
    fn new(subscribers: u32, frame_bytes: u64, measured: Result<PerWrite, String>) -> Self {
        let (waited, unread) = match &measured {
            Ok(m) => (m.waited, m.unread),
            Err(_) => (None, None),
        };
        let words = |us: Option<f64>| us.map_or_else(|| "-".into(), format_us);
        FloorRow {
            subscribers,
            frame_bytes,
            cpu_per_write_us: waited,
            unread_cpu_per_write_us: unread,
            error: match measured {
                Err(why) => Some(format!("the floor was not measured: {why}")),
                Ok(_) if waited.is_none() => {
                    Some("the floor was not measured: no thread CPU clock here".into())
                }
                Ok(_) => None,
            },
            cpu_per_write: words(waited),
            frame: format_bytes(frame_bytes as f64),
            over_floor: waited.map_or_else(|| "-".into(), |_| format_ratio(1.0)),
            unread_cpu_per_write: words(unread),
            unread_over_floor: unread.zip(waited).map_or_else(|| "-".into(), |(u, w)| format_ratio(u / w)),
        }
    }

    pub(super) fn failed(subscribers: u32, frame_bytes: u64, why: String) -> Self {
        Self::new(subscribers, frame_bytes, Err(why))
    }
}

/// CPU per write, µs, with a reader waiting on each socket and with nobody waiting.
struct PerWrite {
    waited: Option<f64>,
    unread: Option<f64>,
}

/// Writes `frame_bytes` to each of `n` loopback connections, once to warm up and then
/// `broadcasts` times, with nobody waiting on them and then with a reader waiting on each, and
/// reads the writing thread's CPU time around each broadcast.
pub(super) fn measure(n: u32, frame_bytes: u64, broadcasts: u32) -> FloorRow {
    let frame = vec![b'x'; usize::try_from(frame_bytes).unwrap_or(usize::MAX).max(1)];
    let measured = connect(n).and_then(|mut sockets| {
        let unread = unread_rounds(&mut sockets, &frame, broadcasts)?;
        let waited = waited_rounds(&Readers::start(sockets)?, &frame, broadcasts)?;
        Ok(PerWrite { waited, unread })
    });
    FloorRow::new(n, frame_bytes, measured.map_err(|e| e.to_string()))
}

/// `n` connected, non-blocking loopback sockets. Both ends of a connection are sockets a thread
/// can write to: n sockets from n / 2 connections, so that the floor at 10,000 needs 10,000 open
/// files, as many as the subscribers' side (the limit here is 20,000).
fn connect(n: u32) -> std::io::Result<Vec<TcpStream>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut sockets = Vec::with_capacity(n as usize + 1);
    while sockets.len() < n as usize {
        let near = TcpStream::connect(addr)?;
        let (far, _) = listener.accept()?;
        sockets.extend([near, far]);
    }
    sockets.truncate(n as usize);
    for s in &sockets {
        s.set_nodelay(true)?;
        // Events are a few hundred bytes at most and every socket is drained after each
        // broadcast: a write never waits for room.
        s.set_nonblocking(true)?;
    }
    Ok(sockets)
}

/// The writer's CPU time per write (median over the broadcasts after the first), µs.
fn per_write(n: usize, per_broadcast: Vec<f64>) -> Option<f64> {
    duplex_model::numbers::median(per_broadcast).map(|us| us / n.max(1) as f64)
}

/// The writes with nobody waiting: what came is drained after each broadcast, by the writer.
fn unread_rounds(sockets: &mut [TcpStream], frame: &[u8], broadcasts: u32) -> std::io::Result<Option<f64>> {
    let mut sink = vec![0u8; 64 * 1024];
    let mut per_broadcast = Vec::new();
    for round in 0..=broadcasts {
        let before = duplex_server::thread_cpu_time();
        for s in sockets.iter_mut() {
            s.write_all(frame)?;
        }
        let after = duplex_server::thread_cpu_time();
        if round > 0
            && let (Some(b), Some(a)) = (before, after)
        {
            per_broadcast.push(a.saturating_sub(b).as_secs_f64() * 1e6);
        }
        for s in sockets.iter_mut() {
            while matches!(s.read(&mut sink), Ok(k) if k > 0) {}
        }
    }
    Ok(per_write(sockets.len(), per_broadcast))
}

/// The writes with a reader waiting on each socket; the next broadcast waits (unmeasured) until
/// the readers have had everything.
fn waited_rounds(readers: &Readers, frame: &[u8], broadcasts: u32) -> std::io::Result<Option<f64>> {
    let mut per_broadcast = Vec::new();
    let mut written = 0u64;
    for round in 0..=broadcasts {
        let before = duplex_server::thread_cpu_time();
        for s in &readers.sockets {
            write_all(s, frame)?;
        }
        let after = duplex_server::thread_cpu_time();
        written += (frame.len() * readers.sockets.len()) as u64;
        if round > 0
            && let (Some(b), Some(a)) = (before, after)
        {
            per_broadcast.push(a.saturating_sub(b).as_secs_f64() * 1e6);
        }
        readers.wait_for(written)?;
    }
    Ok(per_write(readers.sockets.len(), per_broadcast))
}

/// Writes all of `frame` to a socket of the readers' runtime from a thread outside it: a
/// `WouldBlock` (the runtime has not seen the socket writable yet) yields and tries again.
fn write_all(socket: &tokio::net::TcpStream, mut frame: &[u8]) -> std::io::Result<()> {
    while !frame.is_empty() {
        match socket.try_write(frame) {
            Ok(k) => frame = &frame[k..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A reader waiting on each socket, as a fan-out's subscribers wait: one task per socket on a
/// runtime thread of its own, reading whatever comes.
struct Readers {
    sockets: Vec<Arc<tokio::net::TcpStream>>,
    read: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Readers {
    fn start(sockets: Vec<TcpStream>) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
        let sockets = {
            let _registered_here = runtime.enter();
            sockets
                .into_iter()
                .map(|s| tokio::net::TcpStream::from_std(s).map(Arc::new))
                .collect::<std::io::Result<Vec<_>>>()?
        };
        let read = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let tasks: Vec<_> = sockets.iter().map(|s| (Arc::clone(s), Arc::clone(&read))).collect();
        let thread = std::thread::Builder::new().name("floor-readers".into()).spawn(move || {
            runtime.block_on(async move {
                for (socket, read) in tasks {
                    tokio::spawn(async move {
                        let mut buffer = [0u8; 1024];
                        while socket.readable().await.is_ok() {
                            match socket.try_read(&mut buffer) {
                                Ok(0) => break,
                                Ok(k) => {
                                    read.fetch_add(k as u64, Ordering::Relaxed);
                                }
                                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                                Err(_) => break,
                            }
                        }
                    });
                }
                let _ = stopped.await;
            });
        })?;
        Ok(Readers { sockets, read, stop: Some(stop), thread: Some(thread) })
    }

    /// Waits until the readers have read `bytes` in all (30 s at most).
    fn wait_for(&self, bytes: u64) -> std::io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.read.load(Ordering::Relaxed) < bytes {
            if Instant::now() > deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the readers did not get every write within 30 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
