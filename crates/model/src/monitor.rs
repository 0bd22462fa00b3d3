//! The live monitor's vocabulary: one reading of the machine as it is published (the paper's
//! Fig. 1: `top` and `vmstat` once per second, streamed to a browser), and what a watcher saw of
//! it, feed by feed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The name of snapshot events on the wire (`{"event":"snapshot","seq","created_ns","data"}`).
pub const SNAPSHOT_EVENT: &str = "snapshot";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS, JsonSchema)]
pub struct Snapshot {
    /// Busy share of each logical CPU since the previous snapshot, 0–100.
    pub cpu_per_core: Vec<f32>,
    /// Busy share of the whole machine, 0–100.
    pub cpu_total: f32,
    /// Load average over 1, 5 and 15 minutes (0 where the OS has none, e.g. Windows).
    pub load: [f64; 3],
    pub memory_used_bytes: u64,
    pub memory_total_bytes: u64,
    pub swap_used_bytes: u64,
    pub swap_total_bytes: u64,
    /// Bytes per second over every network interface except loopback, since the previous snapshot.
    pub net_rx_bytes_per_s: f64,
    pub net_tx_bytes_per_s: f64,
    /// Bytes per second read from and written to disks, since the previous snapshot.
    pub disk_read_bytes_per_s: f64,
    pub disk_write_bytes_per_s: f64,
    /// The busiest processes, most CPU first.
    pub top: Vec<ProcessRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct ProcessRow {
    pub pid: u32,
    pub name: String,
    /// Share of one CPU, 0–100 per core (a process on two busy cores shows 200).
    pub cpu_percent: f32,
    pub memory_bytes: u64,
}

/// A snapshot as it arrived: its event sequence and server time, and the readings.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub seq: u64,
    pub created_ns: i64,
    pub snapshot: Snapshot,
}

impl Published {
    /// Reads a snapshot event (`/ws/monitor` message or `/monitor/latest` body).
    pub fn parse(json: &[u8]) -> Result<Published, String> {
        let event = crate::protocol::Event::parse(json).map_err(|e| e.to_string())?;
        if event.event != SNAPSHOT_EVENT {
            return Err(format!("expected a snapshot event, got {:?}", event.event));
        }
        let data = event.data.ok_or("a snapshot event without data")?;
        let snapshot = serde_json::from_value(data).map_err(|e| format!("not a snapshot: {e}"))?;
        Ok(Published { seq: event.seq, created_ns: event.created_ns, snapshot })
    }
}

// What a watching session (push against poll) saw; the engine summarises it.

/// How a watcher receives snapshots.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Feed {
    /// WebSocket push (`/ws/monitor`).
    Push,
    /// AJAX polling at an interval (`/monitor/latest`).
    Poll,
    /// AJAX long-polling (`/monitor/next`).
    LongPoll,
}

impl Feed {
    pub fn name(self) -> &'static str {
        match self {
            Feed::Push => "push",
            Feed::Poll => "poll",
            Feed::LongPoll => "long-poll",
        }
    }
}

/// One message or answer a feed received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Observation {
    pub feed: Feed,
    /// The snapshot's sequence; None for an answer without one (204: nothing yet).
    pub seq: Option<u64>,
    /// The snapshot's time on the server's clock, Unix ns.
    pub created_ns: Option<i64>,
    /// When it was on screen (painted, or printed), on the watcher's clock, Unix ns.
    pub shown_ns: i64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    /// Watcher time spent receiving, parsing and drawing it, ns.
    pub handler_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Session {
    pub started_ns: i64,
    pub ended_ns: i64,
    /// Server and watcher on one machine: staleness compares one clock with itself.
    pub one_clock: bool,
    pub observations: Vec<Observation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_survives_the_wire() {
        let snapshot = Snapshot {
            cpu_per_core: vec![12.5, 80.0],
            cpu_total: 46.25,
            load: [0.5, 0.25, 0.125],
            memory_used_bytes: 3 << 30,
            memory_total_bytes: 16 << 30,
            swap_used_bytes: 0,
            swap_total_bytes: 1 << 30,
            net_rx_bytes_per_s: 1024.5,
            net_tx_bytes_per_s: 12.0,
            disk_read_bytes_per_s: 0.0,
            disk_write_bytes_per_s: 4096.0,
            top: vec![ProcessRow {
                pid: 42,
                name: "duplex \"x\"".into(),
                cpu_percent: 150.0,
                memory_bytes: 1 << 20,
            }],
        };
        // As the server publishes it (its event hub serialises a protocol::Event).
        let event = crate::protocol::Event {
            event: SNAPSHOT_EVENT.into(),
            seq: 1,
            created_ns: 1_700_000_000_000_000_000,
            data: Some(serde_json::to_value(&snapshot).expect("value")),
        };
        let wire = serde_json::to_vec(&event).expect("json");
        let back = Published::parse(&wire).expect("parses");
        assert_eq!((back.seq, back.created_ns, &back.snapshot), (1, event.created_ns, &snapshot));
    }

    #[test]
    fn other_events_and_junk_are_refused() {
        assert!(
            Published::parse(br#"{"event":"tick","seq":1,"created_ns":5}"#)
                .expect_err("a tick")
                .contains("tick")
        );
        assert!(Published::parse(br#"{"event":"snapshot","seq":1,"created_ns":5}"#).is_err());
        assert!(
            Published::parse(br#"{"event":"snapshot","seq":1,"created_ns":5,"data":{"cpu_total":"x"}}"#)
                .is_err()
        );
        assert!(Published::parse(b"\xff\xfe").is_err());
    }
}
