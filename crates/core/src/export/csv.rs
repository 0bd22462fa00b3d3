//! CSV files of a run: raw samples, the summary (overall and per set) and the comparisons.
//! Columns are documented in docs/reports.md; every file has a header row and opens cleanly in a
//! spreadsheet. Samples can be read back ([`read_samples`]), with line numbers in errors.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::ExportError;
use crate::stats::{Report, Summary};
use duplex_clients::Transport;
use duplex_model::record::{ClientKind, RunRecord, Sample};

/// One row of `samples.csv`.
#[derive(Debug, Serialize, Deserialize)]
struct SampleRow {
    run_id: String,
    transport: Transport,
    client: ClientKind,
    client_id: u32,
    set: u32,
    seq: u64,
    sent_at_unix_ns: i64,
    latency_ns: u64,
    send_delay_ns: u64,
    server_time_unix_ns: Option<i64>,
    bytes_out: u64,
    bytes_in: u64,
    error: Option<String>,
}

pub const SAMPLE_COLUMNS: [&str; 13] = [
    "run_id",
    "transport",
    "client",
    "client_id",
    "set",
    "seq",
    "sent_at_unix_ns",
    "latency_ns",
    "send_delay_ns",
    "server_time_unix_ns",
    "bytes_out",
    "bytes_in",
    "error",
];

