//! The commands the UI may call. Each is thin: it checks its input, calls the engine and
//! turns the result into what the UI draws. Measuring, statistics, storage and export all
//! live in `duplex-core`.

use std::path::PathBuf;

use duplex_core::export::bundle::read_bundle;
use duplex_core::export::{ReportFiles, write_report_files};
use duplex_core::platform::PlatformInfo;
use duplex_core::power::{PowerMonitor, PowerSettings, Probe};
use duplex_core::record::{ClientKind, ClientPart, RunRecord, RunStatus, Topology};
use duplex_core::runner::{Plan, RunEvent, Target, spawn_run};
use duplex_core::stats::energy::{PowerSeries, power_series};
use duplex_core::stats::live::LiveByTransport;
use duplex_core::stats::platforms::{GroupBy, PlatformComparison, compare_platforms};
use duplex_core::stats::{AnalysisOptions, Report, Series, analyze, series};
use duplex_core::storage::{Imported, RunListItem, RunWriter};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use crate::error::{AppError, AppResult};
use crate::state::{DuplexState, Unfinished};

/// Set this to a file path to skip the save dialog (end-to-end tests, scripted use).
pub const EXPORT_PATH_ENV: &str = "DUPLEX_EXPORT_PATH";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: &'static str,
    /// The embedded server's address, or why it is not running.
    pub server: Result<String, String>,
    pub data_dir: String,
    pub platform: PlatformInfo,
    pub presets: Vec<Plan>,
}

#[tauri::command]
pub async fn app_info(state: State<'_, DuplexState>) -> AppResult<AppInfo> {
    let presets = Plan::preset_names().map(Plan::preset).collect::<Result<Vec<_>, _>>()?;
    Ok(AppInfo {
        version: duplex_core::VERSION,
        server: state.server.as_ref().map(|s| s.local_addr().to_string()).map_err(Clone::clone),
        data_dir: state.data_dir.display().to_string(),
        platform: PlatformInfo::collect(),
        presets,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    pub plan: Plan,
    /// A remote Duplex server for the native clients; None for the embedded one.
    pub target_url: Option<String>,
    pub native: bool,
    pub webview: bool,
}

/// What the native part reports while it runs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RunUpdate {
    #[serde(rename_all = "camelCase")]
    Started { run_id: String, server: String },
    /// The idle baseline for power: no traffic for this long.
    #[serde(rename_all = "camelCase")]
    Baseline { duration_ms: u64 },
    #[serde(rename_all = "camelCase")]
    Progress {
        client: ClientKind,
        transport: duplex_core::clients::Transport,
        set: u32,
        sets: u32,
        done: u64,
        total: u64,
        p50_us: Option<f64>,
    },
}

/// The run after its native part: the UI runs the web-view part next, then `finish_run`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRun {
    pub run_id: String,
    pub status: RunStatus,
    pub error: Option<String>,
    /// The embedded server the web-view clients should use.
    pub server: String,
    pub native_samples: usize,
}

