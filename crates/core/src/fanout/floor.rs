//! The floor of a broadcast: what delivering one event to N subscribers costs at the least on
//! this machine, measured in the same run. One plain thread writes the same frame bytes once to
//! each of N connected loopback sockets (no framing, no scheduling, no allocation per write);
//! its CPU time per write is what a server's delivery is compared with.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

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
    /// CPU time of the writing thread per socket written (median over the broadcasts), µs; None
    /// when it could not be measured (`error` says why).
    pub cpu_per_write_us: Option<f64>,
    pub error: Option<String>,
    /// [`FloorRow::cpu_per_write_us`] in words ("2.41 µs", "-"), the frame's size ("96 B") and
    /// the floor over itself ("1.00×", "-"), as the transports' rows read.
    pub cpu_per_write: String,
    pub frame: String,
    pub over_floor: String,
}

impl FloorRow {
    fn new(subscribers: u32, frame_bytes: u64, measured: Result<f64, String>) -> Self {
        let cpu_per_write_us = measured.as_ref().ok().copied();
        FloorRow {
            subscribers,
            frame_bytes,
            cpu_per_write_us,
            error: measured.err().map(|why| format!("the floor was not measured: {why}")),
            cpu_per_write: cpu_per_write_us.map_or_else(|| "-".into(), format_us),
            frame: format_bytes(frame_bytes as f64),
            over_floor: cpu_per_write_us.map_or_else(|| "-".into(), |_| format_ratio(1.0)),
        }
    }

    pub(super) fn failed(subscribers: u32, frame_bytes: u64, why: String) -> Self {
        Self::new(subscribers, frame_bytes, Err(why))
    }
}

/// Writes `frame_bytes` to each of `n` loopback connections, once to warm up and then
/// `broadcasts` times, and reads the writing thread's CPU time around each broadcast.
pub(super) fn measure(n: u32, frame_bytes: u64, broadcasts: u32) -> FloorRow {
    let measured = match write_rounds(n, frame_bytes, broadcasts) {
        Ok(Some(us)) => Ok(us),
        Ok(None) => Err("no thread CPU clock here".into()),
        Err(e) => Err(e.to_string()),
    };
    FloorRow::new(n, frame_bytes, measured)
}

fn write_rounds(n: u32, frame_bytes: u64, broadcasts: u32) -> std::io::Result<Option<f64>> {
    // Both ends of a loopback connection are sockets a thread can write to: n sockets from n / 2
    // connections, so that the floor at 10,000 needs 10,000 open files, as many as the
    // subscribers' side (the limit here is 20,000).
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
    let frame = vec![b'x'; usize::try_from(frame_bytes).unwrap_or(usize::MAX).max(1)];
    let mut sink = vec![0u8; 64 * 1024];
    let mut per_broadcast = Vec::new();
    for round in 0..=broadcasts {
        let before = duplex_server::thread_cpu_time();
        for s in &mut sockets {
            s.write_all(&frame)?;
        }
        let after = duplex_server::thread_cpu_time();
        if round > 0
            && let (Some(b), Some(a)) = (before, after)
        {
            per_broadcast.push(a.saturating_sub(b).as_secs_f64() * 1e6);
        }
        // What came is drained, outside the measured writes.
        for s in &mut sockets {
            while matches!(s.read(&mut sink), Ok(k) if k > 0) {}
        }
    }
    Ok(duplex_model::numbers::median(per_broadcast).map(|us| us / f64::from(n.max(1))))
}