pub fn write_samples<W: Write>(out: W, run_id: &str, samples: &[Sample]) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    for s in samples {
        w.serialize(SampleRow {
            run_id: run_id.to_owned(),
            transport: s.transport,
            client: s.client,
            client_id: s.client_id,
            set: s.set,
            seq: s.seq,
            sent_at_unix_ns: s.sent_at_unix_ns,
            latency_ns: s.latency_ns,
            send_delay_ns: s.send_delay_ns,
            server_time_unix_ns: s.server_time_unix_ns,
            bytes_out: s.bytes_out,
            bytes_in: s.bytes_in,
            error: s.error.clone(),
        })?;
    }
    if samples.is_empty() {
        w.write_record(SAMPLE_COLUMNS)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a `samples.csv` back: (run id, samples). A broken file is an error naming the line.
pub fn read_samples<R: Read>(input: R) -> Result<(String, Vec<Sample>), ExportError> {
    let mut r = csv::Reader::from_reader(input);
    let headers = r.headers()?.clone();
    if headers.iter().ne(SAMPLE_COLUMNS) {
        return Err(ExportError::Format(format!(
            "not a Duplex samples file: expected columns {}, found {}",
            SAMPLE_COLUMNS.join(","),
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    }
    let mut run_id = None;
    let mut samples = Vec::new();
    for row in r.deserialize::<SampleRow>() {
        let row = row.map_err(with_line)?;
        match &run_id {
            None => run_id = Some(row.run_id.clone()),
            Some(id) if *id != row.run_id => {
                return Err(ExportError::Format(format!(
                    "line {}: samples of two runs ({id} and {}) in one file",
                    samples.len() + 2,
                    row.run_id
                )));
            }
            Some(_) => {}
        }
        samples.push(Sample {
            transport: row.transport,
            client: row.client,
            client_id: row.client_id,
            set: row.set,
            seq: row.seq,
            sent_at_unix_ns: row.sent_at_unix_ns,
            latency_ns: row.latency_ns,
            send_delay_ns: row.send_delay_ns,
            server_time_unix_ns: row.server_time_unix_ns,
            bytes_out: row.bytes_out,
            bytes_in: row.bytes_in,
            error: row.error.filter(|e| !e.is_empty()),
        });
    }
    Ok((run_id.unwrap_or_default(), samples))
}

/// "line 7: column latency_ns: invalid digit found in string" rather than csv's record and
/// byte positions.
fn with_line(e: ::csv::Error) -> ExportError {
    let line = e.position().map(|p| p.line());
    let what = match e.kind() {
        ::csv::ErrorKind::Deserialize { err, .. } => {
            let field = err.field().and_then(|i| SAMPLE_COLUMNS.get(i as usize));
            match field {
                Some(name) => format!("column {name}: {}", err.kind()),
                None => err.kind().to_string(),
            }
        }
        ::csv::ErrorKind::UnequalLengths { len, expected_len, .. } => {
            format!("{len} fields where {expected_len} were expected")
        }
        _ => e.to_string(),
    };
    match line {
        Some(line) => ExportError::Format(format!("line {line}: {what}")),
        None => ExportError::Format(what),
    }
}

/// One row of `summary.csv`: a transport and client, over all sets (`set` empty) or one set.
#[derive(Debug, Serialize)]
struct SummaryRow<'a> {
    run_id: &'a str,
    platform: &'a str,
    topology: &'a str,
    /// The emulated link's profile (`none` without one) and its round trip.
    link: &'a str,
    link_rtt_ms: Option<f64>,
    /// The plan's payload (a payload sweep's setting).
    payload_bytes: usize,
    transport: Transport,
    client: ClientKind,
    set: Option<u32>,
    #[serde(flatten)]
    summary: &'a Summary,
    /// What the link predicts for this transport (overall rows of runs over a link).
    link_model_us: Option<f64>,
    normal_mu_us: Option<f64>,
    normal_sigma_us: Option<f64>,
    normal_fits: Option<bool>,
    normal_ks: Option<f64>,
    interval_a_us: Option<f64>,
    interval_b_us: Option<f64>,
    p_interval_normal: Option<f64>,
    p_interval_observed: Option<f64>,
}

pub fn write_summary<W: Write>(out: W, record: &RunRecord, report: &Report) -> Result<(), ExportError> {
    let platform = record.platform.label();
    write_flat(out, summary_rows(record, report, &platform))
}

/// A sweep's runs (one per value of its setting) side by side: each transport's overall row per run, with
/// its link and the link's model.
pub fn write_sweep<W: Write>(out: W, runs: &[(RunRecord, Report)]) -> Result<(), ExportError> {
    let platforms: Vec<String> = runs.iter().map(|(r, _)| r.platform.label()).collect();
    let rows = runs
        .iter()
        .zip(&platforms)
        .flat_map(|((record, report), platform)| summary_rows(record, report, platform))
        .filter(|row| row.set.is_none());
    write_flat(out, rows)
}

/// A push fan-out: one row per transport and subscriber count.
pub fn write_fanout<W: Write>(
    out: W,
    report: &crate::fanout::FanoutReport,
    platform: &str,
) -> Result<(), ExportError> {
    #[derive(Serialize)]
    struct Row<'a> {
        platform: &'a str,
        server: &'a str,
        embedded: bool,
        transport: Transport,
        subscribers: u32,
        connect_s: f64,
        broadcasts: u32,
        delivered: u64,
        missed: u64,
        p50_us: Option<f64>,
        p99_us: Option<f64>,
        last_us: Option<f64>,
        worst_us: Option<f64>,
        server_cpu_per_broadcast_us: Option<f64>,
        server_cpu_per_delivery_us: Option<f64>,
        bytes_per_event: Option<f64>,
        errors: u64,
    }
    write_flat(
        out,
        report.cells.iter().map(|c| Row {
            platform,
            server: &report.server,
            embedded: report.embedded,
            transport: c.transport,
            subscribers: c.subscribers,
            connect_s: c.connect_s,
            broadcasts: c.broadcasts,
            delivered: c.delivered,
            missed: c.missed,
            p50_us: c.p50_us,
            p99_us: c.p99_us,
            last_us: c.last_us,
            worst_us: c.worst_us,
            server_cpu_per_broadcast_us: c.server_cpu_us,
            server_cpu_per_delivery_us: c.server_cpu_per_delivery_us,
            bytes_per_event: c.bytes_per_event,
            errors: c.errors.values().map(|(n, _)| n).sum(),
        }),
    )
}

fn summary_rows<'a>(
    record: &'a RunRecord,
    report: &'a Report,
    platform: &'a str,
) -> impl Iterator<Item = SummaryRow<'a>> + 'a {
    let link = record.plan.link.as_ref();
    report.transports.iter().flat_map(move |t| {
        let normal = t.normal.as_ref();
        let interval = normal.and_then(|n| n.interval.as_ref());
        let model = report
            .link
            .as_ref()
            .and_then(|l| l.rows.iter().find(|r| r.transport == t.transport && r.client == t.client))
            .map(|r| r.model_us);
        std::iter::once((None, &t.overall)).chain(t.sets.iter().map(|s| (Some(s.set), &s.summary))).map(
            move |(set, summary)| {
                // The fit and the model describe all sets together: only the overall row carries them.
                let normal = normal.filter(|_| set.is_none());
                let interval = interval.filter(|_| set.is_none());
                SummaryRow {
                    run_id: &record.id,
                    platform,
                    topology: record.topology.name(),
                    link: link.map_or("none", |l| l.name.as_str()),
                    link_rtt_ms: link.map(|l| l.rtt_ms),
                    payload_bytes: record.plan.payload_bytes,
                    transport: t.transport,
                    client: t.client,
                    set,
                    summary,
                    link_model_us: model.filter(|_| set.is_none()),
                    normal_mu_us: normal.map(|n| n.mu_us),
                    normal_sigma_us: normal.map(|n| n.sigma_us),
                    normal_fits: normal.map(|n| n.fits),
                    normal_ks: normal.map(|n| n.ks_normal),
                    interval_a_us: interval.map(|i| i.a_us),
                    interval_b_us: interval.map(|i| i.b_us),
                    p_interval_normal: interval.map(|i| i.normal),
                    p_interval_observed: interval.map(|i| i.observed),
                }
            },
        )
    })
}

/// Writes rows whose nested structs are flattened (which the csv crate cannot serialise
/// itself), the header taken from the first row's field names, every float as [`decimal`].
fn write_flat<W: Write, T: Serialize>(out: W, rows: impl Iterator<Item = T>) -> Result<(), ExportError> {
    write_flat_or(out, rows, &[])
}

/// [`write_flat`], with `columns` as the header when there are no rows.
fn write_flat_or<W: Write, T: Serialize>(
    out: W,
    rows: impl Iterator<Item = T>,
    columns: &[&str],
) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    let mut any = false;
    for (i, row) in rows.enumerate() {
        let values = flat_values(&row)?;
        if i == 0 {
            w.write_record(values.iter().map(|(k, _)| k.as_str()))?;
        }
        w.write_record(values.iter().map(|(_, v)| v.as_str()))?;
        any = true;
    }
    if !any && !columns.is_empty() {
        w.write_record(columns)?;
    }
    w.flush()?;
    Ok(())
}

