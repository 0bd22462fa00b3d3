//! The Duplex app: the engine's embedded echo server, runs from native and web-view clients,
//! history and export, behind a handful of thin commands (see `commands`).

mod commands;
mod error;
mod lan;
mod live;
mod state;

use tauri::Manager;

pub use commands::{EXPORT_PATH_ENV, IMPORT_PATH_ENV};
pub use lan::RUN_STORED_EVENT;
pub use state::APP_ORIGINS;

/// Set this to keep the history somewhere other than the app's data folder (tests).
pub const DATA_DIR_ENV: &str = "DUPLEX_DATA_DIR";

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init()
        .ok();
    #[cfg(windows)]
    if let Err(e) = tauri::webview_version() {
        webview2_missing(&e.to_string());
        std::process::exit(1);
    }
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_duplex_battery::init())
        .setup(|app| {
            let data_dir = match std::env::var_os(DATA_DIR_ENV) {
                Some(dir) => dir.into(),
                None => app.path().app_data_dir()?,
            };
            app.manage(state::DuplexState::new(data_dir)?);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::start_run,
            commands::cancel_run,
            commands::finish_run,
            commands::list_runs,
            commands::open_run,
            commands::delete_run,
            commands::compare_runs,
            commands::export_run,
            commands::export_comparison,
            commands::import_bundles,
            lan::lan_status,
            lan::start_lan,
            lan::stop_lan,
            live::set_monitor_hz,
            live::summarize_monitor,
        ])
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("Duplex could not start: {e}");
            std::process::exit(1);
        }
    }
}

/// Windows draws the app in Microsoft Edge WebView2. Windows 11 has it and the installers fetch
/// it, but a Windows 10 without it (or Wine, which cannot run it) would otherwise meet a panic
/// while the window opens: say what is missing and where to get it, in a message box.
#[cfg(windows)]
fn webview2_missing(error: &str) {
    let text = format!(
        "Duplex draws its window with Microsoft Edge WebView2, which is not installed here \
         ({error}).\n\nInstall the WebView2 Runtime from \
         https://developer.microsoft.com/microsoft-edge/webview2/ and start Duplex again. \
         The duplex command line needs no WebView2."
    );
    eprintln!("Duplex could not start: {text}");
    rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Error)
        .set_title("Duplex needs WebView2")
        .set_description(text)
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
}
