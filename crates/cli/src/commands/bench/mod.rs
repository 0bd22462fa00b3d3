//! `duplex bench`: its options, turned into the engine's plan and target once, and the run
//! they make: printed, stored and written as CSV, with thresholds checked (`--floor`: the floor).

mod options;

pub use options::BenchArgs;

use std::process::ExitCode;

use anyhow::Context;
use duplex_core::clients::Transport;
use duplex_core::record::RunStatus;
use duplex_core::session::{RunSession, Update};
use duplex_core::stats::AnalysisOptions;
use duplex_core::stats::thresholds::Threshold;

use crate::commands::history::open_history;
use crate::output::{self, Mode};
use crate::progress::Progress;
use crate::{cancel_on_ctrl_c, duration_words, err, words};

/// Exit status of a run that measured everything but missed a threshold (as k6's).
pub const THRESHOLD_FAILED: u8 = 99;

/// Over a slow link a plan made for loopback takes hours: how long, said before it starts, and
/// how to take a quicker look.
pub fn say_how_long_over_the_link(plan: &duplex_core::plan::CheckedPlan) {
    let Some(seconds) = plan.seconds_over_link().filter(|s| *s > 120.0) else { return };
    let link = plan.link.as_ref().map_or_else(String::new, |l| l.name.clone());
    let quick = duplex_core::plan::Plan { sets: 1, calls: 20, warmup: 1, ..(**plan).clone() };
    let quick_s = quick.seconds_over_link().unwrap_or(0.0);
    err(&format!(
        "duplex: over {link} this plan takes about {} ({} calls and their warm-up): for a quicker look, \
         -s 1 -n 20 --warmup 1 takes about {}\n",
        duration_words(seconds),
        plan.total_calls(),
        duration_words(quick_s)
    ));
}

/// Parses the --assert expressions and checks that the plan measures what they read, before
/// the run.
pub fn thresholds(args: &BenchArgs, plan: &duplex_core::plan::CheckedPlan) -> anyhow::Result<Vec<Threshold>> {
    args.thresholds
        .iter()
        .map(|text| {
            let threshold = Threshold::parse(text)?;
            for o in threshold.operands() {
                if o.client == duplex_core::record::ClientKind::Webview {
                    anyhow::bail!(
                        "--assert {text:?}: the command line has no web view (native clients only)"
                    );
                }
                if !o.transport.runs_on(duplex_core::record::ClientKind::Native) {
                    anyhow::bail!(
                        "--assert {text:?}: {} is measured by web clients only (the app's web view, or a \
                         browser that joins duplex serve --lan); the command line's clients cannot",
                        o.transport
                    );
                }
                if !plan.transports.contains(&o.transport) {
                    anyhow::bail!(
                        "--assert {text:?}: the plan does not measure {} (add it with -t)",
                        o.transport
                    );
                }
            }
            Ok(threshold)
        })
        .collect()
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan()?;
    let target = args.target(&plan)?;
    let thresholds = thresholds(&args, &plan)?;
    let total = plan.total_calls();
    if args.html.is_some() {
        // Asked for by name: a build that cannot write it says so before measuring anything.
        duplex_core::export::html::available().context("--html")?;
    }
    say_how_long_over_the_link(&plan);
    // The run goes into the history as it is measured: a crash keeps what was written.
    let history = if args.no_history {
        None
    } else {
        open_history(&args.history)
            .map_err(|e| {
                let kept = if args.no_csv {
                    "only what this command prints will be kept".to_owned()
                } else {
                    format!("its CSV report is still written to {}", args.csv.display())
                };
                err(&format!(
                    "duplex: warning: the run will not be stored in the history ({kept}): {}\n",
                    words(&e)
                ))
            })
            .ok()
    };
    let mut session = RunSession::new(plan, &target, duplex_core::power::default_sensors(), history);
    let cancel = cancel_on_ctrl_c();
    let mut bar = Progress::new(total, args.json);
    // The latest median of each transport so far, in the order they first ran.
    let mut p50s: Vec<(Transport, f64)> = Vec::new();
    let mut said_cancelling = false;
    let mut say_cancelling = |bar: &Progress| {
        if cancel.is_cancelled() && !said_cancelling {
            said_cancelling = true;
            bar.say("cancelling: finishing the calls in flight, keeping what was measured");
        }
    };
    let measured = session
        .run_native(target, cancel.clone(), |update| {
            say_cancelling(&bar);
            match update {
                Update::Started { server, topology, .. } => {
                    bar.say(&format!("measuring against {server} ({})", topology.name()));
                }
                Update::Baseline { duration_ms } => {
                    bar.status(format!(
                        "idle baseline for power: {:.1} s without traffic",
                        duration_ms as f64 / 1e3
                    ));
                }
                Update::Progress { transport, set, sets, done, p50_us, .. } => {
                    if let Some(us) = p50_us {
                        match p50s.iter_mut().find(|(t, _)| *t == transport) {
                            Some(entry) => entry.1 = us,
                            None => p50s.push((transport, us)),
                        }
                    }
                    let medians: Vec<String> = p50s
                        .iter()
                        .map(|(t, us)| format!("{t} p50 {}", duplex_core::stats::format_us(*us)))
                        .collect();
                    bar.update(done, format!("{transport} set {set}/{sets} | {}", medians.join(", ")));
                }
            }
        })
        .await;
    say_cancelling(&bar);
    bar.finish();
    measured?;

    let finished = session.finish(&AnalysisOptions { interval_us: args.normal_interval() });
    if let Some(problem) = &finished.write_problem {
        err(&format!("duplex: warning: samples were not written to the history during the run: {problem}\n"));
    }
    match &finished.saved {
        Some(Ok(())) => tracing::info!("stored run {} in the history", finished.record.id),
        Some(Err(e)) => err(&format!("duplex: warning: the run was not stored in the history: {e}\n")),
        None => {}
    }
    let (record, report) = (&finished.record, &finished.report);
    let files = if args.no_csv {
        None
    } else {
        Some(duplex_core::export::write_report(&args.csv, record, report).context("writing the CSV report")?)
    };
    let html = match &args.html {
        Some(path) => {
            let view = duplex_core::export::html::view_of(record.clone(), report.clone());
            duplex_core::export::html::write_html(path, &view).context("writing the HTML report")?;
            Some(path.clone())
        }
        None => None,
    };
    output::emit(Mode::json(args.json), &output::Bench::new(record, report, files, html))?;
    // Thresholds go to stderr (stdout may be JSON), one line each, as CI logs show them.
    let outcomes: Vec<_> = thresholds.iter().map(|t| t.check(report)).collect();
    for outcome in &outcomes {
        err(&format!("{outcome}\n"));
    }
    let missed = outcomes.iter().filter(|o| !o.passed).count();
    if missed > 0 && record.status == RunStatus::Complete {
        err(&format!("duplex: {missed} of {} threshold(s) failed\n", outcomes.len()));
        return Ok(ExitCode::from(THRESHOLD_FAILED));
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

pub async fn floor(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan()?;
    let report = tokio::task::spawn_blocking(move || duplex_core::floor::measure(&plan)).await??;
    output::emit(Mode::json(args.json), &output::Floor(report))?;
    Ok(ExitCode::SUCCESS)
}
