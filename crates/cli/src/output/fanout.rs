//! `duplex fanout`: per transport and subscriber count, how one event spreads over the
//! subscribers, what it costs the server and the wire.

use std::fmt::Write as _;
use std::path::PathBuf;

use duplex_core::fanout::FanoutReport;
use schemars::JsonSchema;
use serde::Serialize;

use super::Document;
use super::table::Table;

#[derive(Debug, Serialize, JsonSchema)]
pub struct Fanout {
    #[serde(flatten)]
    pub report: FanoutReport,
    /// The CSV report written, if any.
    pub csv: Option<PathBuf>,
}

impl Document for Fanout {
    const NAME: &'static str = "fanout";

    fn text(&self) -> String {
        let r = &self.report;
        let mut s = format!(
            "\npush fan-out against {} ({}), {} broadcasts per row\n",
            r.server,
            if r.embedded { "embedded server on its own thread" } else { "a server elsewhere" },
            r.plan.broadcasts
        );
        let mut table = Table::new(
            &[
                "transport",
                "subscribers",
                "delivered",
                "missed",
                "p50",
                "p99",
                "last",
                "server CPU",
                "per event",
                "over floor",
                "bytes/ev",
                "connect",
            ],
            1,
        );
        let mut errors = String::new();
        for c in &r.cells {
            table.row([
                c.transport.name().to_owned(),
                c.subscribers.to_string(),
                c.delivered.to_string(),
                if c.words.loss.is_empty() { c.missed.to_string() } else { format!("{} lost", c.missed) },
                c.words.p50.clone(),
                c.words.p99.clone(),
                c.words.last.clone(),
                c.words.server_cpu.clone(),
                c.words.server_cpu_per_delivery.clone(),
                c.words.over_floor.clone(),
                c.words.bytes_per_event.clone(),
                format!("{:.1}s", c.connect_s),
            ]);
            for (kind, (n, first)) in &c.errors {
                let _ =
                    writeln!(errors, "{} to {}: {n} × {kind}: {first}", c.transport.name(), c.subscribers);
            }
        }
        // The floor: a plain thread writing the same frame to as many sockets, in this run, each
        // with a reader waiting on it; then the same writes with nobody waiting.
        for f in &r.floor {
            for (name, per_write, over) in [
                ("floor", &f.cpu_per_write, &f.over_floor),
                ("floor, unread", &f.unread_cpu_per_write, &f.unread_over_floor),
            ] {
                table.row([
                    name.to_owned(),
                    f.subscribers.to_string(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    per_write.clone(),
                    over.clone(),
                    f.frame.clone(),
                    "-".into(),
                ]);
            }
            if let Some(e) = &f.error {
                let _ = writeln!(errors, "floor at {}: {e}", f.subscribers);
            }
        }
        s.push_str(&table.render());
        s.push_str(&errors);
        let _ = writeln!(s, "\n{}", r.headline);
        let _ =
            writeln!(s, "p50, p99: over every delivery; last: the last subscriber, median over broadcasts;");
        let _ = writeln!(s, "server CPU: per broadcast (median), and per event delivered");
        for note in &r.notes {
            let _ = writeln!(s, "note: {note}");
        }
        if let Some(csv) = &self.csv {
            let _ = writeln!(s, "\nfan-out report: {}", csv.display());
        }
        let _ = writeln!(s, "verdict: {}", r.outcome);
        s
    }
}
