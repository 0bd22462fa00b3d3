//! `summary.csv`, `comparisons.csv`, the sweep's, the fan-out's and a comparison of runs or
//! platforms: the figures of runs, a row per transport and client.

use std::io::Write;

use serde::Serialize;

use super::write_flat;
use crate::export::ExportError;
use crate::stats::{Report, Summary};
use duplex_clients::Transport;
use duplex_model::record::{ClientKind, RunRecord};

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
        /// A transport, or "floor": one plain thread writing the same frame to as many sockets,
        /// each with a reader waiting on it, or "floor-unread": the same with nobody waiting.
        transport: &'a str,
        subscribers: u32,
        connect_s: Option<f64>,
        broadcasts: u32,
        delivered: Option<u64>,
        missed: Option<u64>,
        p50_us: Option<f64>,
        p99_us: Option<f64>,
        last_us: Option<f64>,
        worst_us: Option<f64>,
        server_cpu_per_broadcast_us: Option<f64>,
        server_cpu_per_delivery_us: Option<f64>,
        over_floor: Option<f64>,
        bytes_per_event: Option<f64>,
        errors: u64,
    }
    let cells = report.cells.iter().map(|c| Row {
        platform,
        server: &report.server,
        embedded: report.embedded,
        transport: c.transport.name(),
        subscribers: c.subscribers,
        connect_s: Some(c.connect_s),
        broadcasts: c.broadcasts,
        delivered: Some(c.delivered),
        missed: Some(c.missed),
        p50_us: c.p50_us,
        p99_us: c.p99_us,
        last_us: c.last_us,
        worst_us: c.worst_us,
        server_cpu_per_broadcast_us: c.server_cpu_us,
        server_cpu_per_delivery_us: c.server_cpu_per_delivery_us,
        over_floor: c.over_floor,
        bytes_per_event: c.bytes_per_event,
        errors: c.errors.values().map(|(n, _)| n).sum(),
    });
    // Each floor twice: with a reader waiting on each socket (what "over_floor" divides by), and
    // unread, its over_floor the unread floor over the other.
    let floor = report.floor.iter().flat_map(|f| {
        [("floor", f.cpu_per_write_us), ("floor-unread", f.unread_cpu_per_write_us)].map(
            |(transport, per_write)| Row {
                platform,
                server: &report.server,
                embedded: report.embedded,
                transport,
                subscribers: f.subscribers,
                connect_s: None,
                broadcasts: report.plan.broadcasts,
                delivered: None,
                missed: None,
                p50_us: None,
                p99_us: None,
                last_us: None,
                worst_us: None,
                server_cpu_per_broadcast_us: per_write.map(|us| us * f64::from(f.subscribers)),
                server_cpu_per_delivery_us: per_write,
                over_floor: per_write.zip(f.cpu_per_write_us).map(|(us, floor)| us / floor),
                bytes_per_event: Some(f.frame_bytes as f64),
                errors: u64::from(f.error.is_some()),
            },
        )
    });
    write_flat(out, cells.chain(floor))
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

pub fn write_comparisons<W: Write>(out: W, record: &RunRecord, report: &Report) -> Result<(), ExportError> {
    #[derive(Serialize)]
    struct Row<'a> {
        run_id: &'a str,
        #[serde(flatten)]
        comparison: &'a crate::stats::Comparison,
    }
    write_flat(out, report.comparisons.iter().map(|c| Row { run_id: &record.id, comparison: c }))
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
        lost: u64,
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
            lost: s.lost,
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
