//! `duplex history`: the runs kept, newest first.

use std::fmt::Write as _;

use duplex_core::storage::RunListItem;
use schemars::JsonSchema;
use serde::Serialize;

use super::Document;

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

fn history(runs: &[RunListItem]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        out.push_str("no runs in the history yet: run `duplex bench`\n");
    }
    for r in runs {
        let _ = writeln!(
            out,
            "{}  {:<9}  {:<8}  {:<32}  {}",
            r.id.chars().take(8).collect::<String>(),
            format!("{:?}", r.status).to_lowercase(),
            r.plan_name.as_deref().unwrap_or("custom"),
            r.platform,
            r.headline.as_deref().unwrap_or("")
        );
    }
    out
}
