//! `duplex soak`: errors, throughput, latency and memory of many clients at once.

use std::fmt::Write as _;

use duplex_core::soak::SoakReport;
use schemars::JsonSchema;
use serde::Serialize;

use super::table::Table;
use super::{Document, mib};

#[derive(Debug, Serialize, JsonSchema)]
pub struct Soak {
    #[serde(flatten)]
    pub report: SoakReport,
    /// The server ran in this process (so its memory is in the figure).
    #[serde(skip)]
    pub embedded: bool,
}

impl Document for Soak {
    const NAME: &'static str = "soak";

    fn text(&self) -> String {
        report_text(&self.report, self.embedded)
    }
}

/// The report in words; `embedded`: the server ran in this process (so its memory is in the figure).
fn report_text(r: &SoakReport, embedded: bool) -> String {
    let mut s = format!(
        "\n{} WebSocket + {} HTTP clients, {:.1} msg/s each, {} s against {} (all connected after {:.1} s)\n",
        r.plan.ws_clients,
        r.plan.http_clients,
        r.plan.rate_per_client,
        r.plan.duration.as_secs(),
        r.server,
        r.ramp_s
    );
    let mut table =
        Table::new(&["transport", "clients", "messages", "errors", "msg/s", "p50", "p99", "p99.9", "max"], 1);
    let mut errors = String::new();
    for t in &r.transports {
        let us = duplex_core::stats::format_us;
        table.row([
            t.transport.name().to_owned(),
            t.clients.to_string(),
            t.messages.to_string(),
            t.errors.to_string(),
            format!("{:.1}", t.per_s),
            us(t.p50_us),
            us(t.p99_us),
            us(t.p999_us),
            us(t.max_us),
        ]);
        for (kind, (n, first)) in &t.error_kinds {
            let _ = writeln!(errors, "{}: {n} × {kind}: {first}", t.transport.name());
        }
    }
    s.push_str(&table.render());
    s.push_str(&errors);
    if let Some(m) = &r.memory {
        let _ = writeln!(
            s,
            "memory (this process: clients{}): {} → {} over the steady {:.0} s ({:+.1} %, {:+.2} MiB/min), max {}",
            if embedded { " and embedded server" } else { "" },
            mib(m.start_bytes),
            mib(m.end_bytes),
            r.steady_s,
            m.growth * 100.0,
            m.slope_bytes_per_min / 1048576.0,
            mib(m.max_bytes)
        );
    }
    let _ = writeln!(s, "verdict: {}", r.verdict);
    s
}
