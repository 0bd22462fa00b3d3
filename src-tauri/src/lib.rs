//! The Duplex app: the engine's embedded echo server, runs from native and web-view clients,
//! history and export, behind a handful of thin commands (see [`commands`]). It may use
//! `duplex-core` (the engine, which re-exports the crates below it) and the battery plugin. [`app`] puts it
//! together on any Tauri runtime, so its commands are tested on Tauri's mock runtime with no
//! web view (`tests/commands.rs`); [`run`] starts it for real.

pub mod commands;
mod error;
pub mod lan;
mod platform_tls;
mod state;

use std::path::PathBuf;

use tauri::{Manager, Runtime};

pub use commands::history::{EXPORT_PATH_ENV, IMPORT_PATH_ENV};
pub use commands::lan::RUN_STORED_EVENT;
pub use error::{AppError, AppResult};
pub use state::{APP_ORIGINS, DuplexState, server_config};

/// Set this to keep the history somewhere other than the app's data folder (tests).
pub const DATA_DIR_ENV: &str = "DUPLEX_DATA_DIR";

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| duplex_core::QUIET_DEPENDENCIES.replace("{level}", "info").into()),
        )
        .try_init()
        .ok();
    #[cfg(windows)]
    if let Err(e) = tauri::webview_version() {
        webview2_missing(&e.to_string());
        std::process::exit(1);
    }
    let data_dir = std::env::var_os(DATA_DIR_ENV).map(PathBuf::from);
    let built = app(tauri::Builder::default(), data_dir)
        .map_err(|e| e.to_string())
        .and_then(|b| b.build(tauri::generate_context!()).map_err(|e| e.to_string()));
    match built {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("Duplex could not start: {e}");
            std::process::exit(1);
        }
    }
}

/// The app on any Tauri runtime: its plugins, its state (history in `data_dir`, else the app's
/// data folder, which is known once the app is set up; the embedded server, whose certificate its
/// web view is told to trust) and its commands.
pub fn app<R: Runtime>(
    builder: tauri::Builder<R>,
    data_dir: Option<PathBuf>,
) -> AppResult<tauri::Builder<R>> {
    let builder = builder.plugin(tauri_plugin_dialog::init()).plugin(tauri_plugin_duplex_battery::init());
    let builder = match data_dir {
        Some(dir) => builder.manage(state::DuplexState::new(dir)?),
        None => builder,
    };
    // Setup runs once the windows exist, before their pages ask anything.
    let builder = builder.setup(|app| {
        if app.try_state::<state::DuplexState>().is_none() {
            app.manage(state::DuplexState::new(app.path().app_data_dir()?)?);
        }
        platform_tls::set_up(app);
        Ok(())
    });
    Ok(builder.invoke_handler(tauri::generate_handler![
        commands::run::app_info,
        commands::run::validate_plan,
        commands::run::start_run,
        commands::run::cancel_run,
        commands::run::finish_run,
        commands::run::next_sweep_run,
        commands::history::list_runs,
        commands::history::open_run,
        commands::history::sweep_view,
        commands::history::delete_run,
        commands::history::compare_runs,
        commands::history::export_run,
        commands::history::export_html,
        commands::history::set_note,
        commands::live::export_monitor,
        commands::history::export_comparison,
        commands::history::import_bundles,
        commands::lan::lan_status,
        commands::lan::start_lan,
        commands::lan::stop_lan,
        commands::live::set_monitor_hz,
        commands::live::summarize_monitor,
        commands::fanout::run_fanout,
        commands::fanout::export_fanout,
    ]))
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
