//! `duplex k6 export`: a plan as a k6 script, for load from one k6 process or many (execution
//! segments, the k6-operator). Their JSON outputs come back with `duplex import --k6`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::commands::bench::BenchArgs;
use crate::commands::fanout::FanoutPlanArgs;
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
    /// Write a k6 script that holds a fan-out's subscribers (ws-push, long-poll) of a `duplex
    /// serve`, each of its ticks a broadcast.
    Fanout(Box<K6FanoutArgs>),
}

#[derive(Debug, Args)]
pub struct K6FanoutArgs {
    /// The script to write.
    #[arg(short, long, value_name = "FILE", default_value = "duplex-k6-fanout.js")]
    pub output: PathBuf,
    #[command(flatten)]
    pub plan: FanoutPlanArgs,
    /// The server, HOST:PORT or http://HOST:PORT.
    #[arg(long, value_name = "URL", default_value = "127.0.0.1:9000")]
    pub target: String,
    /// The server's tick, ms: `duplex serve --tick-ms` (the script checks it before it starts).
    #[arg(long, default_value_t = 1000)]
    pub tick_ms: u64,
    /// Subscribers held by one k6 virtual user (each its own socket or long-poll).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub per_vu: u32,
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
    match args.command {
        K6Command::Export(args) => export(*args),
        K6Command::Fanout(args) => fanout(*args),
    }
}

fn fanout(args: K6FanoutArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan.plan(&duplex_core::k6::K6_PUSH_TRANSPORTS)?;
    let target = host_port(&args.target)?;
    let script = duplex_core::k6::fanout_script(&plan, args.tick_ms, args.per_vu, &target)?;
    let output = &args.output;
    std::fs::write(output, script).with_context(|| format!("writing {}", output.display()))?;
    let room = u64::from(plan.largest()) + 500;
    let token = if args.target.contains("token=") { "-e DUPLEX_TOKEN=<the token of --target> " } else { "" };
    out(&format!(
        "k6 script: {} ({} broadcasts to {} subscribers by {} against {target})
         the server: duplex serve --tick-ms {} --max-connections {room} --max-connections-per-peer {room} --max-long-polls {room}
         run it:     k6 run {token}--out json=fanout.json {0}
         read it:    duplex import --k6 fanout.json
",
        output.display(),
        plan.broadcasts,
        plan.subscribers.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        plan.transports.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
        args.tick_ms,
    ));
    Ok(ExitCode::SUCCESS)
}

fn export(args: K6ExportArgs) -> anyhow::Result<ExitCode> {
    let K6ExportArgs { output, mut bench } = args;
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
