//! A sweep (`duplex bench --sweep rtt=0,10,50,100,200ms`, or the app's Sweep field): the same
//! plan once per value of one link setting, or of the payload (`--sweep payload=1k,16k,64k`).
//! Its picture is each transport's median against the setting, beside the link's model: from
//! which RTT on a new connection per request becomes unbearable, what keep-alive buys, and how
//! a transfer's time grows with its size against the slope the link predicts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_model::link::Link;
use duplex_model::plan::Plan;
use duplex_model::record::{ClientKind, RunRecord};

use super::Report;
use duplex_clients::Transport;

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SweepPoint {
    /// The setting's value in this run, in [`SweepReport::unit`].
    pub value: f64,
    /// The point's name: its link's (`rtt=50ms`, `4g rtt=50ms`), or in a payload sweep its size
    /// (`1024 B`).
    pub link: String,
    pub run_id: String,
}

/// One transport and kind of client across the sweep; None where a run has no median of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SweepLine {
    pub transport: Transport,
    pub client: ClientKind,
    /// How every view names this row: "ws", "xhr (web view)".
    pub label: String,
    pub median_us: Vec<Option<f64>>,
    pub model_us: Vec<Option<f64>>,
    /// Each point's median in words ("50.4 ms", "< 1.00 ms (clock step)", "-"), and its
    /// model ("50.0 ms"; "no link" where the point has none; None where not modelled, as in
    /// a sweep where no point has a link).
    pub median_text: Vec<String>,
    pub model_text: Vec<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SweepReport {
    /// The setting that changes from run to run: rtt, jitter, down, up, burst or queue.
    pub setting: String,
    pub unit: String,
    pub points: Vec<SweepPoint>,
    pub lines: Vec<SweepLine>,
}

type Value = fn(&Link, &Plan) -> f64;

/// The settings a sweep can vary, with their units.
const SETTINGS: [(&str, &str, Value); 7] = [
    ("rtt", "ms", |l, _| l.rtt_ms),
    ("jitter", "ms", |l, _| l.jitter_ms),
    ("down", "kbit/s", |l, _| l.down_kbit),
    ("up", "kbit/s", |l, _| l.up_kbit),
    ("burst", "B", |l, _| l.burst_bytes as f64),
    ("queue", "B", |l, _| l.queue_bytes.map_or(0.0, |q| q as f64)),
    ("payload", "B", |_, p| p.payload_bytes as f64),
];

/// The sweep of `runs`, in their order; its setting is the first that differs between them
/// (RTT when none does).
pub fn sweep_report(runs: &[(RunRecord, Report)]) -> SweepReport {
    let links: Vec<Link> = runs.iter().map(|(r, _)| r.plan.link.clone().unwrap_or_else(Link::none)).collect();
    let plans: Vec<&Plan> = runs.iter().map(|(r, _)| &r.plan).collect();
    let at = |value: Value, i: usize| value(&links[i], plans[i]);
    let (setting, unit, value) = SETTINGS
        .into_iter()
        .find(|(_, _, value)| (1..runs.len()).any(|i| at(*value, i - 1) != at(*value, i)))
        .unwrap_or(SETTINGS[0]);
    let points = runs
        .iter()
        .enumerate()
        .map(|(i, (record, _))| SweepPoint {
            value: at(value, i),
            link: match (&record.plan.link, setting) {
                // Every point is over the same link: the point is its size.
                (_, "payload") => format!("{} B", record.plan.payload_bytes),
                (Some(l), _) => l.name.clone(),
                (None, _) => "none".to_owned(),
            },
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
                    label: t.label.clone(),
                    median_us: Vec::new(),
                    model_us: Vec::new(),
                    median_text: Vec::new(),
                    model_text: Vec::new(),
                });
            }
        }
    }
    // A sweep with no link anywhere (payload sizes on this machine as it is) models nothing.
    let modelled = links.iter().any(|l| !l.is_direct());
    for line in &mut lines {
        for ((record, report), link) in runs.iter().zip(&links) {
            let measured = report.transport(line.transport, line.client).filter(|t| t.overall.count > 0);
            // The model of every point, a point without a link's too (no round trips: 0).
            let model = measured
                .filter(|_| modelled)
                .map(|t| link.predict_us(line.transport, &super::link::traffic(record, t)));
            line.median_us.push(measured.map(|t| t.overall.p50_us));
            line.model_us.push(model);
            // A censored median reads as its bound, and a point without a link has no model.
            line.median_text
                .push(measured.map_or_else(|| "-".to_owned(), |t| t.overall.show(t.overall.p50_us)));
            line.model_text.push(match model {
                Some(_) if link.is_direct() => Some("no link".to_owned()),
                Some(m) => Some(super::format_us(m)),
                None => None,
            });
        }
    }
    SweepReport { setting: setting.to_owned(), unit: unit.to_owned(), points, lines }
}
