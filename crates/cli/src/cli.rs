//! The command line: `duplex` and its commands. Each command's options live with it in
//! `commands/`; the options several share are in `options`.

use clap::{Parser, Subcommand};

use crate::commands::bench::BenchArgs;
use crate::commands::fanout::FanoutArgs;
use crate::commands::history::{CompareArgs, ImportArgs, ListArgs};
use crate::commands::k6::K6Args;
use crate::commands::monitor::MonitorArgs;
use crate::commands::schema::SchemaArgs;
use crate::commands::serve::ServeArgs;
use crate::commands::soak::SoakArgs;

#[derive(Debug, Parser)]
#[command(
    name = "duplex",
    version,
    about = "How much faster is a WebSocket than AJAX, on this device and network?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a WebSocket-vs-AJAX comparison (embedded server unless --target) and write a CSV report.
    Bench(Box<BenchArgs>),
    /// Run the Duplex echo server alone, for clients on other machines.
    Serve(Box<ServeArgs>),
    /// Add runs from other devices (bundle files) or from k6 (--k6 its JSON outputs) to the
    /// history; runs already there are kept.
    Import(ImportArgs),
    /// k6 as the distributed engine: `duplex k6 export` writes a plan as a k6 script.
    K6(K6Args),
    /// List the runs in the history.
    History(ListArgs),
    /// Runs or platforms side by side: latency, bytes, CPU and energy per message, significance.
    Compare(CompareArgs),
    /// Live system monitor, pushed by WebSocket versus polled by AJAX, side by side.
    Monitor(MonitorArgs),
    /// Load and endurance: many WebSocket and HTTP clients at once; errors, memory, p99.
    Soak(SoakArgs),
    /// Push fan-out: one server event to 100, 1,000 and 10,000 subscribers by ws-push, long-poll
    /// and SSE; latency over the subscribers, server CPU and bytes per event.
    Fanout(FanoutArgs),
    /// The JSON Schema of a command's --json output (bench, compare, fanout, floor, history,
    /// monitor, soak).
    Schema(SchemaArgs),
}
