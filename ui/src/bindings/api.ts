// Generated from the commands' Rust signatures (src-tauri/src/commands/) by
// `DUPLEX_BLESS=1 cargo test -p duplex-app --test commands`: do not edit. Every error
// becomes an Error with a readable message.
import { Channel, invoke } from "@tauri-apps/api/core";

import { errorMessage } from "../format";
import type { AppInfo, ClientPart, CompareOptions, FanoutPlan, FanoutProgress, FanoutReport, Imported, LanInfo, LanRequest, PendingRun, PlanCheck, PlatformComparison, ReportFiles, RunListItem, RunRequest, RunStatus, RunView, Session, SessionSummary, SweepRun, Update } from "./index";

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw new Error(errorMessage(e));
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  validatePlan: (request: RunRequest) => call<PlanCheck>("validate_plan", { request }),
  startRun: (request: RunRequest, onUpdate: (message: Update) => void) => {
    const onUpdateChannel = new Channel<Update>();
    onUpdateChannel.onmessage = onUpdate;
    return call<PendingRun>("start_run", { request, onUpdate: onUpdateChannel });
  },
  cancelRun: () => call<boolean>("cancel_run"),
  finishRun: (part: ClientPart | null) => call<RunView>("finish_run", { part }),
  nextSweepRun: (request: RunRequest, ran: RunStatus[], cancelled: boolean) => call<SweepRun | null>("next_sweep_run", { request, ran, cancelled }),
  listRuns: () => call<RunListItem[]>("list_runs"),
  openRun: (id: string) => call<RunView>("open_run", { id }),
  sweepView: (ids: string[]) => call<RunView>("sweep_view", { ids }),
  deleteRun: (id: string) => call<boolean>("delete_run", { id }),
  compareRuns: (ids: string[], options: CompareOptions) => call<PlatformComparison>("compare_runs", { ids, options }),
  exportRun: (id: string) => call<ReportFiles | null>("export_run", { id }),
  exportHtml: (id: string) => call<string | null>("export_html", { id }),
  setNote: (id: string, note: string) => call<void>("set_note", { id, note }),
  exportMonitor: (session: Session) => call<string | null>("export_monitor", { session }),
  exportComparison: (ids: string[], options: CompareOptions) => call<string | null>("export_comparison", { ids, options }),
  importBundles: () => call<Imported | null>("import_bundles"),
  lanStatus: () => call<LanInfo | null>("lan_status"),
  startLan: (request: LanRequest) => call<LanInfo>("start_lan", { request }),
  stopLan: () => call<boolean>("stop_lan"),
  setMonitorHz: (hz: number) => call<number>("set_monitor_hz", { hz }),
  summarizeMonitor: (session: Session) => call<SessionSummary>("summarize_monitor", { session }),
  runFanout: (plan: FanoutPlan, onProgress: (message: FanoutProgress) => void) => {
    const onProgressChannel = new Channel<FanoutProgress>();
    onProgressChannel.onmessage = onProgress;
    return call<FanoutReport>("run_fanout", { plan, onProgress: onProgressChannel });
  },
  exportFanout: (report: FanoutReport) => call<string | null>("export_fanout", { report }),
};
