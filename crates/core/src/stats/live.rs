//! Running latency percentiles while a run is in progress (hdrhistogram: constant memory,
//! 3 significant digits), and histogram bins for charts.

use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::Serialize;
use ts_rs::TS;

use duplex_clients::Transport;
use duplex_model::record::Sample;

pub struct LiveLatency {
    hist: Histogram<u64>,
}

impl Default for LiveLatency {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveLatency {
    pub fn new() -> LiveLatency {
        // 1 ns .. 1 hour at 3 significant digits; these bounds are valid, so this cannot fail.
        let hist = Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
            .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!("sigfig 3 is valid")));
        LiveLatency { hist }
    }

    pub fn record(&mut self, latency_ns: u64) {
        self.hist.saturating_record(latency_ns.max(1));
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Quantile in microseconds.
    pub fn quantile_us(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1e3
    }
}

/// Live percentiles per transport, fed from a run's sample batches.
#[derive(Default)]
pub struct LiveByTransport {
    groups: Vec<LiveGroup>,
}

/// One transport so far: its successful calls' latencies, and every call recorded.
struct LiveGroup {
    transport: Transport,
    latency: LiveLatency,
    /// Calls recorded, failed ones included.
    recorded: u64,
}

impl LiveByTransport {
    /// Records a batch: every sample counts, the successful ones' latencies too.
    pub fn record(&mut self, batch: &[Sample]) {
        for s in batch {
            let i = match self.groups.iter().position(|g| g.transport == s.transport) {
                Some(i) => i,
                None => {
                    self.groups.push(LiveGroup {
                        transport: s.transport,
                        latency: LiveLatency::new(),
                        recorded: 0,
                    });
                    self.groups.len() - 1
                }
            };
            let group = &mut self.groups[i];
            group.recorded += 1;
            if s.is_ok() {
                group.latency.record(s.latency_ns);
            }
        }
    }

    /// Calls recorded so far of one transport, failed ones included.
    pub fn recorded(&self, transport: Transport) -> u64 {
        self.groups.iter().find(|g| g.transport == transport).map_or(0, |g| g.recorded)
    }

    /// Median so far of one transport, µs; None before its first successful call.
    pub fn p50_us(&self, transport: Transport) -> Option<f64> {
        self.measured().find(|g| g.transport == transport).map(|g| g.latency.quantile_us(0.5))
    }

    /// Median so far of every transport with a successful call, in the order first seen.
    pub fn p50s_us(&self) -> impl Iterator<Item = (Transport, f64)> + '_ {
        self.measured().map(|g| (g.transport, g.latency.quantile_us(0.5)))
    }

    fn measured(&self) -> impl Iterator<Item = &LiveGroup> {
        self.groups.iter().filter(|g| g.latency.count() > 0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, TS, JsonSchema)]
pub struct Bin {
    pub low_us: f64,
    pub high_us: f64,
    pub count: u64,
}

/// `bins` equal-width bins between the smallest value and the 99.9th percentile (the rest are
/// counted in the last bin), for the paper's histogram-with-normal-curve figures.
pub fn histogram(xs_us: &[f64], bins: usize) -> Vec<Bin> {
    if xs_us.is_empty() || bins == 0 {
        return Vec::new();
    }
    let mut sorted = xs_us.to_vec();
    sorted.sort_by(f64::total_cmp);
    let low = sorted[0];
    let high = sorted[((sorted.len() - 1) as f64 * 0.999) as usize].max(low + f64::EPSILON);
    let width = (high - low) / bins as f64;
    let mut out: Vec<Bin> = (0..bins)
        .map(|i| Bin { low_us: low + width * i as f64, high_us: low + width * (i + 1) as f64, count: 0 })
        .collect();
    for x in sorted {
        let i = (((x - low) / width) as usize).min(bins - 1);
        out[i].count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_quantiles_are_within_hdr_precision() {
        let mut live = LiveLatency::new();
        for us in 1..=1000u64 {
            live.record(us * 1000);
        }
        assert_eq!(live.count(), 1000);
        assert!((live.quantile_us(0.5) - 500.0).abs() <= 0.5);
        assert!((live.quantile_us(0.99) - 990.0).abs() <= 1.0);
    }

    #[test]
    fn histogram_counts_everything() {
        let xs: Vec<f64> = (0..1000).map(f64::from).collect();
        let bins = histogram(&xs, 10);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 1000);
        assert_eq!(bins[0].count, 100);
    }
}
