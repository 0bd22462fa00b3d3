// Typed wrappers of the app's commands (src-tauri/src/commands/). Every error becomes an
// Error with a readable message.
import { Channel, invoke } from "@tauri-apps/api/core";

import { errorMessage } from "./format";

import type {
  AppInfo,
  ClientPart,
  PendingRun,
  PlanCheck,
  RunRequest,
  ReportFiles,
  CompareOptions,
  Imported,
  LanInfo,
  LanRequest,
  SessionSummary,
  PlatformComparison,
  RunListItem,
  Update,
  RunView,
  Session,
  FanoutPlan,
  FanoutProgress,
  FanoutReport,
} from "./bindings";

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw new Error(errorMessage(e));
  }
}

export { errorMessage };

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  validatePlan: (request: RunRequest) => call<PlanCheck>("validate_plan", { request }),
  startRun: (request: RunRequest, onUpdate: (u: Update) => void) => {
    const channel = new Channel<Update>();
    channel.onmessage = onUpdate;
    return call<PendingRun>("start_run", { request, onUpdate: channel });
  },
  cancelRun: () => call<boolean>("cancel_run"),
  finishRun: (part: ClientPart | null) => call<RunView>("finish_run", { part }),
  listRuns: () => call<RunListItem[]>("list_runs"),
  openRun: (id: string) => call<RunView>("open_run", { id }),
  sweepView: (ids: string[]) => call<RunView>("sweep_view", { ids }),
  deleteRun: (id: string) => call<boolean>("delete_run", { id }),
  compareRuns: (ids: string[], options: CompareOptions) => call<PlatformComparison>("compare_runs", { ids, options }),
  exportMonitor: (session: Session) => call<string | null>("export_monitor", { session }),
  setNote: (id: string, note: string) => call<void>("set_note", { id, note }),
  exportHtml: (id: string) => call<string | null>("export_html", { id }),
  exportComparison: (ids: string[], options: CompareOptions) => call<string | null>("export_comparison", { ids, options }),
  importBundles: () => call<Imported | null>("import_bundles"),
  exportRun: (id: string) => call<ReportFiles | null>("export_run", { id }),
  lanStatus: () => call<LanInfo | null>("lan_status"),
  startLan: (request: LanRequest) => call<LanInfo>("start_lan", { request }),
  stopLan: () => call<boolean>("stop_lan"),
  setMonitorHz: (hz: number) => call<number>("set_monitor_hz", { hz }),
  summarizeMonitor: (session: Session) => call<SessionSummary>("summarize_monitor", { session }),
  runFanout: (plan: FanoutPlan, onProgress: (p: FanoutProgress) => void) => {
    const channel = new Channel<FanoutProgress>();
    channel.onmessage = onProgress;
    return call<FanoutReport>("run_fanout", { plan, onProgress: channel });
  },
  exportFanout: (report: FanoutReport) => call<string | null>("export_fanout", { report }),
};
