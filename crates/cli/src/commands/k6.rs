//! `duplex k6 export`: a plan as a k6 script, for load from one k6 process or many (execution
//! segments, the k6-operator). Their JSON outputs come back with `duplex import --k6`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::commands::bench::BenchArgs;
use crate::out;

#[derive(Debug, Args)]
pub struct K6Args {
    #[command(subcommand)]
    pub command: K6Command,
}

#[derive(Debug, Subcommand)]
pub enum K6Command {
    /// Write a k6 script that runs a bench plan (ws and http echoes) against a Duplex server.
    Export(Box<K6ExportArgs>),
}

#[derive(Debug, Args)]
pub struct K6ExportArgs {
    /// The script to write.
    #[arg(short, long, value_name = "FILE", default_value = "duplex-k6.js")]
    pub output: PathBuf,
    /// The plan, as for `duplex bench` (--target names the server; 127.0.0.1:9000, the default
    /// of `duplex serve`, without it). Transports other than ws and http are refused.
    #[command(flatten)]
    pub bench: BenchArgs,
}

pub fn run(args: K6Args) -> anyhow::Result<ExitCode> {
    let K6Command::Export(args) = args.command;
    let K6ExportArgs { output, mut bench } = *args;
    // Without --transports: the plan's transports a k6 script can measure.
    if bench.transports.is_none() {
        let preset = duplex_core::plan::Plan::preset(&bench.preset)?;
        bench.transports = Some(
            preset
                .transports
                .into_iter()
                .filter(|t| t.runs_on(duplex_core::record::ClientKind::K6))
                .collect(),
        );
    }
    let plan = bench.plan()?;
    let given = bench.target.as_deref().unwrap_or("127.0.0.1:9000");
    let target = host_port(given)?;
    let script = duplex_core::k6::script(&plan, &target)?;
    std::fs::write(&output, script).with_context(|| format!("writing {}", output.display()))?;
    // The access token stays out of the script (a file people pass around): k6 is given it.
    let token = if given.contains("token=") { "-e DUPLEX_TOKEN=<the token of --target> " } else { "" };
    out(&format!(
        "k6 script: {} ({} against {target})\nrun it:    k6 run {token}--out json=duplex-k6.json {0}\nread it:   duplex import --k6 duplex-k6.json\n",
        output.display(),
        plan.shape()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `host:port` of a server given as a URL (`http://h:9000`, `ws://h:9000/…`) or as `host:port`.
fn host_port(target: &str) -> anyhow::Result<String> {
    let rest = target.split_once("://").map_or(target, |(_, rest)| rest);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    anyhow::ensure!(
        !host.is_empty() && host.contains(':'),
        "--target {target:?}: give the server as HOST:PORT or http://HOST:PORT"
    );
    anyhow::ensure!(
        !target.starts_with("https") && !target.starts_with("wss"),
        "--target {target:?}: the k6 script measures plain ws and http (k6 would need the certificate)"
    );
    Ok(host.to_owned())
}
