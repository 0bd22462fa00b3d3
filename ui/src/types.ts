// Shapes of the data the app's commands exchange with the engine (serde JSON). Engine types
// keep Rust's snake_case field names; the app's own command types are camelCase.

export type Transport = "ws" | "http" | "http-new" | "ws-push" | "long-poll" | "poll" | "xhr";
export type ClientKind = "native" | "webview";
export type RunStatus = "complete" | "cancelled" | "failed";

export interface Plan {
  name: string | null;
  description: string | null;
  transports: Transport[];
  sets: number;
  calls: number;
  interval_ms: number;
  rate: number | null;
  payload_bytes: number;
  warmup: number;
  concurrency: number;
  order: "interleaved" | "in-turn";
  binary: boolean;
  http_method: "get" | "post";
  poll_interval_ms: number;
  tick_ms: number;
  timeout_ms: number;
  power: { sample_ms: number; baseline_ms: number };
}

export interface PlatformInfo {
  os: string;
  os_version: string;
  kernel: string;
  arch: string;
  cpu_model: string;
  logical_cores: number;
  physical_cores: number | null;
  memory_bytes: number;
  host_name: string;
  device_model: string | null;
}

export interface AppInfo {
  version: string;
  server: { Ok: string } | { Err: string };
  dataDir: string;
  platform: PlatformInfo;
  presets: Plan[];
}

export interface Sample {
  transport: Transport;
  client: ClientKind;
  client_id: number;
  set: number;
  seq: number;
  sent_at_unix_ns: number;
  latency_ns: number;
  send_delay_ns: number;
  server_time_unix_ns: number | null;
  bytes_out: number;
  bytes_in: number;
  error: string | null;
}

export interface BlockTiming {
  transport: Transport;
  client: ClientKind;
  set: number;
  /** Unix ns when the block began: energy is attributed to transports by these windows. */
  started_at_unix_ns: number;
  elapsed_ns: number;
}

export interface WebviewInfo {
  user_agent: string;
  timer_resolution_us: number;
}

/** The web view's part of a run, merged into the record by `finish_run`. */
export interface ClientPart {
  client: ClientKind;
  status: RunStatus;
  error: string | null;
  info: WebviewInfo | null;
  samples: Sample[];
  blocks: BlockTiming[];
}

export interface RunRecord {
  id: string;
  duplex_version: string;
  started_at_unix_ns: number;
  finished_at_unix_ns: number;
  status: RunStatus;
  error: string | null;
  plan: Plan;
  target: string;
  server: string;
  topology: string;
  platform: PlatformInfo;
  webview: WebviewInfo | null;
}

export interface Summary {
  count: number;
  errors: number;
  mean_us: number;
  sd_us: number;
  se_us: number;
  ci95_low_us: number;
  ci95_high_us: number;
  min_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  per_ms: number | null;
  bytes_out_per_msg: number;
  bytes_in_per_msg: number;
}

export interface NormalFit {
  mu_us: number;
  sigma_us: number;
  skewness: number;
  excess_kurtosis: number;
  jarque_bera_p: number;
  ks_normal: number;
  ks_lognormal: number | null;
  ks_critical: number;
  fits: boolean;
  verdict: string;
}

export interface TransportReport {
  transport: Transport;
  client: ClientKind;
  overall: Summary;
  sets: { set: number; summary: Summary }[];
  normal: NormalFit | null;
}

export interface Comparison {
  client: ClientKind;
  websocket: Transport;
  other: Transport;
  ws_median_us: number;
  other_median_us: number;
  median_ratio: number;
  mean_ratio: number;
  welch_p: number;
  mann_whitney_p: number;
  bytes_ratio: number;
  /** The verdict rests on means: the client's clock was too coarse for medians. */
  by_means: boolean;
  verdict: string;
}

export interface Report {
  run_id: string;
  transports: TransportReport[];
  comparisons: Comparison[];
  notes: string[];
  energy: EnergyReport | null;
}

export type Quantity = "process-cpu" | "system-cpu" | "rapl" | "battery";

