// The Fan-out view's reading of its form and its report in words, apart from the view so that
// tests need no charts.
import { formatUs } from "./format";
import type { FanoutReport } from "./bindings";

/** A latency or CPU time in µs, or a dash where there is none. */
export const us = (x: number | null | undefined): string => (x === null || x === undefined ? "—" : formatUs(x));

/** "100, 1000" or "100 1,000": the subscriber counts, or a reason they are not. */
export function parseCounts(text: string): number[] | string {
  const parts = text.split(/[\s;]+|,(?!\d{3}\b)/).map((p) => p.replace(/[,_]/g, "")).filter((p) => p !== "");
  if (!parts.length) return "give at least one subscriber count, such as 100, 1000";
  const counts = parts.map(Number);
  const bad = parts.find((_, i) => !Number.isInteger(counts[i]) || counts[i] < 1 || counts[i] > 100_000);
  if (bad !== undefined) return `“${bad}” is not a subscriber count (a whole number from 1 to 100,000)`;
  return [...new Set(counts)].sort((a, b) => a - b);
}

/** At the most subscribers: who reaches the last one first, and by how much. */
export function headline(r: FanoutReport): string {
  const n = Math.max(...r.cells.map((c) => c.subscribers));
  const atN = r.cells.filter((c) => c.subscribers === n && c.last_us != null);
  if (!atN.length) return "No broadcast reached every subscriber.";
  const fastest = atN.reduce((a, b) => ((b.last_us ?? Infinity) < (a.last_us ?? Infinity) ? b : a));
  const others = atN
    .filter((c) => c !== fastest)
    .map((c) => `${c.transport} ${us(c.last_us)} (${((c.last_us ?? 0) / (fastest.last_us ?? 1)).toFixed(1)}×)`);
  return `At ${n.toLocaleString()} subscribers the last one has a ${fastest.transport} event after ${us(fastest.last_us)}${
    others.length ? `; ${others.join(", ")}` : ""
  }.`;
}

