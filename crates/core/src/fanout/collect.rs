//! Deliveries gathered per broadcast, and a cell's figures from them.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{FanoutCell, FanoutWords, News};
use duplex_clients::{ClientError, Transport};

/// One measured broadcast.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, TS)]
pub struct Broadcast {
    pub delivered: u32,
    pub p50_us: Option<f64>,
    /// The last subscriber's latency.
    pub last_us: Option<f64>,
    pub server_cpu_us: Option<f64>,
    /// Bytes on the wire for all its deliveries.
    pub bytes: u64,
}

/// The deliveries of one broadcast.
#[derive(Debug, Default)]
pub struct Round {
    latencies_ns: Vec<u64>,
    bytes: u64,
    /// The server's CPU time at the event, where it said (ticks of a server elsewhere).
    pub server_cpu_ns: Option<u64>,
}

impl Round {
    pub fn add(&mut self, latency_ns: u64, bytes: u64) {
        self.latencies_ns.push(latency_ns);
        self.bytes += bytes;
    }

    pub fn len(&self) -> usize {
        self.latencies_ns.len()
    }
}

/// A cell so far: its subscribers' failures and its measured broadcasts.
pub struct Tally {
    subscribers: u32,
    /// Subscribers whose connection is gone.
    lost: u64,
    errors: BTreeMap<String, (u64, String)>,
    missed: u64,
    latencies_ns: Vec<u64>,
    each: Vec<Broadcast>,
}

/// The value at quantile `q` of sorted values (nearest rank), in µs.
fn quantile_us(sorted_ns: &[u64], q: f64) -> Option<f64> {
    let rank = ((q * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len().max(1));
    sorted_ns.get(rank - 1).map(|ns| *ns as f64 / 1e3)
}

impl Tally {
    pub fn new(subscribers: u32) -> Tally {
        Tally {
            subscribers,
            lost: 0,
            errors: BTreeMap::new(),
            missed: 0,
            latencies_ns: Vec::new(),
            each: Vec::new(),
        }
    }

    /// Subscribers still listening.
    pub fn alive(&self) -> u64 {
        u64::from(self.subscribers).saturating_sub(self.lost)
    }

    /// A subscriber's error; a fatal one (its connection is gone) loses the subscriber.
    pub fn failed(&mut self, error: &ClientError) {
        self.note(error.kind(), error.to_string());
        if error.is_fatal() {
            self.lost += 1;
        }
    }

    pub fn timed_out(&mut self, what: String) {
        self.note("timeout", what);
    }

    /// An error of `kind`, counted, its first message kept.
    pub fn note(&mut self, kind: &str, message: String) {
        self.errors.entry(kind.to_owned()).or_insert((0, message)).0 += 1;
    }

    /// News outside a broadcast's window: a failure counts; a late event of an earlier
    /// broadcast was already counted as missed.
    pub(super) fn stray(&mut self, news: News) {
        if let News::Failed(error) = news {
            self.failed(&error);
        }
    }

    /// A measured broadcast: who got it, and the server's CPU time for it.
    pub fn round(&mut self, mut round: Round, cpu: Option<Duration>) {
        round.latencies_ns.sort_unstable();
        let delivered = round.len();
        self.missed += u64::from(self.subscribers).saturating_sub(delivered as u64);
        self.each.push(Broadcast {
            delivered: u32::try_from(delivered).unwrap_or(u32::MAX),
            p50_us: quantile_us(&round.latencies_ns, 0.5),
            last_us: quantile_us(&round.latencies_ns, 1.0),
            server_cpu_us: cpu.map(|c| c.as_secs_f64() * 1e6),
            bytes: round.bytes,
        });
        self.latencies_ns.extend(round.latencies_ns);
    }

    pub fn into_cell(mut self, transport: Transport, subscribers: u32, connect_s: f64) -> FanoutCell {
        self.latencies_ns.sort_unstable();
        let delivered = self.latencies_ns.len() as u64;
        let bytes: u64 = self.each.iter().map(|b| b.bytes).sum();
        let server_cpu_us = duplex_model::numbers::median(self.each.iter().filter_map(|b| b.server_cpu_us));
        let mut cell = FanoutCell {
            transport,
            subscribers,
            connect_s,
            broadcasts: u32::try_from(self.each.len()).unwrap_or(u32::MAX),
            delivered,
            missed: self.missed,
            p50_us: quantile_us(&self.latencies_ns, 0.5),
            p99_us: quantile_us(&self.latencies_ns, 0.99),
            last_us: duplex_model::numbers::median(self.each.iter().filter_map(|b| b.last_us)),
            worst_us: quantile_us(&self.latencies_ns, 1.0),
            server_cpu_us,
            server_cpu_per_delivery_us: server_cpu_us.map(|cpu| cpu / f64::from(subscribers.max(1))),
            bytes_per_event: (delivered > 0).then(|| bytes as f64 / delivered as f64),
            errors: self.errors,
            each: self.each,
            over_floor: None,
            words: FanoutWords::default(),
        };
        cell.words = FanoutWords::of(&cell);
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_counts_misses_and_takes_the_median_last_subscriber() {
        let mut tally = Tally::new(3);
        for (lat, cpu) in
            [([1_000, 2_000, 9_000], 30), ([1_000, 3_000, 5_000], 10), ([2_000, 4_000, 7_000], 20)]
        {
            let mut round = Round::default();
            for l in lat {
                round.add(l, 100);
            }
            tally.round(round, Some(Duration::from_micros(cpu)));
        }
        let mut partial = Round::default();
        partial.add(6_000, 100);
        tally.round(partial, None);
        let cell = tally.into_cell(Transport::WsPush, 3, 0.5);
        assert_eq!((cell.broadcasts, cell.delivered, cell.missed), (4, 10, 2));
        // Nearest rank over 1, 1, 2, 2, 3, 4, 5, 6, 7, 9 µs: the 5th and the 10th.
        assert_eq!((cell.p50_us, cell.p99_us, cell.worst_us), (Some(3.0), Some(9.0), Some(9.0)));
        // Last subscribers 9, 5, 7, 6 µs: median 6.5.
        assert_eq!(cell.last_us, Some(6.5));
        assert_eq!(cell.server_cpu_us, Some(20.0));
        assert_eq!(cell.bytes_per_event, Some(100.0));
    }

    #[test]
    fn a_lost_subscriber_is_no_longer_expected() {
        let mut tally = Tally::new(5);
        tally.failed(&ClientError::Closed("gone".into()));
        tally.failed(&ClientError::Reply("odd".into()));
        assert_eq!((tally.alive(), tally.lost), (4, 1));
        let cell = tally.into_cell(Transport::Sse, 5, 0.0);
        assert_eq!(cell.errors.get("closed").map(|e| e.0), Some(1));
        assert!(cell.p50_us.is_none() && cell.server_cpu_us.is_none());
    }
}
