//! `duplex bench`: a table per transport, the verdicts and notes, energy per message.

use std::fmt::Write as _;

use duplex_core::export::ReportFiles;
use duplex_core::record::RunRecord;
use duplex_core::stats::energy::{EnergyReport, Quantity};
use duplex_core::stats::{Report, TransportReport, format_us};
use schemars::JsonSchema;
use serde::Serialize;

use super::Document;
use super::table::{Align, Table};

/// A run as `duplex bench --json` prints it: the record without its samples (they are in the
/// CSV report), its analysis, and the report's files.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Bench {
    pub run: RunRecord,
    pub report: Report,
    pub files: Option<ReportFiles>,
    /// The self-contained HTML report, if one was asked for (--html).
    pub html: Option<std::path::PathBuf>,
}

impl Bench {
    pub fn new(
        record: &RunRecord,
        report: &Report,
        files: Option<ReportFiles>,
        html: Option<std::path::PathBuf>,
    ) -> Bench {
        Bench {
            run: RunRecord { samples: Vec::new(), ..record.clone() },
            report: report.clone(),
            files,
            html,
        }
    }
}

impl Document for Bench {
    const NAME: &'static str = "bench";

    fn text(&self) -> String {
        let mut out = text(&self.run, &self.report, self.files.as_ref());
        if let Some(html) = &self.html {
            let _ = writeln!(out, "html report: {}", html.display());
        }
        out
    }
}

fn text(record: &RunRecord, report: &Report, files: Option<&ReportFiles>) -> String {
    let mut out = String::new();
    let plan = &record.plan;
    let _ = writeln!(
        out,
        "\nDuplex {} — run {} ({}) against {} [{}]",
        record.duplex_version,
        record.id.chars().take(8).collect::<String>(),
        record.status.name(),
        record.server,
        record.topology.name()
    );
    let _ = writeln!(out, "plan: {}, payload {} B\n", plan.shape(), plan.payload_bytes);
    // Round trips first, then the push transports' one-way times, under a line of their own.
    let is_push = |t: &TransportReport| t.transport.pattern() == duplex_core::clients::Pattern::Push;
    let (pushed, round_trips): (Vec<&TransportReport>, Vec<&TransportReport>) =
        report.transports.iter().partition(|t| is_push(t));
    out.push_str(&transport_table(&round_trips));
    if !pushed.is_empty() {
        let _ = writeln!(
            out,
            "push: the server's events, one way (creation → arrival), one a tick ({} ms)",
            plan.tick_ms
        );
        out.push_str(&transport_table(&pushed));
    }
    out.push('\n');
    for c in &report.comparisons {
        let _ = writeln!(out, "• {}; {}", c.verdict, c.details);
    }
    for t in &report.transports {
        if let Some(n) = &t.normal {
            let _ = write!(
                out,
                "• normal fit of {} ({}): μ = {}, σ = {}; {}",
                t.transport,
                t.client.name(),
                format_us(n.mu_us),
                format_us(n.sigma_us),
                n.verdict
            );
            if let Some(i) = &n.interval {
                let _ = write!(
                    out,
                    "; P({} ≤ X ≤ {}) = {:.3} (observed {:.3})",
                    format_us(i.a_us),
                    format_us(i.b_us),
                    i.normal,
                    i.observed
                );
            }
            out.push('\n');
        }
    }
    if let Some(link) = &report.link {
        let _ = writeln!(out, "\nover the link {}: model vs measured", link.link.describe());
        let mut table =
            Table::new(&["transport", "model", "median", "ratio", "model"], 1).align(4, Align::Left);
        for row in &link.rows {
            table.row([
                format!("{} ({})", row.transport, row.client.name()),
                format_us(row.model_us),
                format_us(row.median_us),
                format!("{:.2}×", row.ratio),
                row.model.clone(),
            ]);
        }
        out.push_str(&table.render());
        out.push('\n');
    }
    if let Some(uplink) = &report.uplink {
        for note in &uplink.notes {
            let _ = writeln!(out, "uplink: {note}");
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if let Some(energy) = &report.energy {
        energy_text(&mut out, energy);
    }
    if let Some(f) = files {
        let _ = writeln!(out, "\nreport: {}", f.samples.display());
        for path in [&f.summary, &f.comparisons, &f.power, &f.energy, &f.run, &f.bundle] {
            let _ = writeln!(out, "        {}", path.display());
        }
    }
    out
}

/// A cost per message in its natural unit: CPU in CPU-seconds per 1,000 messages, energy in µJ.
fn energy_text(out: &mut String, energy: &EnergyReport) {
    let baseline = energy
        .baseline_s
        .map_or_else(|| "no idle baseline".into(), |s| format!("idle baseline of {s:.1} s subtracted"));
    let _ = writeln!(out, "\nCPU and energy per message ({baseline}):");
    for s in &energy.sensors {
        let _ = writeln!(out, "  {:<8} {}", s.sensor, s.describe());
    }
    let mut table = Table::new(
        &[
            "transport",
            "client",
            "time",
            "msgs",
            "CPU-s/1k (process)",
            "CPU-s/1k (system)",
            "RAPL µJ/msg",
            "battery µJ/msg",
            "drain %/h",
        ],
        2,
    );
    for t in &energy.transports {
        let cell = |q: Quantity| t.cost(q).map_or_else(|| "-".into(), |c| c.text.clone());
        table.row([
            t.transport.name().to_owned(),
            t.client.name().to_owned(),
            format!("{:.1}s", t.seconds),
            t.messages.to_string(),
            cell(Quantity::ProcessCpu),
            cell(Quantity::SystemCpu),
            cell(Quantity::Rapl),
            cell(Quantity::Battery),
            t.battery_drain_pct_per_h.map_or_else(|| "-".into(), |d| format!("{d:.2}")),
        ]);
    }
    out.push_str(&table.render());
    let _ = writeln!(
        out,
        "  (process: CPU time of this Duplex process, clients and server, per 1,000 messages above its own idle;\n   \
         system: busy time of every core of the machine above the machine's idle: other programs' load changes\n   \
         it too, and it is sampled more coarsely, so it can read less than the process alone; RAPL and battery:\n   \
         energy per message above idle, where the machine has those sensors)"
    );
    for c in &energy.comparisons {
        let _ = writeln!(out, "• {} ({})", c.verdict, c.client.name());
    }
    for note in &energy.notes {
        let _ = writeln!(out, "note: {note}");
    }
}

/// The transports' table: a row per transport and kind of client.
fn transport_table(transports: &[&TransportReport]) -> String {
    let mut table = Table::new(
        &[
            "transport",
            "client",
            "count",
            "err",
            "p50",
            "p90",
            "p99",
            "mean",
            "95% CI",
            "σ",
            "per ms",
            "B/msg",
        ],
        2,
    );
    for t in transports {
        let s = &t.overall;
        table.row([
            t.transport.name().to_owned(),
            t.client.name().to_owned(),
            s.count.to_string(),
            // Lost datagrams are errors of their own kind: loss, not failure.
            if s.lost > 0 { format!("{} ({} lost)", s.errors, s.lost) } else { s.errors.to_string() },
            s.words.p50.clone(),
            s.words.p90.clone(),
            s.words.p99.clone(),
            s.words.mean.clone(),
            s.words.ci.clone(),
            s.words.sd.clone(),
            s.per_ms.map_or_else(|| "-".into(), |v| format!("{v:.2}")),
            format!("{:.0}", s.bytes_out_per_msg + s.bytes_in_per_msg),
        ]);
    }
    table.render()
}
