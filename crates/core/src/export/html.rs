//! The self-contained HTML report: the app's Results view of one run (verdicts, the paper's
//! Figures 2–6, tables, notes, metadata) in one file that opens in any browser without a
//! network. The page is the UI's `report.html`, built by Vite with its script, styles and
//! charting library inlined; the run is written into it as JSON.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

use duplex_model::link::{LabelledLink, Link};
use duplex_model::record::RunRecord;

use super::ExportError;
use crate::stats::energy::{PowerSeries, power_series};
use crate::stats::sweep::{SweepReport, sweep_report};
use crate::stats::{Report, Series, series};

/// The built report page (`ui/dist/report.html`), if the UI was built before this crate;
/// otherwise None, and [`write_html`] says how to get it.
const TEMPLATE: Option<&str> = include!(concat!(env!("OUT_DIR"), "/report_template.rs"));

/// Where the run goes in the page.
const SLOT: &str = r#"<script id="duplex-run" type="application/json">null</script>"#;

/// A stored run as the page draws it (the app's Results view and the HTML report).
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The record without its samples (they are in `series`).
    pub record: RunRecord,
    pub report: Report,
    pub series: Vec<Series>,
    /// CPU and power between readings, for the power-over-time chart.
    pub power: Option<PowerSeries>,
    /// When the run is a sweep's last: the whole sweep, drawn above it.
    pub sweep: Option<SweepReport>,
    /// The plan's shape in words ([`crate::plan::Plan::shape`]).
    pub plan_text: String,
    /// The plan's emulated link with its label, if it has one.
    pub link: Option<LabelledLink>,
}

pub fn view_of(record: RunRecord, report: Report) -> RunView {
    let series = series(&record);
    let power = record.power.as_ref().map(power_series);
    // The samples and power readings reach the page as series, not raw.
    RunView {
        plan_text: record.plan.shape(),
        link: record.plan.link.as_ref().map(Link::labelled),
        record: RunRecord { samples: Vec::new(), power: None, ..record },
        report,
        series,
        power,
        sweep: None,
    }
}

/// A sweep as the page draws it: its picture above the results of its last run.
pub fn sweep_view(runs: &[(RunRecord, Report)]) -> Option<RunView> {
    let (record, report) = runs.last()?.clone();
    Some(RunView { sweep: Some(sweep_report(runs)), ..view_of(record, report) })
}

/// The report page with `view` in it.
/// Whether this build can write HTML reports: checked before a run that will write one.
pub fn available() -> Result<(), ExportError> {
    template().map(drop)
}

fn template() -> Result<&'static str, ExportError> {
    TEMPLATE.ok_or_else(|| {
        ExportError::Format(
            "this Duplex was built without its report page: build the UI first (npm ci && npm run build in ui/), then Duplex"
                .into(),
        )
    })
}

pub fn html_of(view: &RunView) -> Result<String, ExportError> {
    let template = template()?;
    let json = serde_json::to_string(view).map_err(|e| ExportError::Format(e.to_string()))?;
    // Inside a <script> element, "</" could end it early: JSON allows "<\/" for the same text.
    let json = json.replace("</", "<\\/");
    if !template.contains(SLOT) {
        return Err(ExportError::Format("the report page has no place for the run".into()));
    }
    Ok(template.replacen(
        SLOT,
        &format!(r#"<script id="duplex-run" type="application/json">{json}</script>"#),
        1,
    ))
}

/// Writes the report page for `view` to `path`, creating its folder.
pub fn write_html(path: &Path, view: &RunView) -> Result<(), ExportError> {
    let html = html_of(view)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, html)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}
