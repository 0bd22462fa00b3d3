//! The LAN view's commands: serve on the LAN (a second echo server behind a token, whose
//! joined browsers' runs land in this app's history), its status, and stopping it.

use std::sync::Arc;

use duplex_core::session::join_sink;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use crate::error::AppResult;
use crate::lan::{AppAssets, LanInfo, LanRequest, LanServer};
use crate::state::DuplexState;

/// Event sent to the page when a joined browser's run was stored (payload: the run id).
pub const RUN_STORED_EVENT: &str = "run-stored";

#[tauri::command]
pub fn lan_status(state: State<'_, DuplexState>) -> Option<LanInfo> {
    state.lan().as_ref().map(|l| l.info().clone())
}

#[tauri::command]
pub async fn start_lan<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, DuplexState>,
    request: LanRequest,
) -> AppResult<LanInfo> {
    if let Some(running) = state.lan().as_ref() {
        return Ok(running.info().clone());
    }
    let store = app.clone();
    let sink = join_sink(move |record, headline| {
        let state = store.state::<DuplexState>();
        state.history().save(record, headline).map_err(|e| e.to_string())?;
        let _ = store.emit(RUN_STORED_EVENT, &record.id);
        Ok(())
    });
    let server = LanServer::start(&request, Arc::new(AppAssets(app.asset_resolver())), sink).await?;
    let mut slot = state.lan();
    // Started twice at once: the first one serves, the second stops here.
    if let Some(running) = slot.as_ref() {
        return Ok(running.info().clone());
    }
    let info = server.info().clone();
    *slot = Some(server);
    Ok(info)
}

/// Stops the LAN server (its token dies with it). False if it was not running.
#[tauri::command]
pub fn stop_lan(state: State<'_, DuplexState>) -> bool {
    // Dropping the server thread stops it.
    state.lan().take().is_some()
}
