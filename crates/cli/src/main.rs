//! `duplex`: WebSocket vs AJAX from a terminal. `bench` runs a comparison and writes a CSV
//! report; `serve` runs the echo server alone for clients on other machines; `monitor` watches
//! a live system monitor by push and by poll side by side. It turns arguments into the engine's
//! checked plans and prints what the engine returns ([`output`]); it may use `duplex-core`
//! only, which re-exports the crates below it. Each command is a module of [`commands`].

mod cli;
mod commands;
mod options;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use cli::{Cli, Command};

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use commands::{bench, fanout, history, k6, monitor, schema, serve, soak, sweep};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DUPLEX_LOG")
                .unwrap_or_else(|_| duplex_core::QUIET_DEPENDENCIES.replace("{level}", "warn").into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Before any thread starts: the runtime's and the run's threads inherit the core.
    let pin = match &cli.command {
        Command::Bench(args) => args.pin.core(),
        Command::Serve(args) => args.pin.core(),
        _ => None,
    };
    if let Some(core) = pin {
        if let Err(e) = duplex_core::pin::pin_this_thread(core) {
            return fail(anyhow::anyhow!("--pin: {e}"));
        }
        err(&format!("pinned to core {core}: every thread of this process runs there\n"));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Bench(args) if args.floor => bench::floor(&args).await,
            Command::Bench(args) if args.sweep.is_some() => {
                let spec = args.sweep.clone().unwrap_or_default();
                sweep::run(&args, &spec).await
            }
            Command::Bench(args) => bench::bench(*args).await,
            Command::Serve(args) => serve::serve(*args).await,
            Command::Import(args) => history::import(&args),
            Command::K6(args) => k6::run(args),
            Command::History(args) => history::history(&args),
            Command::Compare(args) => history::compare(&args),
            Command::Monitor(args) => monitor::monitor(&args).await,
            Command::Soak(args) => soak::run(&args).await,
            Command::Fanout(args) => fanout::run(&args).await,
            Command::Schema(args) => schema::schema(&args),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

/// Writes to stdout without panicking when it is closed (`duplex bench | head`, a parent that
/// stopped reading): a server must keep serving, a finished run has already written its CSV.
fn out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// Writes to stderr, with any access token in the text redacted: errors name URLs, and what
/// is printed ends up in terminals' scrollback and CI logs.
fn err(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(duplex_core::redact::redact(text).as_bytes());
}

fn fail(e: anyhow::Error) -> ExitCode {
    err(&format!("duplex: error: {}\n", words(&e)));
    ExitCode::FAILURE
}

/// "45 s", "12 min", "2 h 5 min".
fn duration_words(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// An error and its causes, each said once: a cause whose words are already in the message
/// (an error that prints its source, SQLite's message and its code) is not repeated.
fn words(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// A switch that Ctrl-C turns: what was measured so far is kept.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        }
    });
    cancel
}
