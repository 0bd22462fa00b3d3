//! The Live view's commands: the embedded server's monitor rate, and a watching session's
//! summary (the page records what each feed received and showed; the engine sums it up).

use duplex_core::monitor::{Session, SessionSummary, summarize};
use tauri::{AppHandle, Runtime, State};

use crate::error::{AppError, AppResult};
use crate::state::DuplexState;

/// Sets how many snapshots per second the embedded server's agent takes (0.1–20).
#[tauri::command]
pub fn set_monitor_hz(state: State<'_, DuplexState>, hz: f64) -> AppResult<f64> {
    let server = state.server.as_ref().map_err(|e| AppError::Server(e.clone()))?;
    server.monitor().set_hz(hz).map_err(AppError::State)?;
    Ok(server.monitor().hz())
}

#[tauri::command]
pub fn summarize_monitor(session: Session) -> SessionSummary {
    summarize(&session)
}

/// Writes a watching session, every answer and message, as CSV where the person chooses. None
/// if they cancelled the dialog.
#[tauri::command]
pub async fn export_monitor<R: Runtime>(app: AppHandle<R>, session: Session) -> AppResult<Option<String>> {
    let Some(path) = super::history::save_path(&app, "Export live session", "duplex-live-session.csv") else {
        return Ok(None);
    };
    duplex_core::export::csv::write_monitor_session(duplex_core::export::create(&path)?, &session)?;
    Ok(Some(path.display().to_string()))
}