/// Starts a run and measures its native part (if any), streaming progress to `on_update`.
#[tauri::command]
pub async fn start_run(
    app: AppHandle,
    state: State<'_, DuplexState>,
    request: RunRequest,
    on_update: Channel<RunUpdate>,
) -> AppResult<PendingRun> {
    let RunRequest { plan, target_url, native, webview } = request;
    plan.validate()?;
    if !native && !webview {
        return Err(AppError::State("choose native clients, web-view clients, or both".into()));
    }
    if webview && target_url.is_some() {
        return Err(AppError::State(
            "web-view clients measure the embedded server only; use native clients for a remote server"
                .into(),
        ));
    }
    let server = state.server_addr()?;
    let native_plan = if native { plan.for_client(ClientKind::Native) } else { None };
    let webview_plan = if webview { plan.for_client(ClientKind::Webview) } else { None };
    if native_plan.is_none() && webview_plan.is_none() {
        return Err(AppError::State("none of the chosen transports runs on the chosen clients".into()));
    }
    let (abandoned, cancel) = {
        let mut slot = state.run();
        if slot.cancel.is_some() {
            return Err(AppError::State("a run is already in progress".into()));
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        slot.cancel = Some(cancel.clone());
        (slot.pending.take(), cancel)
    };
    if let Some(unfinished) = abandoned {
        // The page went away between the two parts of a run (reload, crash): keep its native part.
        store(&state, unfinished)?;
    }
    // One power monitor spans both parts of the run, after one idle baseline.
    let mut power = PowerMonitor::start(&plan.power, power_sensors(&app));
    if power.baseline_ms() > 0 {
        let _ = on_update.send(RunUpdate::Baseline { duration_ms: power.baseline_ms() });
    }
    let baseline_done = power.idle_baseline(&cancel).await;
    let result = match native_plan {
        Some(native_plan) if baseline_done => {
            let native_plan = Plan { power: PowerSettings::OFF, ..native_plan };
            run_native(&state, native_plan, target_url, server, &on_update).await
        }
        _ => {
            let mut record = RunRecord::new(plan.clone(), "embedded".into());
            record.server = server.to_string();
            record.topology = Topology::Webview;
            if !baseline_done {
                record.status = RunStatus::Cancelled;
            }
            record.platform = PlatformInfo::collect();
            let _ = on_update
                .send(RunUpdate::Started { run_id: record.id.clone(), server: record.server.clone() });
            Ok(record)
        }
    };
    let mut slot = state.run();
    slot.cancel = None;
    let mut record = result?;
    // The record covers the whole plan: the web-view part is merged into it later.
    record.plan = plan;
    let pending = PendingRun {
        run_id: record.id.clone(),
        status: record.status,
        error: record.error.clone(),
        server: server.to_string(),
        native_samples: record.samples.len(),
    };
    slot.pending = Some(Unfinished { record, power });
    Ok(pending)
}

/// The engine's sensors; on Android the battery is read through the BatteryManager plugin.
fn power_sensors(app: &AppHandle) -> Vec<Probe> {
    let mut sensors = duplex_core::power::default_sensors();
    if cfg!(target_os = "android") {
        sensors.retain(|p| !matches!(p, Err(u) if u.sensor == "battery"));
        sensors.push(tauri_plugin_duplex_battery::probe(app));
    }
    sensors
}

async fn run_native(
    state: &DuplexState,
    plan: Plan,
    target_url: Option<String>,
    server: std::net::SocketAddr,
    on_update: &Channel<RunUpdate>,
) -> AppResult<RunRecord> {
    let target = match target_url {
        Some(url) => Target::Remote { url },
        None => Target::InProcess { addr: server },
    };
    let handle = spawn_run(plan, target)?;
    let (mut events, cancel, result) = handle.into_parts();
    if let Some(slot_cancel) = state.run().cancel.clone() {
        // Cancelling the app's switch cancels the engine's run.
        tokio::spawn(async move {
            slot_cancel.cancelled().await;
            cancel.cancel();
        });
    }
    let mut live = LiveByTransport::default();
    // The native part goes into the history as it is measured (a second connection to it): if
    // the app dies mid-run, the next start recovers what was written.
    let mut writer = state.open_history().map(RunWriter::new).map_err(|e| tracing::warn!("{e}")).ok();
    while let Some(event) = events.recv().await {
        let update = match event {
            RunEvent::Started { run_id, server, record, .. } => {
                if let Some(w) = &mut writer {
                    w.begin(&record);
                }
                RunUpdate::Started { run_id, server }
            }
            RunEvent::Samples(batch) => {
                live.record(&batch);
                if let Some(w) = &mut writer {
                    w.append(&batch);
                }
                continue;
            }
            RunEvent::Baseline { duration_ms } => RunUpdate::Baseline { duration_ms },
            RunEvent::Progress(p) => RunUpdate::Progress {
                client: ClientKind::Native,
                transport: p.transport,
                set: p.set,
                sets: p.sets,
                done: p.done,
                total: p.total,
                p50_us: live.p50_us(p.transport),
            },
        };
        // A closed channel means the window went away; the run still finishes and is stored.
        let _ = on_update.send(update);
    }
    Ok(result.await)
}

/// Stops the native part of the run in progress; what was measured is kept.
#[tauri::command]
pub fn cancel_run(state: State<'_, DuplexState>) -> bool {
    match &state.run().cancel {
        Some(cancel) => {
            cancel.cancel();
            true
        }
        None => false,
    }
}

/// A stored run as the UI draws it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The record without its samples (they are in `series`).
    pub record: RunRecord,
    pub report: Report,
    pub series: Vec<Series>,
    /// CPU and power between readings, for the power-over-time chart.
    pub power: Option<PowerSeries>,
}

