// How numbers read: microseconds with a sensible unit, p-values, bytes, dates, costs.
import type { Cost, Summary } from "./bindings";

/** "9.1 µs", "1.23 ms", "12.3 ms" (as the engine's format_us). */
export function formatUs(us: number): string {
  if (!Number.isFinite(us)) return "—";
  if (us >= 10_000) return `${(us / 1e3).toFixed(1)} ms`;
  if (us >= 1_000) return `${(us / 1e3).toFixed(2)} ms`;
  return `${us.toFixed(1)} µs`;
}

/** A quantile of a summary as people should read it: a reading below the clock's step is a bound ("< 1.00 ms (clock step)"), never "0.0 µs" (as the engine's `Summary::show`). */
export function formatQuantile(s: Pick<Summary, "clock_step_us">, us: number): string {
  return belowStep(s, us) ? `< ${formatUs(s.clock_step_us!)} (clock step)` : formatUs(us);
}

/** Whether a reading lies below the clock's step (a bound, not a value), as `Summary::censored`. */
export function belowStep(s: Pick<Summary, "clock_step_us">, us: number): boolean {
  const step = s.clock_step_us;
  return step !== null && step !== undefined && step > 0 && us < step;
}

/** A ratio of medians, or why there is none: a bound ("≥ 3.0×") when one median is below its clock step. */
export function formatMedianRatio(ratio: number | null, atLeast: number | null = null): string {
  if (ratio !== null && Number.isFinite(ratio)) return formatRatio(ratio);
  if (atLeast !== null && Number.isFinite(atLeast)) return `≥ ${atLeast.toFixed(1)}×`;
  return "—";
}

export function formatP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return "—";
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}

/** Bytes as the terminal report writes them (`output/units.rs`): KiB from 1,024 B, MiB from 1 MiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "—";
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "—";
}

/** Local date and time of a Unix-nanosecond timestamp, e.g. "2026-11-25 14:03". */
export function formatDate(unixNs: number): string {
  const d = new Date(unixNs / 1e6);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "ws (web view)" / "http (native)". */
export function groupLabel(transport: string, client: string): string {
  return `${transport} (${client === "webview" ? "web view" : "native"})`;
}

/** Text safe to put inside HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Whatever was thrown or rejected (an Error, a string, a command's `{kind, message}`), as text. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  if (e && typeof e === "object" && "message" in e) return String((e as { message: unknown }).message);
  return "unexpected error: " + JSON.stringify(e);
}

/** A cost per message: energy in µJ/msg, CPU in CPU-seconds per 1,000 messages; ± its 95 % CI. */
export function formatCost(cost: Cost | undefined): string {
  const m = cost?.measured;
  if (!cost || !m) return "unavailable";
  const energy = cost.quantity === "rapl" || cost.quantity === "battery";
  const scale = energy ? 1e6 : 1e3;
  const digits = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3));
  const ci = m.per_message_ci95 === null ? "" : ` ± ${digits(m.per_message_ci95 * scale)}`;
  return `${digits(m.per_message * scale)}${ci} ${energy ? "µJ/msg" : "CPU-s/1k"}`;
}