/// A float as a CSV cell: microseconds with three decimals (nanosecond precision, nothing
/// lost, no float noise such as 788.2750299999997), anything else to six significant digits.
fn decimal(column: &str, x: f64) -> String {
    if column.ends_with("_us") {
        format!("{x:.3}")
    } else if x == 0.0 || !x.is_finite() {
        x.to_string()
    } else {
        let digits = (5 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
        let text = format!("{x:.digits$}");
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
    }
}

/// A struct's fields as (column, text) in declaration order, flattening nested structs.
fn flat_values<T: Serialize>(row: &T) -> Result<Vec<(String, String)>, ExportError> {
    let value = serde_json::to_value(row).map_err(|e| ExportError::Format(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ExportError::Format("a report row is not a record".into()));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
                    decimal(&k, n.as_f64().unwrap_or(f64::NAN))
                }
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

pub fn write_comparisons<W: Write>(out: W, record: &RunRecord, report: &Report) -> Result<(), ExportError> {
    #[derive(Serialize)]
    struct Row<'a> {
        run_id: &'a str,
        #[serde(flatten)]
        comparison: &'a crate::stats::Comparison,
    }
    write_flat(out, report.comparisons.iter().map(|c| Row { run_id: &record.id, comparison: c }))
}

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

/// `compare.csv`: runs or platforms side by side, one row per group, transport and client.
pub fn write_platform_comparison<W: Write>(
    out: W,
    comparison: &crate::stats::platforms::PlatformComparison,
) -> Result<(), ExportError> {
    #[derive(Serialize)]
    struct Row<'a> {
        group: &'a str,
        conditions: &'a str,
        runs: String,
        transport: Transport,
        client: ClientKind,
        count: u64,
        errors: u64,
        p50_us: f64,
        p99_us: f64,
        mean_us: f64,
        ci95_low_us: f64,
        ci95_high_us: f64,
        clock_step_us: Option<f64>,
        below_step: u64,
        bytes_per_msg: f64,
        cpu_s_per_1k: Option<f64>,
        energy_uj_per_msg: Option<f64>,
        over_ws_median: Option<f64>,
        vs_reference_median: Option<f64>,
        vs_reference_p: Option<f64>,
        vs_reference: Option<&'a str>,
    }
    let rows = comparison.cells.iter().map(|c| {
        let group = &comparison.groups[c.group];
        let s = &c.summary;
        Row {
            group: &group.label,
            conditions: &group.conditions,
            runs: group.run_ids.join(" "),
            transport: c.transport,
            client: c.client,
            count: s.count,
            errors: s.errors,
            p50_us: s.p50_us,
            p99_us: s.p99_us,
            mean_us: s.mean_us,
            ci95_low_us: s.ci95_low_us,
            ci95_high_us: s.ci95_high_us,
            clock_step_us: s.clock_step_us,
            below_step: s.below_step,
            bytes_per_msg: s.bytes_out_per_msg + s.bytes_in_per_msg,
            cpu_s_per_1k: c.cpu_s_per_1k,
            energy_uj_per_msg: c.energy_uj_per_msg,
            over_ws_median: c.over_ws_median,
            vs_reference_median: c.vs_reference_median,
            vs_reference_p: c.vs_reference_p,
            vs_reference: c.vs_reference.as_deref(),
        }
    });
    write_flat(out, rows)
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