fn view_of(record: RunRecord, report: Report) -> RunView {
    let series = series(&record);
    let power = record.power.as_ref().map(power_series);
    // The samples and power readings reach the page as series, not raw.
    RunView { record: RunRecord { samples: Vec::new(), power: None, ..record }, report, series, power }
}

/// Merges the web-view part (if any) into the pending run, stores it, and returns it.
#[tauri::command]
pub async fn finish_run(state: State<'_, DuplexState>, part: Option<ClientPart>) -> AppResult<RunView> {
    let mut unfinished =
        state.run().pending.take().ok_or_else(|| AppError::State("no run is waiting to finish".into()))?;
    if let Some(part) = part
        && let Err(e) = unfinished.record.merge(part)
    {
        // Keep the native part: store it with the reason the web-view part was refused.
        unfinished.record.error = Some(e.to_string());
    }
    store(&state, unfinished)
}

/// Stops the run's power monitor, analyses the record, stores it in the history and returns
/// its view.
fn store(state: &DuplexState, Unfinished { mut record, power }: Unfinished) -> AppResult<RunView> {
    record.power = power.finish();
    if record.finished_at_unix_ns == 0 {
        record.finished_at_unix_ns = duplex_core::clock::now_unix_ns();
    }
    let report = analyze(&record, &AnalysisOptions::default());
    state.history().save(&record, report.headline().as_deref())?;
    Ok(view_of(record, report))
}

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

#[tauri::command]
pub async fn delete_run(state: State<'_, DuplexState>, id: String) -> AppResult<bool> {
    Ok(state.history().delete(&id)?)
}

/// Runs side by side, per run or per platform.
#[tauri::command]
pub async fn compare_runs(
    state: State<'_, DuplexState>,
    ids: Vec<String>,
    by: GroupBy,
) -> AppResult<PlatformComparison> {
    let runs = {
        let history = state.history();
        ids.iter().map(|id| history.load(id)).collect::<Result<Vec<_>, _>>()?
    };
    Ok(compare_platforms(&runs, by))
}

/// Writes a comparison as CSV where the person chooses. None if they cancelled the dialog.
#[tauri::command]
pub async fn export_comparison(
    app: AppHandle,
    state: State<'_, DuplexState>,
    ids: Vec<String>,
    by: GroupBy,
) -> AppResult<Option<String>> {
    let comparison = compare_runs(state, ids, by).await?;
    let Some(path) = save_path(&app, "Export comparison", "duplex-compare.csv") else { return Ok(None) };
    let file = std::fs::File::create(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))
        .map_err(duplex_core::export::ExportError::from)?;
    duplex_core::export::csv::write_platform_comparison(std::io::BufWriter::new(file), &comparison)?;
    Ok(Some(path.display().to_string()))
}

/// Set this to a bundle file to skip the open dialog (end-to-end tests, scripted use).
pub const IMPORT_PATH_ENV: &str = "DUPLEX_IMPORT_PATH";

/// Adds runs from other devices' bundles (native open dialog) to the history. Every file is
/// read and checked first: one bad file imports nothing. None if the dialog was cancelled.
#[tauri::command]
pub async fn import_bundles(app: AppHandle, state: State<'_, DuplexState>) -> AppResult<Option<Imported>> {
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
fn save_path(app: &AppHandle, title: &str, suggested: &str) -> Option<PathBuf> {
    match std::env::var_os(EXPORT_PATH_ENV) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            use tauri_plugin_dialog::DialogExt;
            app.dialog()
                .file()
                .set_title(title)
                .set_file_name(suggested)
                .add_filter("CSV", &["csv"])
                .blocking_save_file()
                .and_then(|p| p.into_path().ok())
        }
    }
}

/// Writes a run's CSV report where the person chooses (native save dialog). None if they
/// cancelled the dialog.
#[tauri::command]
pub async fn export_run(
    app: AppHandle,
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
