// How the page words what it measures itself (the web view's progress, the live monitor's
// stream, chart axes): microseconds and bytes by the engine's rules, checked against the engine
// by format.test.ts on bindings/words.json. Figures of reports arrive in the engine's words.
import type { Summary } from "./bindings";

/** "9.1 µs", "1.23 ms", "12.3 ms" (the engine's `format_us`). */
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

/** "812 B", "1.5 KiB" (from 1,024 B), "3.0 MiB" (the engine's `format_bytes`). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "—";
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** Local date and time of a Unix-nanosecond timestamp, e.g. "2026-11-25 14:03". */
export function formatDate(unixNs: number): string {
  const d = new Date(unixNs / 1e6);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
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

