//! `power.csv`, `energy.csv` and a live-monitor session's `monitor.csv`: what was read over time.

use std::io::Write;

use serde::Serialize;

use super::{write_flat, write_flat_or};
use crate::export::ExportError;
use crate::stats::Report;
use duplex_clients::Transport;
use duplex_model::record::{ClientKind, RunRecord};

/// One row of `power.csv`: every sensor at one instant. Counters are cumulative from the first
/// row; an empty cell was not read (the sensor's reason is in `energy.csv` and `run.json`).
#[derive(Debug, Serialize)]
struct PowerRow<'a> {
    run_id: &'a str,
    at_unix_ns: i64,
    /// What was happening: "baseline", "<transport> <client> set <n>", or empty between blocks.
    phase: String,
    process_cpu_s: Option<f64>,
    system_cpu_s: Option<f64>,
    process_memory_bytes: Option<u64>,
    rapl_j: Option<f64>,
    battery_state: Option<&'static str>,
    battery_percent: Option<f64>,
    battery_energy_wh: Option<f64>,
    battery_power_w: Option<f64>,
    battery_voltage_v: Option<f64>,
    battery_temperature_c: Option<f64>,
}

pub const POWER_COLUMNS: [&str; 13] = [
    "run_id",
    "at_unix_ns",
    "phase",
    "process_cpu_s",
    "system_cpu_s",
    "process_memory_bytes",
    "rapl_j",
    "battery_state",
    "battery_percent",
    "battery_energy_wh",
    "battery_power_w",
    "battery_voltage_v",
    "battery_temperature_c",
];

/// What the run was doing at `at` (Unix ns), for the power file's `phase` column.
fn phase_at(record: &RunRecord, at: i64) -> String {
    let within = |w: crate::power::TimeWindow| (w.start_unix_ns..=w.end_unix_ns).contains(&at);
    if record.power.as_ref().and_then(|p| p.baseline).is_some_and(within) {
        return "baseline".into();
    }
    record
        .blocks
        .iter()
        .find(|b| b.window().is_some_and(within))
        .map_or_else(String::new, |b| format!("{} {} set {}", b.transport, b.client.name(), b.set))
}

/// `power.csv`: the power trace, time-aligned with `samples.csv` (both in Unix ns).
pub fn write_power<W: Write>(out: W, record: &RunRecord) -> Result<(), ExportError> {
    let samples = record.power.as_ref().map_or(&[][..], |p| &p.samples);
    let rows = samples.iter().map(|s| {
        let battery = s.battery.as_ref();
        PowerRow {
            run_id: &record.id,
            at_unix_ns: s.at_unix_ns,
            phase: phase_at(record, s.at_unix_ns),
            process_cpu_s: s.process_cpu_s,
            system_cpu_s: s.system_cpu_s,
            process_memory_bytes: s.process_memory_bytes,
            rapl_j: s.rapl_j,
            battery_state: battery.map(|b| b.state.name()),
            battery_percent: battery.and_then(|b| b.percent),
            battery_energy_wh: battery.and_then(|b| b.energy_wh),
            battery_power_w: battery.and_then(|b| b.power_w),
            battery_voltage_v: battery.and_then(|b| b.voltage_v),
            battery_temperature_c: battery.and_then(|b| b.temperature_c),
        }
    });
    write_flat_or(out, rows, &POWER_COLUMNS)
}

/// One row of `energy.csv`: one quantity (CPU, RAPL, battery) spent by one transport.
#[derive(Debug, Serialize)]
struct EnergyRow<'a> {
    run_id: &'a str,
    transport: Transport,
    client: ClientKind,
    quantity: &'static str,
    unit: &'static str,
    /// "measured", or "unavailable: <reason>" (and the numbers empty).
    status: String,
    seconds: f64,
    messages: u64,
    total: Option<f64>,
    idle: Option<f64>,
    above_idle: Option<f64>,
    ci95: Option<f64>,
    rate_above_idle: Option<f64>,
    rate_unit: &'static str,
    per_message: Option<f64>,
    per_message_ci95: Option<f64>,
    /// This transport's cost per message over WebSocket's (AJAX rows).
    over_ws: Option<f64>,
    over_ws_ci95_low: Option<f64>,
    over_ws_ci95_high: Option<f64>,
    battery_drain_pct_per_h: Option<f64>,
    peak_memory_bytes: Option<u64>,
}

