//! A sweep (`duplex bench --sweep rtt=0,10,50,100,200ms`, or the app's Sweep field): the same
//! plan once per value of one link setting. Its picture is each transport's median against the
//! setting, beside the link's model: from which RTT on a new connection per request becomes
//! unbearable, and what keep-alive buys.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_model::link::Link;
use duplex_model::record::{ClientKind, RunRecord};

use super::Report;
use duplex_clients::Transport;

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SweepPoint {
    /// The setting's value in this run, in [`SweepReport::unit`].
    pub value: f64,
    /// The link's name (`rtt=50ms`, `4g rtt=50ms`).
    pub link: String,
    pub run_id: String,
}

/// One transport and kind of client across the sweep; None where a run has no median of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SweepLine {
    pub transport: Transport,
    pub client: ClientKind,
    pub median_us: Vec<Option<f64>>,
    pub model_us: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SweepReport {
    /// The setting that changes from run to run: rtt, jitter, down, up, burst or queue.
    pub setting: String,
    pub unit: String,
    pub points: Vec<SweepPoint>,
    pub lines: Vec<SweepLine>,
}

type Value = fn(&Link) -> f64;

/// The settings a sweep can vary, with their units.
const SETTINGS: [(&str, &str, Value); 6] = [
    ("rtt", "ms", |l| l.rtt_ms),
    ("jitter", "ms", |l| l.jitter_ms),
    ("down", "kbit/s", |l| l.down_kbit),
    ("up", "kbit/s", |l| l.up_kbit),
    ("burst", "B", |l| l.burst_bytes as f64),
    ("queue", "B", |l| l.queue_bytes.map_or(0.0, |q| q as f64)),
];

/// The sweep of `runs`, in their order; its setting is the first that differs between them
/// (RTT when none does).
pub fn sweep_report(runs: &[(RunRecord, Report)]) -> SweepReport {
    let links: Vec<Link> = runs.iter().map(|(r, _)| r.plan.link.clone().unwrap_or_else(Link::none)).collect();
    let (setting, unit, value) = SETTINGS
        .into_iter()
        .find(|(_, _, value)| links.windows(2).any(|w| value(&w[0]) != value(&w[1])))
        .unwrap_or(SETTINGS[0]);
    let points = runs
        .iter()
        .zip(&links)
        .map(|((record, _), link)| SweepPoint {
            value: value(link),
            link: record.plan.link.as_ref().map_or_else(|| "none".to_owned(), |l| l.name.clone()),
            run_id: record.id.clone(),
        })
        .collect();
    let mut lines: Vec<SweepLine> = Vec::new();
    for (_, report) in runs {
        for t in &report.transports {
            if !lines.iter().any(|l| l.transport == t.transport && l.client == t.client) {
                lines.push(SweepLine {
                    transport: t.transport,
                    client: t.client,
                    median_us: Vec::new(),
                    model_us: Vec::new(),
                });
            }
        }
    }
    for line in &mut lines {
        for ((record, report), link) in runs.iter().zip(&links) {
            let measured = report.transport(line.transport, line.client).filter(|t| t.overall.count > 0);
            // The model of every point, a point without a link's too (no round trips: 0).
            let model = measured.and_then(|t| {
                link.predict_us(
                    line.transport,
                    t.overall.bytes_out_per_msg,
                    t.overall.bytes_in_per_msg,
                    record.plan.poll_interval_ms,
                )
            });
            line.median_us.push(measured.map(|t| t.overall.p50_us));
            line.model_us.push(model);
        }
    }
    SweepReport { setting: setting.to_owned(), unit: unit.to_owned(), points, lines }
}
