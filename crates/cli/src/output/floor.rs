//! `duplex bench --floor`: raw TCP, stock echoes and Duplex's own path, and their ratios.

use duplex_core::floor::FloorReport;
use schemars::JsonSchema;
use serde::Serialize;

use super::Document;
use super::table::{Align, Table};

#[derive(Debug, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Floor(pub FloorReport);

impl Document for Floor {
    const NAME: &'static str = "floor";

    fn text(&self) -> String {
        use std::fmt::Write as _;
        let report = &self.0;
        let pinned_to = match (&report.pinning.core, &report.pinning.unavailable) {
            (Some(core), _) => format!("pinned: client and server threads on core {core}"),
            (None, why) => format!("pinned: unavailable ({})", why.as_deref().unwrap_or("unknown")),
        };
        let mut out = format!(
            "floor benchmark: {}-byte JSON messages, {} calls each (p50 is what the ratios use)\n\n",
            report.message_bytes, report.calls
        );
        let mut rows =
            Table::new(&["topology", "echo", "p50 µs", "p99 µs", "mean µs", "pinned p50", "pinned p99"], 2);
        for r in report.rows.iter().filter(|r| !r.pinned) {
            let pinned =
                report.rows.iter().find(|p| p.pinned && p.topology == r.topology && p.name == r.name);
            let (p50, p99) = pinned.map_or(("-".to_owned(), "-".to_owned()), |p| {
                (format!("{:.1}", p.p50_us), format!("{:.1}", p.p99_us))
            });
            rows.row([
                r.topology.name().to_owned(),
                r.name.to_owned(),
                format!("{:.1}", r.p50_us),
                format!("{:.1}", r.p99_us),
                format!("{:.1}", r.mean_us),
                p50,
                p99,
            ]);
        }
        out.push_str(&rows.render());
        let _ = writeln!(out, "({pinned_to})\n");
        let from = if report.ratios.iter().any(|r| r.pinned) { "pinned" } else { "unpinned" };
        let _ = writeln!(out, "ratios of the {from} p50s:");
        let mut ratios =
            Table::new(&["topology", "ratio of", "value", "aim", "verdict"], 2).align(4, Align::Left);
        for r in &report.ratios {
            let mark = if r.value <= r.aim { "ok" } else { "over aim" };
            ratios.row([
                r.topology.name().to_owned(),
                r.what.to_owned(),
                format!("{:.2}x", r.value),
                format!("≤ {:.2}x", r.aim),
                mark.to_owned(),
            ]);
        }
        out.push_str(&ratios.render());
        let _ = writeln!(out, "\nduplex ws + http run on one thread took {:.2} s", self.0.duplex_run_seconds);
        if let Some(relay) = &self.0.relay {
            let mark = if relay.added_p50_us < 20.0 { "ok" } else { "over aim" };
            let cpu = relay
                .added_cpu_us_per_message
                .map_or_else(|| "CPU unknown".to_owned(), |c| format!("{c:.1} µs more CPU per round trip"));
            let _ = writeln!(
                out,
                "link relay at RTT 0: +{:.1} µs per ws round trip (aim < 20 µs: {mark}), {cpu} ({} round trips)",
                relay.added_p50_us, relay.messages
            );
        }
        let t = &self.0.throughput;
        let mark = if t.ratio >= 1.0 { "ok" } else { "under aim" };
        let _ = writeln!(
            out,
            "server throughput, {} WebSockets back to back for {} s, server on its own thread: duplex {:.0} echoes/s, \
             stock tokio-tungstenite {:.0}/s: {:.2}× (aim ≥ 1.0: {mark})",
            t.connections, t.seconds, t.duplex_per_s, t.stock_per_s, t.ratio
        );
        out
    }
}
