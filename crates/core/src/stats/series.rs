//! Latencies in the order they were measured, per transport and client: what the app draws as
//! "latency of every call over time" (the paper's Figs. 2 and 4) and bins into histograms.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_clients::Transport;
use duplex_model::record::{ClientKind, RunRecord};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Series {
    pub transport: Transport,
    pub client: ClientKind,
    /// How every view names this row: "ws", "xhr (web view)".
    pub label: String,
    /// Successful calls' latencies, µs, in measurement order.
    pub latency_us: Vec<f64>,
    /// The set of each latency.
    pub set: Vec<u32>,
    pub errors: u64,
}

pub fn series(record: &RunRecord) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for s in &record.samples {
        let i = match out.iter().position(|x| x.transport == s.transport && x.client == s.client) {
            Some(i) => i,
            None => {
                out.push(Series {
                    transport: s.transport,
                    client: s.client,
                    label: s.client.label(s.transport),
                    latency_us: Vec::new(),
                    set: Vec::new(),
                    errors: 0,
                });
                out.len() - 1
            }
        };
        let x = &mut out[i];
        if s.is_ok() {
            x.latency_us.push(s.latency_ns as f64 / 1e3);
            x.set.push(s.set);
        } else {
            x.errors += 1;
        }
    }
    out.sort_by_key(|x| (x.client, x.transport));
    out
}
