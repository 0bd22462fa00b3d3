//! `duplex`: WebSocket vs AJAX from a terminal. `bench` runs a comparison and writes a CSV
//! report; `serve` runs the echo server alone for clients on other machines.

mod args;
mod printer;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use duplex_core::record::RunStatus;
use duplex_core::runner::{RunEvent, spawn_run};
use duplex_core::server::{Server, ServerConfig};
use duplex_core::stats::{AnalysisOptions, analyze, live::LiveByTransport};
use indicatif::{ProgressBar, ProgressStyle};

use args::{BenchArgs, Cli, Command, ServeArgs};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DUPLEX_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Bench(args) if args.floor => floor(&args).await,
            Command::Bench(args) => bench(*args).await,
            Command::Serve(args) => serve(args).await,
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

fn err(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn fail(e: anyhow::Error) -> ExitCode {
    err(&format!("duplex: error: {e:#}\n"));
    ExitCode::FAILURE
}

async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan()?;
    let total = plan.total_calls();
    let handle = spawn_run(plan, args.target())?;
    let (mut events, cancel, result) = handle.into_parts();

    let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(total) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut live = LiveByTransport::default();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(RunEvent::Started { server, topology, .. }) => {
                    bar.println(format!("measuring against {server} ({})", topology.name()));
                }
                Some(RunEvent::Samples(batch)) => live.record(&batch),
                Some(RunEvent::Baseline { duration_ms }) => {
                    bar.set_message(format!("idle baseline for power: {:.1} s without traffic", duration_ms as f64 / 1e3));
                }
                Some(RunEvent::Progress(p)) => {
                    bar.set_position(p.done);
                    let p50s: Vec<String> = live
                        .p50s_us()
                        .map(|(t, us)| format!("{t} p50 {}", duplex_core::stats::format_us(us)))
                        .collect();
                    bar.set_message(format!("{} set {}/{} | {}", p.transport, p.set, p.sets, p50s.join(", ")));
                }
                None => break,
            },
            _ = &mut ctrl_c => {
                bar.println("cancelling: finishing the calls in flight, keeping what was measured");
                cancel.cancel();
            }
        }
    }
    bar.finish_and_clear();
    let record = result.await;

    let options = AnalysisOptions { interval_us: args.normal_interval() };
    let report = analyze(&record, &options);
    let files = if args.no_csv {
        None
    } else {
        Some(
            duplex_core::export::write_report(&args.csv, &record, &report)
                .context("writing the CSV report")?,
        )
    };
    if args.json {
        out(&format!("{}\n", printer::json(&record, &report, files.as_ref())));
    } else {
        out(&printer::text(&record, &report, files.as_ref()));
    }
    Ok(match record.status {
        RunStatus::Complete => ExitCode::SUCCESS,
        RunStatus::Cancelled => ExitCode::from(130),
        RunStatus::Failed => {
            err(&format!("duplex: error: {}\n", record.error.as_deref().unwrap_or("run failed")));
            ExitCode::FAILURE
        }
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig {
        bind: args.bind,
        tick_interval: Duration::from_millis(args.tick_ms.max(1)),
        max_message_bytes: args.max_message,
        ..ServerConfig::default()
    };
    let server = Server::start(config).await?;
    let addr = server.local_addr();
    out(&format!(
        "duplex echo server on {addr}\n  WebSocket echo  ws://{addr}/ws      push ws://{addr}/ws/push\n  \
         AJAX echo       http://{addr}/echo  events http://{addr}/events/latest | /events/next\n  \
         measure from another machine: duplex bench --target ws://<this host>:{}\n",
        addr.port()
    ));
    let token = server.shutdown_token();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        token.cancel();
    });
    server.wait().await?;
    Ok(ExitCode::SUCCESS)
}

async fn floor(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan()?;
    let report = tokio::task::spawn_blocking(move || duplex_core::floor::measure(&plan)).await??;
    if args.json {
        out(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        out(&report.to_text());
    }
    Ok(ExitCode::SUCCESS)
}
