//! "Serve on LAN": a second echo server, reachable from other devices behind a random access
//! token. Browsers that open its URL (or scan its QR code) get the app's own join page, run
//! the test there, and their runs land in this app's history.

use std::sync::Arc;

use duplex_core::clients::Transport;
use duplex_core::runner::Plan;
use duplex_core::server::join::{Asset, BrowserJoin, ResultSink, WebAssets};
use duplex_core::server::{ServerConfig, ServerThread, lan};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use crate::error::{AppError, AppResult};
use crate::state::DuplexState;

/// Event sent to the page when a joined browser's run was stored (payload: the run id).
pub const RUN_STORED_EVENT: &str = "run-stored";

/// The LAN server while it runs.
pub struct LanServer {
    _server: ServerThread,
    info: LanInfo,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LanInfo {
    /// What it listens on, e.g. "0.0.0.0:9000".
    pub address: String,
    /// URLs other devices can open, with the token; one per network address of this device.
    pub urls: Vec<String>,
    /// The access token, for typing into a device that cannot scan or paste.
    pub token: String,
    /// QR code of the first URL, as SVG.
    pub qr_svg: Option<String>,
    /// What joined browsers run.
    pub plan: Plan,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LanRequest {
    /// 0 for any free port.
    pub port: u16,
    pub sets: u32,
    pub calls: u32,
}

/// The app's embedded front end (join.html and its scripts), served to joining browsers.
struct AppAssets<R: Runtime>(tauri::AssetResolver<R>);

impl<R: Runtime> WebAssets for AppAssets<R> {
    fn get(&self, path: &str) -> Option<Asset> {
        self.0.get(path.to_owned()).map(|a| Asset { bytes: a.bytes, mime: a.mime_type })
    }
}

#[tauri::command]
pub fn lan_status(state: State<'_, DuplexState>) -> Option<LanInfo> {
    state.lan().as_ref().map(|l| l.info.clone())
}

#[tauri::command]
pub async fn start_lan(
    app: AppHandle,
    state: State<'_, DuplexState>,
    request: LanRequest,
) -> AppResult<LanInfo> {
    let mut slot = state.lan();
    if let Some(running) = slot.as_ref() {
        return Ok(running.info.clone());
    }
    let plan = Plan {
        transports: vec![Transport::Ws, Transport::Http, Transport::Xhr],
        sets: request.sets,
        calls: request.calls,
        ..Plan::preset("quick")?
    };
    let join =
        BrowserJoin::new(&plan, Arc::new(AppAssets(app.asset_resolver())), store_into_history(app.clone()))
            .map_err(AppError::Lan)?;
    let config = ServerConfig {
        browser_join: Some(join),
        ..ServerConfig::lan(std::net::SocketAddr::from(([0, 0, 0, 0], request.port)))
    };
    let token = config.access_token.clone().unwrap_or_default();
    let server = ServerThread::spawn(config).map_err(|e| AppError::Lan(e.to_string()))?;
    let urls = lan::join_urls(server.local_addr(), &token);
    let info = LanInfo {
        address: server.local_addr().to_string(),
        qr_svg: urls.first().and_then(|u| lan::qr_svg(u).ok()),
        urls,
        token,
        plan,
    };
    *slot = Some(LanServer { _server: server, info: info.clone() });
    Ok(info)
}

/// Stops the LAN server (its token dies with it). False if it was not running.
#[tauri::command]
pub fn stop_lan(state: State<'_, DuplexState>) -> bool {
    // Dropping the server thread stops it.
    state.lan().take().is_some()
}

fn store_into_history(app: AppHandle) -> ResultSink {
    Arc::new(move |record, report| {
        let state = app.state::<DuplexState>();
        state.history().save(record, report.headline().as_deref()).map_err(|e| e.to_string())?;
        let _ = app.emit(RUN_STORED_EVENT, &record.id);
        Ok(())
    })
}
