//! Reports on disk: the CSV set (samples, summary, comparisons, power, energy) and the run's
//! metadata as JSON.

pub mod bundle;
pub mod csv;
pub mod html;

use schemars::JsonSchema;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use duplex_model::record::RunRecord;
use ts_rs::TS;

use crate::stats::Report;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("CSV: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("{0}")]
    Format(String),
}

/// The files one report wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize, TS, JsonSchema)]
pub struct ReportFiles {
    pub samples: PathBuf,
    pub summary: PathBuf,
    pub comparisons: PathBuf,
    pub power: PathBuf,
    pub energy: PathBuf,
    pub run: PathBuf,
    /// The whole run in one JSON file, for another device's history ([`bundle`]).
    pub bundle: PathBuf,
}

impl ReportFiles {
    /// `duplex-<run>-{samples,summary,comparisons,power,energy}.csv`, `duplex-<run>-run.json` and
    /// `duplex-<run>-bundle.json` in `dir`.
    pub fn in_dir(dir: &Path, run_id: &str) -> ReportFiles {
        let short: String = run_id.chars().take(8).collect();
        let path = |what: &str| dir.join(format!("duplex-{short}-{what}"));
        ReportFiles {
            samples: path("samples.csv"),
            summary: path("summary.csv"),
            comparisons: path("comparisons.csv"),
            power: path("power.csv"),
            energy: path("energy.csv"),
            run: path("run.json"),
            bundle: path("bundle.json"),
        }
    }

    /// The samples at `samples` exactly (a path a person chose in a save dialog), the other
    /// files beside it: `<stem>-summary.csv`, `<stem>-comparisons.csv`, `<stem>-power.csv`,
    /// `<stem>-energy.csv`, `<stem>-run.json`, `<stem>-bundle.json`.
    pub fn beside(samples: &Path) -> ReportFiles {
        let stem = samples.file_stem().map_or_else(|| "duplex".into(), |s| s.to_string_lossy().into_owned());
        let sibling = |what: &str| samples.with_file_name(format!("{stem}-{what}"));
        ReportFiles {
            samples: samples.to_owned(),
            summary: sibling("summary.csv"),
            comparisons: sibling("comparisons.csv"),
            power: sibling("power.csv"),
            energy: sibling("energy.csv"),
            run: sibling("run.json"),
            bundle: sibling("bundle.json"),
        }
    }
}

/// Writes the report set into `dir` (created if missing), named by [`ReportFiles::in_dir`].
/// A new file to write, buffered; the error names the file ("cannot write PATH: reason").
pub fn create(path: &Path) -> Result<BufWriter<File>, ExportError> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())).into())
}

pub fn write_report(dir: &Path, record: &RunRecord, report: &Report) -> Result<ReportFiles, ExportError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))?;
    let files = ReportFiles::in_dir(dir, &record.id);
    write_report_files(&files, record, report)?;
    Ok(files)
}

/// Writes the report set to the given paths.
pub fn write_report_files(
    files: &ReportFiles,
    record: &RunRecord,
    report: &Report,
) -> Result<(), ExportError> {
    csv::write_samples(create(&files.samples)?, &record.id, &record.samples)?;
    csv::write_summary(create(&files.summary)?, record, report)?;
    csv::write_comparisons(create(&files.comparisons)?, record, report)?;
    csv::write_power(create(&files.power)?, record)?;
    csv::write_energy(create(&files.energy)?, record, report)?;
    // The samples and power readings are in their own files.
    let power = record.power.as_ref().map(|p| crate::power::PowerTrace { samples: Vec::new(), ..p.clone() });
    let meta = RunRecord { samples: Vec::new(), power, ..record.clone() };
    serde_json::to_writer_pretty(create(&files.run)?, &meta)
        .map_err(|e| ExportError::Format(e.to_string()))?;
    bundle::write_bundle(create(&files.bundle)?, std::slice::from_ref(record))
        .map_err(|e| ExportError::Format(e.to_string()))?;
    Ok(())
}
