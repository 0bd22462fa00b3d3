//! The Fan-out view's commands: one server event to many subscribers by ws-push, long-poll and
//! SSE, against a fan-out server of its own (on its own thread, so that its CPU time is read
//! apart from the subscribers'), and the result as CSV.

use duplex_core::fanout::{FanoutPlan, FanoutProgress, FanoutReport, embedded_server, fanout};
use duplex_core::soak::files::{Route, make_room};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime};
use tokio_util::sync::CancellationToken;

use crate::error::{AppError, AppResult};

/// Runs the plan, sending progress on `on_progress`; the whole report at the end.
#[tauri::command]
pub async fn run_fanout(plan: FanoutPlan, on_progress: Channel<FanoutProgress>) -> AppResult<FanoutReport> {
    plan.check().map_err(AppError::Fanout)?;
    make_room(u64::from(plan.largest()), Route { embedded: true, relayed: false })
        .map_err(AppError::Fanout)?;
    let server = embedded_server(plan.largest()).map_err(|e| AppError::Fanout(e.to_string()))?;
    let endpoints = duplex_core::runner::own_endpoints(server.local_addr(), server.tls());
    let report = fanout(plan, endpoints, Some(&server), CancellationToken::new(), |p| {
        let _ = on_progress.send(p.clone());
    })
    .await;
    Ok(report)
}

/// Writes a fan-out report as CSV where the person chooses. None if they cancelled the dialog.
#[tauri::command]
pub async fn export_fanout<R: Runtime>(app: AppHandle<R>, report: FanoutReport) -> AppResult<Option<String>> {
    let Some(path) = super::history::save_path(&app, "Export fan-out", "duplex-fanout.csv") else {
        return Ok(None);
    };
    let platform = duplex_core::platform::this_machine().label();
    duplex_core::export::csv::write_fanout(duplex_core::export::create(&path)?, &report, &platform)?;
    Ok(Some(path.display().to_string()))
}
