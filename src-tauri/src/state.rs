//! What the app holds while it runs: the embedded echo server, the run history, and the run
//! in progress (its cancel switch, then its record until the web-view part is merged).

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use duplex_core::plan::MAX_PAYLOAD_BYTES;
use duplex_core::protocol::message_bytes_for;
use duplex_core::server::{ServerConfig, ServerThread};
use duplex_core::session::RunSession;
use duplex_core::storage::History;
use tokio_util::sync::CancellationToken;

use crate::error::{AppError, AppResult};
use crate::lan::LanServer;
use crate::platform_tls::WebviewTrust;

/// Origins of the app's own page: `tauri://localhost` (Linux, macOS), `http(s)://tauri.localhost`
/// (Windows, Android) and the Vite dev server. Only these may read the HTTP echo (CORS).
pub const APP_ORIGINS: [&str; 4] =
    ["tauri://localhost", "http://tauri.localhost", "https://tauri.localhost", "http://localhost:1420"];

const HISTORY_FILE: &str = "history.sqlite";

pub struct DuplexState {
    pub server: Result<ServerThread, String>,
    pub data_dir: PathBuf,
    history: Mutex<History>,
    run: Mutex<RunSlot>,
    lan: Mutex<Option<LanServer>>,
    /// Whether the web view trusts the embedded server's certificate (see `platform_tls`).
    pub webview_trust: WebviewTrust,
}

/// The run in progress, if any.
#[derive(Default)]
pub struct RunSlot {
    /// Set while the native part runs.
    pub cancel: Option<CancellationToken>,
    /// The run between its native part and its web-view part (its power monitor keeps
    /// sampling until it is finished).
    pub pending: Option<RunSession>,
    /// The web view's link relay, for a run over an emulated link.
    pub relay: Option<duplex_core::link::Relay>,
}

/// The app's embedded server: its page may read the answers (CORS), and it takes the messages
/// of any plan the form accepts (a long-running server: a run cannot size it, as the command
/// line's per-run server is sized).
pub fn server_config() -> ServerConfig {
    ServerConfig {
        allowed_origins: APP_ORIGINS.iter().map(|o| (*o).to_owned()).collect(),
        max_message_bytes: message_bytes_for(MAX_PAYLOAD_BYTES),
        ..ServerConfig::default()
    }
}

impl DuplexState {
    pub fn new(data_dir: PathBuf) -> AppResult<DuplexState> {
        let mut history = History::open(&data_dir.join(HISTORY_FILE))?;
        for id in history.recover()? {
            tracing::warn!("recovered interrupted run {id}: its samples so far are kept, marked failed");
        }
        let server = ServerThread::spawn(server_config()).map_err(|e| e.to_string());
        if let Err(e) = &server {
            tracing::error!("embedded server: {e}");
        }
        Ok(DuplexState {
            server,
            data_dir,
            history: Mutex::new(history),
            run: Mutex::new(RunSlot::default()),
            lan: Mutex::new(None),
            webview_trust: WebviewTrust::default(),
        })
    }

    /// The embedded server as a run's target: its address, its certificate pinned (and the
    /// ones it renews it to).
    pub fn embedded_target(&self) -> AppResult<duplex_core::runner::Target> {
        let server = self.server.as_ref().map_err(|e| AppError::Server(e.clone()))?;
        Ok(duplex_core::runner::Target::InProcess {
            addr: server.local_addr(),
            trust: server.tls().map(duplex_core::runner::own_trust),
        })
    }

    pub fn server_addr(&self) -> AppResult<std::net::SocketAddr> {
        self.server.as_ref().map(ServerThread::local_addr).map_err(|e| AppError::Server(e.clone()))
    }

    /// Another connection to the history, for writing a run while it is measured.
    pub fn open_history(&self) -> AppResult<History> {
        Ok(History::open(&self.data_dir.join(HISTORY_FILE))?)
    }

    pub fn history(&self) -> MutexGuard<'_, History> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions), so
        // a poisoned lock is still safe to use.
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn run(&self) -> MutexGuard<'_, RunSlot> {
        self.run.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The LAN server, when serving on the LAN.
    pub fn lan(&self) -> MutexGuard<'_, Option<LanServer>> {
        self.lan.lock().unwrap_or_else(|p| p.into_inner())
    }
}
