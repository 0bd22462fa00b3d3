//! `duplex history`: the runs kept, newest first.

use duplex_core::storage::RunListItem;
use schemars::JsonSchema;
use serde::Serialize;

use super::Document;
use super::table::{Align, Table};

#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryList {
    /// The history database.
    pub history: String,
    pub runs: Vec<RunListItem>,
}

impl Document for HistoryList {
    const NAME: &'static str = "history";

    fn text(&self) -> String {
        history(&self.runs)
    }
}

/// A Unix-nanosecond instant as local date and time, "2026-12-01 17:40".
fn local_time(unix_ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(unix_ns)).map_or_else(
        |_| "?".into(),
        |t| t.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M").to_string(),
    )
}

fn history(runs: &[RunListItem]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        out.push_str("no runs in the history yet: run `duplex bench`\n");
        return out;
    }
    let mut table =
        Table::new(&["run", "started", "status", "plan", "calls", "transports", "platform", "result"], 4);
    for i in 5..8 {
        table = table.align(i, Align::Left);
    }
    for r in runs {
        table.row([
            r.id.chars().take(8).collect::<String>(),
            local_time(r.started_at_unix_ns),
            r.status.name().to_owned(),
            r.plan_name.clone().unwrap_or_else(|| "custom".to_owned()),
            r.samples.to_string(),
            r.transports.join(","),
            r.platform.clone(),
            r.headline.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&table.render());
    out
}
