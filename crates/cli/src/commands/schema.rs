//! `duplex schema`: the JSON Schema of a command's `--json` output.

use std::process::ExitCode;

use clap::Args;

use crate::out;
use crate::output::{self};

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which document: bench, compare, fanout, floor (bench --floor), history, monitor or soak.
    pub document: String,
}

pub fn schema(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = output::schema(&args.document).ok_or_else(|| {
        anyhow::anyhow!("no document {:?}: one of {}", args.document, output::DOCUMENTS.join(", "))
    })?;
    out(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
    Ok(ExitCode::SUCCESS)
}
