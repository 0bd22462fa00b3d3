//! The history: `duplex history`, `duplex import` (bundles from other devices) and
//! `duplex compare` (runs or platforms side by side).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use duplex_core::export::bundle::read_bundle;
use duplex_core::record::RunRecord;
use duplex_core::stats::platforms::{CompareOptions, GroupBy, compare_platforms};
use duplex_core::storage::History;

use crate::options::HistoryArgs;
use crate::output::{self, Mode};
use crate::{err, out};

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Print where the history is kept (the database file) instead of its runs.
    #[arg(long)]
    pub path: bool,
    /// Print the runs as JSON (schema: `duplex schema history`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Bundle files (`…-bundle.json`, from `duplex bench` or the app's export).
    #[arg(required_unless_present = "k6")]
    pub bundles: Vec<PathBuf>,
    /// k6 JSON outputs (`k6 run --out json=FILE`) of a script `duplex k6 export` wrote: one for
    /// a whole test, or one per execution segment of a test split over processes or hosts,
    /// stored as one run (client k6); those of `duplex k6 fanout`'s script, read as one fan-out
    /// report (printed, and its CSV written; fan-outs are not kept in the history).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "bundles")]
    pub k6: Vec<PathBuf>,
    /// Directory for a k6 fan-out's CSV report (fanout-TIME.csv).
    #[arg(long, value_name = "DIR", default_value = "duplex-reports")]
    pub csv: PathBuf,
    #[command(flatten)]
    pub history: HistoryArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupByArg {
    /// A column per run.
    Run,
    /// Runs of one platform (and browser) pooled.
    Platform,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run ids (or unique prefixes) from the history, or bundle files; none with --all.
    pub runs: Vec<String>,
    /// Every run in the history.
    #[arg(long)]
    pub all: bool,
    /// Group by run or by platform.
    #[arg(long, value_enum, default_value = "platform")]
    pub by: GroupByArg,
    /// Pool failed and cancelled runs too (left out of pooled groups by default).
    #[arg(long)]
    pub include_incomplete: bool,
    /// Only the runs measured over this link (its name in the run: 4g, rtt=50ms), or `none`.
    #[arg(long, value_name = "NAME")]
    pub link: Option<String>,
    /// Compare runs of different topologies on purpose (the app's cross-thread run beside a
    /// joined browser's, across processes); the report says how they differ.
    #[arg(long)]
    pub across_topologies: bool,
    /// Write the comparison as CSV to this file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub history: HistoryArgs,
}

pub fn open_history(args: &HistoryArgs) -> anyhow::Result<History> {
    let path = args.path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut history = History::open(&path)?;
    // Runs a crashed or killed duplex (or app) left half-written are finished with what they had.
    for id in history.recover()? {
        err(&format!("duplex: recovered interrupted run {id}: its samples so far are kept, marked failed\n"));
    }
    Ok(history)
}

pub fn read_bundle_file(path: &std::path::Path) -> anyhow::Result<Vec<RunRecord>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(read_bundle(std::io::BufReader::new(file)).with_context(|| path.display().to_string())?.runs)
}

pub fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    // Every file is read and checked before anything is written.
    let mut runs = Vec::new();
    for path in &args.bundles {
        runs.extend(read_bundle_file(path)?);
    }
    if !args.k6.is_empty() {
        let files = args
            .k6
            .iter()
            .map(|path| {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                Ok(duplex_core::k6::K6File { name: path.display().to_string(), text })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if files.first().is_some_and(duplex_core::k6::is_fanout) {
            return import_k6_fanout(&files, &args.csv);
        }
        let record = duplex_core::k6::import(&files)?;
        let report = duplex_core::stats::analyze(&record, &duplex_core::stats::AnalysisOptions::default());
        out(&format!(
            "k6: {} calls from {} output(s), {}\n",
            record.samples.len(),
            files.len(),
            report.headline().unwrap_or_else(|| "no verdict".into())
        ));
        runs.push(record);
    }
    let imported = open_history(&args.history)?.import(&runs)?;
    out(&format!("imported {} run(s)\n", imported.added.len()));
    for id in &imported.already_here {
        out(&format!("  {id}: already in the history, left as it was\n"));
    }
    Ok(ExitCode::SUCCESS)
}

/// A k6 fan-out's outputs as one report: printed, and its CSV written.
fn import_k6_fanout(files: &[duplex_core::k6::K6File], dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let report = duplex_core::k6::import_fanout(files)?;
    let processes = duplex_core::k6::processes(files.len());
    let csv = crate::commands::fanout::write_csv(&report, dir, &format!("k6 {processes}"))?;
    let ok = report.ok;
    crate::output::emit(crate::output::Mode::json(false), &crate::output::Fanout { report, csv })?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn history(args: &ListArgs) -> anyhow::Result<ExitCode> {
    if args.path {
        out(&format!("{}\n", args.history.path()?.display()));
        return Ok(ExitCode::SUCCESS);
    }
    let path = args.history.path()?;
    let runs = open_history(&args.history)?.list()?;
    output::emit(Mode::json(args.json), &output::HistoryList { history: path.display().to_string(), runs })?;
    Ok(ExitCode::SUCCESS)
}

pub fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let history = open_history(&args.history)?;
    let mut runs: Vec<RunRecord> = Vec::new();
    let listed = history.list()?;
    if args.all {
        for item in &listed {
            runs.push(history.load(&item.id)?);
        }
    }
    for arg in &args.runs {
        let path = std::path::Path::new(arg);
        if path.is_file() {
            runs.extend(read_bundle_file(path)?);
            continue;
        }
        let matches: Vec<&str> =
            listed.iter().map(|r| r.id.as_str()).filter(|id| id.starts_with(arg.as_str())).collect();
        match matches.as_slice() {
            [id] => runs.push(history.load(id)?),
            [] => anyhow::bail!(
                "{arg:?} is neither a bundle file nor a run in the history (see `duplex history`)"
            ),
            _ => anyhow::bail!("{arg:?} matches {} runs: give more of the id", matches.len()),
        }
    }
    let mut seen = std::collections::HashSet::new();
    runs.retain(|r| seen.insert(r.id.clone()));
    if runs.is_empty() && args.all {
        anyhow::bail!(
            "nothing to compare: the history at {} holds no runs yet; measure some with duplex bench, or bring \
             other devices' runs in with duplex import FILE",
            args.history.path()?.display()
        );
    }
    if runs.is_empty() {
        anyhow::bail!("nothing to compare: give run ids or bundle files, or --all");
    }
    let by = match args.by {
        GroupByArg::Run => GroupBy::Run,
        GroupByArg::Platform => GroupBy::Platform,
    };
    let comparison = compare_platforms(
        &runs,
        CompareOptions {
            by,
            include_incomplete: args.include_incomplete,
            link: args.link.clone(),
            across_topologies: args.across_topologies,
        },
    );
    if let Some(path) = &args.csv {
        duplex_core::export::csv::write_platform_comparison(duplex_core::export::create(path)?, &comparison)?;
    }
    output::emit(Mode::json(args.json), &output::Compare(comparison))?;
    Ok(ExitCode::SUCCESS)
}
