//! What each transport cost in CPU and energy: the power trace's cumulative counters are read
//! at the start and end of every block a transport ran (interpolated between readings), the
//! idle baseline's rate is subtracted, and the rest is divided by the messages sent. The
//! uncertainty comes from the spread of the per-interval rates, in the windows and in the
//! baseline; a quantity that cannot be told from idle is said to be so.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::power::{PowerSample, SensorStatus, TimeWindow};
use duplex_clients::Transport;
use duplex_model::record::{ClientKind, RunRecord};

mod counters;
mod series;

use counters::{Cumulative, Idle, battery_percent, seconds_of, standard_error};
pub use counters::{attribute, ratio_with_ci};
pub use series::{PowerSeries, power_series};

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.96;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Quantity {
    /// CPU time of Duplex and its child processes (the web view's), CPU-seconds.
    ProcessCpu,
    /// Busy CPU time of the whole machine, CPU-seconds.
    SystemCpu,
    /// RAPL energy of the CPU packages or platform, joules.
    Rapl,
    /// Energy drawn from the battery, joules.
    Battery,
}

impl Quantity {
    pub const ALL: [Quantity; 4] =
        [Quantity::ProcessCpu, Quantity::SystemCpu, Quantity::Rapl, Quantity::Battery];

    pub fn name(self) -> &'static str {
        match self {
            Quantity::ProcessCpu => "process-cpu",
            Quantity::SystemCpu => "system-cpu",
            Quantity::Rapl => "rapl",
            Quantity::Battery => "battery",
        }
    }

    /// The sensor that provides it.
    pub fn sensor(self) -> &'static str {
        match self {
            Quantity::ProcessCpu | Quantity::SystemCpu => "cpu",
            Quantity::Rapl => "rapl",
            Quantity::Battery => "battery",
        }
    }

    pub fn is_energy(self) -> bool {
        matches!(self, Quantity::Rapl | Quantity::Battery)
    }

    /// Unit of the amount ("J" or "CPU-s") and of its rate ("W" or "cores").
    pub fn units(self) -> (&'static str, &'static str) {
        if self.is_energy() { ("J", "W") } else { ("CPU-s", "cores") }
    }

    /// The quantity in words; Duplex's own CPU time includes its web view's only where a web
    /// view took part (the app), not from the command line.
    fn words(self, with_webview: bool) -> &'static str {
        match self {
            Quantity::ProcessCpu if with_webview => "CPU time (Duplex and its web view)",
            Quantity::ProcessCpu => "CPU time (Duplex)",
            Quantity::SystemCpu => "CPU time (whole machine)",
            Quantity::Rapl => "energy (RAPL)",
            Quantity::Battery => "battery energy",
        }
    }
}

/// One quantity spent by one transport, above the idle baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Attributed {
    /// Everything counted in the transport's windows.
    pub total: f64,
    /// What the idle baseline would have counted in the same time (0 without a baseline).
    pub idle: f64,
    pub above_idle: f64,
    /// Half-width of the 95 % interval of `above_idle`; None with too few readings.
    pub ci95: Option<f64>,
    /// `above_idle` per second: watts or cores.
    pub rate_above_idle: f64,
    /// `above_idle` per message (J or CPU-s).
    pub per_message: f64,
    pub per_message_ci95: Option<f64>,
}

impl Attributed {
    /// True when the cost stands out of the idle noise.
    pub fn is_measurable(&self) -> bool {
        self.ci95.is_none_or(|ci| self.above_idle > ci) && self.above_idle > 0.0
    }
}

/// A quantity for one transport: measured, or why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Cost {
    pub quantity: Quantity,
    pub measured: Option<Attributed>,
    pub unavailable: Option<String>,
    /// Per message in words, in the quantity's unit (µJ for energy, CPU-seconds per 1,000
    /// messages for CPU) with its 95 % interval: "12.3 ± 0.41"; "unavailable" when not measured.
    #[serde(default)]
    pub text: String,
}

impl Cost {
    fn new(quantity: Quantity, measured: Result<Attributed, String>) -> Self {
        let text = match &measured {
            Ok(m) => {
                let scale = if quantity.is_energy() { 1e6 } else { 1e3 };
                let ci = m.per_message_ci95.map_or_else(String::new, |c| format!(" ± {}", digits(c * scale)));
                format!("{}{ci}", digits(m.per_message * scale))
            }
            Err(_) => "unavailable".into(),
        };
        Cost { quantity, unavailable: measured.as_ref().err().cloned(), measured: measured.ok(), text }
    }
}

