//! `duplex bench --sweep rtt=0,10,50,100,200ms` (or `payload=1k,16k,64k`): the plan once per
//! value of one link setting or of the payload, each run stored like any other, then every
//! transport's median against the setting beside the link's model, as a table and as
//! `sweep-RUN.csv`.

use std::process::ExitCode;

use anyhow::Context;
use duplex_core::record::{RunRecord, RunStatus};
use duplex_core::session::{RunSession, Update};
use duplex_core::stats::sweep::sweep_report;
use duplex_core::stats::{AnalysisOptions, Report};
use duplex_core::sweep::Sweep;

use crate::commands::bench::BenchArgs;
use crate::commands::history::open_history;
use crate::output::Table;
use crate::progress::Progress;
use crate::{err, out};

pub async fn run(args: &BenchArgs, spec: &str) -> anyhow::Result<ExitCode> {
    let checked = args.plan()?;
    let target = args.target(&checked)?;
    let plan = checked.into_plan();
    // Every point's plan is checked before the first runs, and an HTML report asked for by
    // name can be written.
    let sweep = Sweep::new(&plan, spec)?;
    if args.html.is_some() {
        duplex_core::export::html::available().context("--html")?;
    }
    let cancel = crate::cancel_on_ctrl_c();
    let mut runs: Vec<(RunRecord, Report)> = Vec::new();
    let mut ran: Vec<RunStatus> = Vec::new();
    while let Some(next) = sweep.next(&ran, cancel.is_cancelled()) {
        let plan = next.step.plan.check()?;
        let over = plan.link.as_ref().map(|l| format!(": {}", l.describe())).unwrap_or_default();
        err(&format!("{}{over}\n", next.title));
        let history = if args.no_history { None } else { open_history(&args.history).ok() };
        let total = plan.total_calls();
        let mut session = RunSession::new(plan, &target, duplex_core::power::default_sensors(), history);
        let mut bar = Progress::new(total, false);
        let measured = session
            .run_native(target.clone(), cancel.clone(), |update| {
                if let Update::Progress { transport, set, sets, done, .. } = update {
                    bar.update(done, format!("{transport} set {set}/{sets}"));
                }
            })
            .await;
        bar.finish();
        measured?;
        let finished = session.finish(&AnalysisOptions { interval_us: args.normal_interval() });
        if let Some(e) =
            finished.record.error.as_deref().filter(|_| finished.record.status == RunStatus::Failed)
        {
            err(&format!("duplex: sweep point {} failed: {e}\n", next.step.label));
        }
        ran.push(finished.record.status);
        runs.push((finished.record, finished.report));
    }
    out(&table(&runs));
    if !args.no_csv && !runs.is_empty() {
        std::fs::create_dir_all(&args.csv).with_context(|| format!("creating {}", args.csv.display()))?;
        let path = args.csv.join(format!("sweep-{}.csv", runs[0].0.id));
        let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        duplex_core::export::csv::write_sweep(file, &runs).context("writing the sweep CSV")?;
        out(&format!("\nsweep report: {}\n", path.display()));
    }
    let picture = args.html.clone().or_else(|| {
        (!args.no_csv && !runs.is_empty()).then(|| args.csv.join(format!("sweep-{}.html", runs[0].0.id)))
    });
    if let (Some(path), Some(view)) = (picture, duplex_core::export::html::sweep_view(&runs)) {
        match duplex_core::export::html::write_html(&path, &view) {
            Ok(()) => out(&format!("sweep picture: {}\n", path.display())),
            // Asked for by name, it must be written; beside the CSV, a build without the page
            // says how to get it.
            Err(e) if args.html.is_some() => return Err(e).context("writing the sweep's HTML report"),
            Err(e) => err(&format!("duplex: no sweep picture: {e}\n")),
        }
    }
    Ok(if !sweep.finished(&ran) {
        if cancel.is_cancelled() { ExitCode::from(130) } else { ExitCode::FAILURE }
    } else {
        ExitCode::SUCCESS
    })
}

/// Medians per transport (rows) and link value (columns), the model beside each.
fn table(runs: &[(RunRecord, Report)]) -> String {
    let sweep = sweep_report(runs);
    let mut text = match (sweep.setting.as_str(), runs.first().and_then(|(r, _)| r.plan.link.as_ref())) {
        ("payload", Some(link)) => {
            format!("\nmedian (link's model) per transport and payload, over {}\n", link.describe())
        }
        ("payload", None) => "\nmedian per transport and payload\n".to_owned(),
        _ => "\nmedian (link's model) per transport and link\n".to_owned(),
    };
    let heads: Vec<&str> =
        std::iter::once("transport").chain(sweep.points.iter().map(|p| p.link.as_str())).collect();
    let mut table = Table::new(&heads, 1);
    for line in &sweep.lines {
        let cells = line.median_text.iter().zip(&line.model_text).map(|(median, model)| match model {
            Some(model) => format!("{median} ({model})"),
            None => median.clone(),
        });
        table.row(std::iter::once(format!("{} ({})", line.transport, line.client.name())).chain(cells));
    }
    text.push_str(&table.render());
    text
}
