// What the web clients' tests share: a small plan, and the part of a plan the engine hands a page.
import type { ClientRun, Plan, Transport } from "./bindings";

/** Two sets of five calls of ws, http and xhr, back to back. */
export const plan: Plan = {
  name: null,
  description: null,
  transports: ["ws", "http", "xhr"],
  sets: 2,
  calls: 5,
  interval_ms: 0,
  rate: null,
  payload_bytes: 4,
  warmup: 2,
  concurrency: 1,
  order: "interleaved",
  binary: false,
  http_method: "post",
  poll_interval_ms: 100,
  tick_ms: 100,
  timeout_ms: 1000,
  power: { sample_ms: 200, baseline_ms: 2000 },
  link: null,
};

/** Transports a page is handed by a server it does not trust for TLS. */
const PAGE: Transport[] = ["ws", "http", "xhr", "wt", "wt-streams", "wt-dgram"];

/** The web view's part of `plan` as the engine hands it: web transports, interleaved blocks. */
export function runOf(plan: Plan): ClientRun {
  const transports = plan.transports.filter((t) => PAGE.includes(t));
  const blocks: [Transport, number][] = [];
  for (let set = 1; set <= plan.sets; set++) for (const t of transports) blocks.push([t, set]);
  return { client: "webview", plan: { ...plan, transports }, blocks, calls: blocks.length * plan.calls * plan.concurrency, labels: transports.map((t) => [t, `${t} (web view)`]) };
}