pub const ENERGY_COLUMNS: [&str; 21] = [
    "run_id",
    "transport",
    "client",
    "quantity",
    "unit",
    "status",
    "seconds",
    "messages",
    "total",
    "idle",
    "above_idle",
    "ci95",
    "rate_above_idle",
    "rate_unit",
    "per_message",
    "per_message_ci95",
    "over_ws",
    "over_ws_ci95_low",
    "over_ws_ci95_high",
    "battery_drain_pct_per_h",
    "peak_memory_bytes",
];

/// `energy.csv`: what each transport cost per quantity, or why it could not be measured.
pub fn write_energy<W: Write>(out: W, record: &RunRecord, report: &Report) -> Result<(), ExportError> {
    let mut rows = Vec::new();
    for t in report.energy.iter().flat_map(|e| &e.transports) {
        for cost in &t.costs {
            let q = cost.quantity;
            let m = cost.measured.as_ref();
            let ratio = report.energy.as_ref().and_then(|e| {
                e.comparisons
                    .iter()
                    .find(|c| c.other == t.transport && c.client == t.client && c.quantity == q)
            });
            let (unit, rate_unit) = q.units();
            rows.push(EnergyRow {
                run_id: &record.id,
                transport: t.transport,
                client: t.client,
                quantity: q.name(),
                unit,
                status: cost
                    .unavailable
                    .as_ref()
                    .map_or_else(|| "measured".into(), |r| format!("unavailable: {r}")),
                seconds: t.seconds,
                messages: t.messages,
                total: m.map(|m| m.total),
                idle: m.map(|m| m.idle),
                above_idle: m.map(|m| m.above_idle),
                ci95: m.and_then(|m| m.ci95),
                rate_above_idle: m.map(|m| m.rate_above_idle),
                rate_unit,
                per_message: m.map(|m| m.per_message),
                per_message_ci95: m.and_then(|m| m.per_message_ci95),
                over_ws: ratio.and_then(|r| r.ratio),
                over_ws_ci95_low: ratio.and_then(|r| r.ratio_ci95.map(|c| c.0)),
                over_ws_ci95_high: ratio.and_then(|r| r.ratio_ci95.map(|c| c.1)),
                battery_drain_pct_per_h: t.battery_drain_pct_per_h,
                peak_memory_bytes: t.peak_memory_bytes,
            });
        }
    }
    write_flat_or(out, rows.into_iter(), &ENERGY_COLUMNS)
}

/// `monitor.csv`: a live-monitor session, one row per answer or message of each feed, with how
/// stale its snapshot was when it was shown.
pub fn write_monitor_session<W: Write>(out: W, session: &crate::monitor::Session) -> Result<(), ExportError> {
    #[derive(Serialize)]
    struct Row {
        feed: crate::monitor::Feed,
        seq: Option<u64>,
        created_unix_ns: Option<i64>,
        shown_unix_ns: i64,
        staleness_us: Option<f64>,
        bytes_out: u64,
        bytes_in: u64,
        handler_us: f64,
        one_clock: bool,
    }
    let rows = session.observations.iter().map(|o| Row {
        feed: o.feed,
        seq: o.seq,
        created_unix_ns: o.created_ns,
        shown_unix_ns: o.shown_ns,
        staleness_us: o.created_ns.map(|c| (o.shown_ns - c) as f64 / 1e3),
        bytes_out: o.bytes_out,
        bytes_in: o.bytes_in,
        handler_us: o.handler_ns as f64 / 1e3,
        one_clock: session.one_clock,
    });
    write_flat(out, rows)
}