export interface SensorStatus {
  sensor: string;
  source: string;
  unavailable: string | null;
  failed_reads: number;
  last_error: string | null;
}

export interface Attributed {
  total: number;
  idle: number;
  above_idle: number;
  ci95: number | null;
  rate_above_idle: number;
  per_message: number;
  per_message_ci95: number | null;
}

export interface Cost {
  quantity: Quantity;
  measured: Attributed | null;
  unavailable: string | null;
}

export interface TransportEnergy {
  transport: Transport;
  client: ClientKind;
  seconds: number;
  messages: number;
  costs: Cost[];
  battery_drain_pct_per_h: number | null;
  peak_memory_bytes: number | null;
}

export interface EnergyComparison {
  client: ClientKind;
  ws: Transport;
  other: Transport;
  quantity: Quantity;
  ratio: number | null;
  ratio_ci95: [number, number] | null;
  verdict: string;
}

export interface EnergyReport {
  sensors: SensorStatus[];
  baseline_s: number | null;
  transports: TransportEnergy[];
  comparisons: EnergyComparison[];
  notes: string[];
}

/** Rates between consecutive power readings, for the power-over-time chart. */
export interface PowerSeries {
  at_unix_ns: number[];
  process_cpu_cores: (number | null)[];
  system_cpu_cores: (number | null)[];
  rapl_w: (number | null)[];
  battery_w: (number | null)[];
  memory_bytes: (number | null)[];
}

export interface Series {
  transport: Transport;
  client: ClientKind;
  latency_us: number[];
  set: number[];
  errors: number;
}

export interface RunView {
  record: RunRecord;
  report: Report;
  series: Series[];
  power: PowerSeries | null;
}

export interface PendingRun {
  runId: string;
  status: RunStatus;
  error: string | null;
  server: string;
  nativeSamples: number;
}

export type RunUpdate =
  | { type: "started"; runId: string; server: string }
  | { type: "baseline"; durationMs: number }
  | {
      type: "progress";
      client: ClientKind;
      transport: Transport;
      set: number;
      sets: number;
      done: number;
      total: number;
      p50Us: number | null;
    };

export interface RunListItem {
  id: string;
  started_at_unix_ns: number;
  finished_at_unix_ns: number;
  status: RunStatus;
  plan_name: string | null;
  target: string;
  platform: string;
  transports: string[];
  clients: string[];
  samples: number;
  headline: string | null;
}

export type GroupBy = "run" | "platform";

export interface PlatformCell {
  group: number;
  transport: Transport;
  client: ClientKind;
  summary: Summary;
  cpu_s_per_1k: number | null;
  energy_uj_per_msg: number | null;
  over_ws_median: number | null;
  vs_reference_median: number | null;
  vs_reference_p: number | null;
  vs_reference: string | null;
}

export interface PlatformComparison {
  by: GroupBy;
  groups: { label: string; run_ids: string[]; clocks: string }[];
  cells: PlatformCell[];
}

export interface Imported {
  added: string[];
  already_here: string[];
}

export interface ReportFiles {
  samples: string;
  summary: string;
  comparisons: string;
  power: string;
  energy: string;
  run: string;
  bundle: string;
}

/** Errors from commands arrive as `{ kind, message }`. */
export interface AppError {
  kind: string;
  message: string;
}

/** The LAN server while it runs (src-tauri/src/lan.rs). */
export interface LanInfo {
  address: string;
  urls: string[];
  token: string;
  qrSvg: string | null;
  plan: Plan;
}

/** A watching session's summary (crates/core/src/monitor/session.rs). */
export interface FeedSummary {
  feed: "push" | "poll" | "long-poll";
  messages: number;
  snapshots: number;
  missed: number;
  staleness_ms: { mean: number; p50: number; p95: number; p99: number; max: number } | null;
  mean_age_ms: number | null;
  bytes_per_s: number;
  messages_per_s: number;
  bytes_per_snapshot: number | null;
  handler_ms_per_s: number;
}

export interface SessionSummary {
  duration_s: number;
  feeds: FeedSummary[];
  notes: string[];
}