/// Three significant figures or so: "0.123", "12.3", "123" (never "-0.000").
fn digits(x: f64) -> String {
    let text = match x.abs() {
        a if a >= 100.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        _ => format!("{x:.3}"),
    };
    if text.starts_with('-') && text.trim_start_matches(['-', '0', '.']).is_empty() {
        text[1..].to_owned()
    } else {
        text
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct TransportEnergy {
    pub transport: Transport,
    pub client: ClientKind,
    /// How every view names this row: "ws", "xhr (web view)".
    pub label: String,
    /// Time the transport's blocks took, s.
    pub seconds: f64,
    /// Successful messages (calls) in those blocks.
    pub messages: u64,
    pub costs: Vec<Cost>,
    /// Battery charge lost per hour while this transport ran (raw, with idle), %/h.
    pub battery_drain_pct_per_h: Option<f64>,
    pub peak_memory_bytes: Option<u64>,
    /// [`TransportEnergy::peak_memory_bytes`] in words: "84.2 MiB", "-".
    #[serde(default)]
    pub peak_memory: String,
}

impl TransportEnergy {
    pub fn cost(&self, quantity: Quantity) -> Option<&Cost> {
        self.costs.iter().find(|c| c.quantity == quantity)
    }
}

/// WebSocket versus one AJAX transport on one quantity, per message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct EnergyComparison {
    pub client: ClientKind,
    /// [`ClientKind::title`]: how the page heads it.
    #[serde(default)]
    pub who: String,
    pub ws: Transport,
    pub other: Transport,
    pub quantity: Quantity,
    /// The other transport's cost per message over WebSocket's: above 1, WebSocket is cheaper.
    pub ratio: Option<f64>,
    pub ratio_ci95: Option<(f64, f64)>,
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct EnergyReport {
    pub sensors: Vec<SensorStatus>,
    pub baseline_s: Option<f64>,
    pub transports: Vec<TransportEnergy>,
    pub comparisons: Vec<EnergyComparison>,
    pub notes: Vec<String>,
}

/// The power trace of `record` turned into costs per transport, or None if power was not sampled.
pub fn energy_report(record: &RunRecord) -> Option<EnergyReport> {
    let trace = record.power.as_ref()?;
    let t0 = trace.samples.first().map_or(0, |s| s.at_unix_ns);
    let rel = |w: TimeWindow| ((w.start_unix_ns - t0) as f64 / 1e9, (w.end_unix_ns - t0) as f64 / 1e9);
    let baseline = trace.baseline.filter(|b| b.seconds() > 0.0).map(rel);
    let mut notes = Vec::new();
    if baseline.is_none() {
        notes.push("no idle baseline was measured: costs include what the device spends idle".into());
    }

    let series: Vec<(Quantity, Result<Cumulative, String>)> = Quantity::ALL
        .iter()
        .map(|&q| {
            let sensor = trace.sensor(q.sensor());
            let series = match sensor.and_then(|s| s.unavailable.clone()) {
                Some(reason) => Err(reason),
                None if sensor.is_none() => Err("not sampled".into()),
                None => Cumulative::of(trace, q),
            };
            (q, series)
        })
        .collect();
    let idle: Vec<Option<Idle>> = series
        .iter()
        .map(|(_, s)| {
            let (s, b) = (s.as_ref().ok()?, baseline?);
            let (amount, rates) = s.over(&[b]);
            Some(Idle { rate: amount / (b.1 - b.0), se: standard_error(&rates) })
        })
        .collect();

    let mut keys: Vec<(Transport, ClientKind)> =
        record.blocks.iter().map(|b| (b.transport, b.client)).collect();
    keys.sort();
    keys.dedup();
    let mut transports = Vec::new();
    for (transport, client) in keys {
        let windows: Vec<(f64, f64)> = record
            .blocks
            .iter()
            .filter(|b| b.transport == transport && b.client == client)
            .filter_map(|b| b.window().map(rel))
            .collect();
        let seconds = seconds_of(&windows);
        let messages = record
            .samples
            .iter()
            .filter(|s| s.transport == transport && s.client == client && s.is_ok())
            .count() as u64;
        let costs = series
            .iter()
            .zip(&idle)
            .map(|((quantity, s), idle)| {
                let measured = match s {
                    Err(reason) => Err(reason.clone()),
                    Ok(_) if windows.is_empty() => Err("the run has no block times to attribute by".into()),
                    Ok(_) if messages == 0 => Err("no successful messages".into()),
                    Ok(s) => {
                        let (total, rates) = s.over(&windows);
                        let (idle_rate, idle_se) = idle.as_ref().map_or((0.0, Some(0.0)), |i| (i.rate, i.se));
                        Ok(attribute(total, seconds, standard_error(&rates), idle_rate, idle_se, messages))
                    }
                };
                Cost::new(*quantity, measured)
            })
            .collect();
        let in_windows = |s: &&PowerSample| {
            let t = (s.at_unix_ns - t0) as f64 / 1e9;
            windows.iter().any(|&(a, b)| (a..=b).contains(&t))
        };
        let battery_drain_pct_per_h = battery_percent(trace).and_then(|p| {
            let (drop, _) = p.over(&windows);
            (seconds > 0.0).then(|| drop / seconds * 3600.0)
        });
        let peak_memory_bytes =
            trace.samples.iter().filter(in_windows).filter_map(|s| s.process_memory_bytes).max();
        transports.push(TransportEnergy {
            transport,
            client,
            label: client.label(transport),
            seconds,
            messages,
            costs,
            battery_drain_pct_per_h,
            peak_memory: peak_memory_bytes.map_or_else(|| "-".into(), |b| super::format_bytes(b as f64)),
            peak_memory_bytes,
        });
    }
    let comparisons = compare(&transports);
    let blocks = record.blocks.iter().filter_map(|b| b.window()).count();
    let block_s = transports.iter().map(|t| t.seconds).sum::<f64>() / blocks.max(1) as f64;
    if blocks > 0 && block_s < 5.0 * trace.sample_ms as f64 / 1e3 {
        let relation = if block_s * 1e3 < trace.sample_ms as f64 { "shorter than" } else { "not far above" };
        notes.push(format!(
            "blocks last {block_s:.2} s on average, {relation} the {} ms between readings: costs are smeared \
             between transports; for energy, run the energy plan (long blocks in turn)",
            trace.sample_ms
        ));
    }
    if transports.iter().any(|t| t.client == ClientKind::Webview) {
        notes.push(
            "web-view costs include the web view's own processes (process CPU counts Duplex's children)"
                .into(),
        );
    }
    Some(EnergyReport {
        sensors: trace.sensors.clone(),
        baseline_s: baseline.map(|(a, b)| b - a),
        transports,
        comparisons,
        notes,
    })
}

fn compare(transports: &[TransportEnergy]) -> Vec<EnergyComparison> {
    let with_webview = transports.iter().any(|t| t.client == ClientKind::Webview);
    let mut out = Vec::new();
    for other in transports {
        let partners = other.transport.websocket_partners();
        if partners.contains(&other.transport) {
            continue;
        }
        let Some(ws_t) = partners
            .iter()
            .find_map(|ws| transports.iter().find(|t| t.transport == *ws && t.client == other.client))
        else {
            continue;
        };
        let ws = ws_t.transport;
        for quantity in Quantity::ALL {
            let (Some(a), Some(b)) = (
                other.cost(quantity).and_then(|c| c.measured.as_ref()),
                ws_t.cost(quantity).and_then(|c| c.measured.as_ref()),
            ) else {
                continue;
            };
            let what = quantity.words(with_webview);
            let (ratio, ratio_ci95, verdict) = if !a.is_measurable() || !b.is_measurable() {
                let which = if b.is_measurable() { other.transport } else { ws };
                (
                    None,
                    None,
                    format!(
                        "{what}: {which} cannot be told from idle in this run, so {ws} and {} are not compared (a longer run, or the energy plan, narrows the interval)",
                        other.transport
                    ),
                )
            } else {
                let (r, ci) = ratio_with_ci(a, b);
                let ci_words = ci.map_or(String::new(), |(lo, hi)| format!(" (95% CI {lo:.2}–{hi:.2}×)"));
                let verdict = if ci.is_some_and(|(lo, hi)| lo <= 1.0 && hi >= 1.0) {
                    format!(
                        "{what}: no clear difference per message between {ws} and {}{ci_words}",
                        other.transport
                    )
                } else if r >= 1.0 {
                    format!("{what}: {ws} costs {r:.2}× less per message than {}{ci_words}", other.transport)
                } else {
                    format!(
                        "{what}: {ws} costs {:.2}× more per message than {}{ci_words}",
                        1.0 / r,
                        other.transport
                    )
                };
                (Some(r), ci, verdict)
            };
            out.push(EnergyComparison {
                who: other.client.title().to_owned(),
                client: other.client,
                ws,
                other: other.transport,
                quantity,
                ratio,
                ratio_ci95,
                verdict,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributed(per_message: f64, ci: Option<f64>) -> Attributed {
        Attributed {
            total: 1.0,
            idle: 0.0,
            above_idle: 1.0,
            ci95: ci,
            rate_above_idle: 1.0,
            per_message,
            per_message_ci95: ci,
        }
    }

    #[test]
    fn a_cost_reads_in_its_quantitys_unit_and_absence_as_absence() {
        let cpu = Cost::new(Quantity::ProcessCpu, Ok(attributed(0.000075, Some(0.000001))));
        assert_eq!(cpu.text, "0.075 ± 0.001");
        assert_eq!(Cost::new(Quantity::Rapl, Ok(attributed(0.000412, None))).text, "412");
        assert_eq!(Cost::new(Quantity::Rapl, Ok(attributed(-0.0000000001, None))).text, "0.000");
        let none = Cost::new(Quantity::Battery, Err("no battery".into()));
        assert_eq!((none.text.as_str(), none.unavailable.as_deref()), ("unavailable", Some("no battery")));
    }
}
