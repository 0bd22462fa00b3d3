// Declares the app's own commands so capabilities can allow exactly these and no others.
const COMMANDS: &[&str] = &[
    "app_info",
    "validate_plan",
    "start_run",
    "cancel_run",
    "finish_run",
    "next_sweep_run",
    "list_runs",
    "open_run",
    "sweep_view",
    "delete_run",
    "compare_runs",
    "export_run",
    "export_html",
    "set_note",
    "export_monitor",
    "export_comparison",
    "import_bundles",
    "lan_status",
    "start_lan",
    "stop_lan",
    "set_monitor_hz",
    "summarize_monitor",
    "run_fanout",
    "export_fanout",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build configuration is valid");
}
