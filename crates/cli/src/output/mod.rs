//! What the command line prints: one document per command, in words for people or as JSON for
//! programs ([`Mode`], as oha's `PrintMode`). Every JSON document has a JSON Schema, committed in
//! `crates/cli/schemas/` and printed by `duplex schema NAME`; the tests check each command's
//! output against it.

mod bench;
mod compare;
mod fanout;
mod floor;
mod history;
mod monitor;
mod soak;
mod table;
mod units;

use schemars::JsonSchema;
use serde::Serialize;

pub use bench::Bench;
pub use compare::Compare;
pub use fanout::Fanout;
pub use floor::Floor;
pub use history::HistoryList;
pub use monitor::Monitor;
pub use soak::Soak;
pub use table::Table;
pub use units::{bytes, gib, mib, ms};

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Text,
    Json,
}

impl Mode {
    pub fn json(json: bool) -> Mode {
        if json { Mode::Json } else { Mode::Text }
    }
}

/// A command's result.
pub trait Document: Serialize + JsonSchema {
    /// Its name in `duplex schema NAME` and `crates/cli/schemas/NAME.schema.json`.
    const NAME: &'static str;
    /// In words, for a terminal.
    fn text(&self) -> String;
}

/// Prints `doc` on standard output.
pub fn emit<D: Document>(mode: Mode, doc: &D) -> anyhow::Result<()> {
    match mode {
        Mode::Text => crate::out(&doc.text()),
        Mode::Json => crate::out(&format!("{}\n", serde_json::to_string_pretty(doc)?)),
    }
    Ok(())
}

/// The documents that have a JSON form, by name.
pub const DOCUMENTS: [&str; 7] =
    [Bench::NAME, Compare::NAME, Fanout::NAME, Floor::NAME, HistoryList::NAME, Monitor::NAME, Soak::NAME];

/// The JSON Schema of a document, by name.
pub fn schema(name: &str) -> Option<serde_json::Value> {
    let schema = match name {
        Bench::NAME => schemars::schema_for!(Bench),
        Compare::NAME => schemars::schema_for!(Compare),
        Fanout::NAME => schemars::schema_for!(Fanout),
        Floor::NAME => schemars::schema_for!(Floor),
        HistoryList::NAME => schemars::schema_for!(HistoryList),
        Monitor::NAME => schemars::schema_for!(Monitor),
        Soak::NAME => schemars::schema_for!(Soak),
        _ => return None,
    };
    serde_json::to_value(schema).ok()
}
