//! The History view's commands: list, open, delete, compare, export and import runs.

use std::path::PathBuf;

use duplex_core::export::bundle::read_bundle;
use duplex_core::export::{ReportFiles, write_report_files};
use duplex_core::stats::platforms::{CompareOptions, PlatformComparison, compare_platforms};
use duplex_core::stats::{AnalysisOptions, analyze};
use duplex_core::storage::{Imported, RunListItem};
use tauri::{AppHandle, Runtime, State};

use crate::error::{AppError, AppResult};
use crate::state::DuplexState;
use duplex_core::export::html::{RunView, sweep_view as sweep_view_of, view_of};

/// Set this to a file path to skip the save dialog (end-to-end tests, scripted use).
pub const EXPORT_PATH_ENV: &str = "DUPLEX_EXPORT_PATH";

#[tauri::command]
pub async fn list_runs(state: State<'_, DuplexState>) -> AppResult<Vec<RunListItem>> {
    Ok(state.history().list()?)
}

#[tauri::command]
pub async fn open_run(state: State<'_, DuplexState>, id: String) -> AppResult<RunView> {
    let record = state.history().load(&id)?;
    let report = analyze(&record, &AnalysisOptions::default());
    Ok(view_of(record, report))
}

/// A sweep's runs (in the order they ran) as one view: the sweep's picture above its last run.
#[tauri::command]
pub async fn sweep_view(state: State<'_, DuplexState>, ids: Vec<String>) -> AppResult<RunView> {
    let history = state.history();
    let runs = ids
        .iter()
        .map(|id| {
            let record = history.load(id)?;
            let report = analyze(&record, &AnalysisOptions::default());
            Ok((record, report))
        })
        .collect::<AppResult<Vec<_>>>()?;
    sweep_view_of(&runs).ok_or_else(|| AppError::State("a sweep needs at least one run".into()))
}

/// Names a run or notes something about it (an empty note removes it).
#[tauri::command]
pub async fn set_note(state: State<'_, DuplexState>, id: String, note: String) -> AppResult<()> {
    Ok(state.history().set_note(&id, &note)?)
}

#[tauri::command]
pub async fn delete_run(state: State<'_, DuplexState>, id: String) -> AppResult<bool> {
    Ok(state.history().delete(&id)?)
}

/// Runs side by side, per run or per platform.
#[tauri::command]
pub async fn compare_runs(
    state: State<'_, DuplexState>,
    ids: Vec<String>,
    options: CompareOptions,
) -> AppResult<PlatformComparison> {
    let runs = {
        let history = state.history();
        ids.iter().map(|id| history.load(id)).collect::<Result<Vec<_>, _>>()?
    };
    Ok(compare_platforms(&runs, options))
}

/// Writes a comparison as CSV where the person chooses. None if they cancelled the dialog.
#[tauri::command]
pub async fn export_comparison<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, DuplexState>,
    ids: Vec<String>,
    options: CompareOptions,
) -> AppResult<Option<String>> {
    let comparison = compare_runs(state, ids, options).await?;
    let Some(path) = save_path(&app, "Export comparison", "duplex-compare.csv") else { return Ok(None) };
    duplex_core::export::csv::write_platform_comparison(duplex_core::export::create(&path)?, &comparison)?;
    Ok(Some(path.display().to_string()))
}

/// Set this to a bundle file to skip the open dialog (end-to-end tests, scripted use).
pub const IMPORT_PATH_ENV: &str = "DUPLEX_IMPORT_PATH";

/// Adds runs from other devices' bundles (native open dialog) to the history. Every file is
/// read and checked first: one bad file imports nothing. None if the dialog was cancelled.
#[tauri::command]
pub async fn import_bundles<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, DuplexState>,
) -> AppResult<Option<Imported>> {
    let paths: Vec<PathBuf> = match std::env::var_os(IMPORT_PATH_ENV) {
        Some(path) => vec![PathBuf::from(path)],
        None => {
            use tauri_plugin_dialog::DialogExt;
            app.dialog()
                .file()
                .set_title("Import runs from other devices")
                .add_filter("Duplex run bundle", &["json"])
                .blocking_pick_files()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.into_path().ok())
                .collect()
        }
    };
    if paths.is_empty() {
        return Ok(None);
    }
    let mut runs = Vec::new();
    for path in &paths {
        let file =
            std::fs::File::open(path).map_err(|e| AppError::Import(format!("{}: {e}", path.display())))?;
        let bundle = read_bundle(std::io::BufReader::new(file))
            .map_err(|e| AppError::Import(format!("{}: {e}", path.display())))?;
        runs.extend(bundle.runs);
    }
    Ok(Some(state.history().import(&runs)?))
}

/// Where to write: the test override, or the native save dialog. None if cancelled.
pub(crate) fn save_path<R: Runtime>(app: &AppHandle<R>, title: &str, suggested: &str) -> Option<PathBuf> {
    let (kind, extension) = match suggested.rsplit_once('.') {
        Some((_, "html")) => ("HTML", "html"),
        _ => ("CSV", "csv"),
    };
    match std::env::var_os(EXPORT_PATH_ENV) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            use tauri_plugin_dialog::DialogExt;
            app.dialog()
                .file()
                .set_title(title)
                .set_file_name(suggested)
                .add_filter(kind, &[extension])
                .blocking_save_file()
                .and_then(|p| p.into_path().ok())
        }
    }
}

/// Writes a run's CSV report where the person chooses (native save dialog). None if they
/// cancelled the dialog.
#[tauri::command]
pub async fn export_run<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, DuplexState>,
    id: String,
) -> AppResult<Option<ReportFiles>> {
    let record = state.history().load(&id)?;
    let suggested = format!("duplex-{}.csv", record.id.chars().take(8).collect::<String>());
    let Some(path) = save_path(&app, "Export CSV report", &suggested) else { return Ok(None) };
    let report = analyze(&record, &AnalysisOptions::default());
    let files = ReportFiles::beside(&path);
    write_report_files(&files, &record, &report)?;
    Ok(Some(files))
}

/// Writes a run as one self-contained HTML file (verdicts, charts, tables) where the person
/// chooses. None if they cancelled the dialog.
#[tauri::command]
pub async fn export_html<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, DuplexState>,
    id: String,
) -> AppResult<Option<String>> {
    let record = state.history().load(&id)?;
    let suggested = format!("duplex-{}-report.html", record.id.chars().take(8).collect::<String>());
    let Some(path) = save_path(&app, "Export HTML report", &suggested) else { return Ok(None) };
    let report = analyze(&record, &AnalysisOptions::default());
    duplex_core::export::html::write_html(&path, &view_of(record, report))?;
    Ok(Some(path.display().to_string()))
}
