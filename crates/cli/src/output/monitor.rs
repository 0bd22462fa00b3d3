//! `duplex monitor`: a watching session's summary, push against poll.

use std::fmt::Write as _;

use duplex_core::monitor::SessionSummary;
use schemars::JsonSchema;
use serde::Serialize;

use super::table::Table;
use super::{Document, bytes, ms};

#[derive(Debug, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Monitor(pub SessionSummary);

impl Document for Monitor {
    const NAME: &'static str = "monitor";

    fn text(&self) -> String {
        summary_text(&self.0)
    }
}

fn summary_text(s: &SessionSummary) -> String {
    let mut out = format!("\nsession of {:.1} s\n", s.duration_s);
    let mut table = Table::new(
        &[
            "feed",
            "msgs",
            "snaps",
            "missed",
            "stale p50",
            "p95",
            "max",
            "mean age",
            "bytes/s",
            "msgs/s",
            "B/snapshot",
            "cpu ms/s",
        ],
        1,
    );
    for f in &s.feeds {
        let st = f.staleness_ms.as_ref();
        let q = |v: Option<f64>| v.map_or("—".into(), ms);
        table.row([
            f.feed.name().to_owned(),
            f.messages.to_string(),
            f.snapshots.to_string(),
            f.missed.to_string(),
            q(st.map(|s| s.p50)),
            q(st.map(|s| s.p95)),
            q(st.map(|s| s.max)),
            q(f.mean_age_ms),
            bytes(f.bytes_per_s),
            format!("{:.2}", f.messages_per_s),
            f.bytes_per_snapshot.map_or("—".into(), bytes),
            format!("{:.3}", f.handler_ms_per_s),
        ]);
    }
    out.push_str(&table.render());
    if let Some(verdict) = &s.verdict {
        let _ = writeln!(out, "\n{verdict}");
    }
    for note in &s.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
