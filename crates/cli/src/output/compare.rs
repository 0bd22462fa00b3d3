//! `duplex compare`: runs or platforms side by side, a column per group.

use std::fmt::Write as _;

use duplex_core::stats::platforms::PlatformComparison;
use schemars::JsonSchema;
use serde::Serialize;

use super::Document;
use super::table::{Align, Table};

#[derive(Debug, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Compare(pub PlatformComparison);

impl Document for Compare {
    const NAME: &'static str = "compare";

    fn text(&self) -> String {
        platforms(&self.0)
    }
}

fn platforms(c: &PlatformComparison) -> String {
    let mut out = String::new();
    for note in &c.notes {
        let _ = writeln!(out, "! {note}");
    }
    if !c.notes.is_empty() {
        out.push('\n');
    }
    for (i, g) in c.groups.iter().enumerate() {
        let _ = writeln!(
            out,
            "[{}] {} — {} run(s){}\n    {}\n    {}",
            i + 1,
            g.label,
            g.run_ids.len(),
            if i == 0 { " (reference)" } else { "" },
            g.conditions,
            g.clocks
        );
    }
    let mut table = Table::new(
        &[
            "transport",
            "client",
            "grp",
            "count",
            "p50",
            "p99",
            "mean ± 95% CI",
            "B/msg",
            "CPU-s/1k",
            "µJ/msg",
            "/ws p50",
            "vs [1]",
        ],
        2,
    )
    .align(11, Align::Left);
    let mut rows: Vec<_> = c.cells.iter().collect();
    rows.sort_by_key(|r| (r.client, r.transport, r.group));
    for r in rows {
        let s = &r.summary;
        let opt = |v: Option<f64>, digits: usize| v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"));
        table.row([
            r.transport.name().to_owned(),
            r.client.name().to_owned(),
            (r.group + 1).to_string(),
            s.count.to_string(),
            s.words.p50.clone(),
            s.words.p99.clone(),
            format!("{} {}", s.words.mean, s.words.ci),
            super::units::bytes(s.bytes_out_per_msg + s.bytes_in_per_msg),
            opt(r.cpu_s_per_1k, 3),
            opt(r.energy_uj_per_msg, 1),
            r.over_ws_median.map_or_else(|| "-".into(), |v| format!("{v:.2}×")),
            r.vs_reference.clone().unwrap_or_else(|| if r.group == 0 { "reference" } else { "-" }.to_owned()),
        ]);
    }
    out.push('\n');
    out.push_str(&table.render());
    out
}
