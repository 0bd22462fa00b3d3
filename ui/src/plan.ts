// The plan form's logic: which transports each kind of client measures, the order of blocks,
// how many calls a plan makes, and checking a plan before it is sent to the engine.
import type { ClientKind, Plan, Transport } from "./types";

/** Transports shown in the plan form, with what they mean. */
export const TRANSPORTS: { id: Transport; label: string; clients: ClientKind[] }[] = [
  { id: "ws", label: "WebSocket echo", clients: ["native", "webview"] },
  { id: "http", label: "AJAX (HTTP keep-alive; fetch in the web view)", clients: ["native", "webview"] },
  { id: "xhr", label: "AJAX by XMLHttpRequest (the paper's jQuery; web view)", clients: ["webview"] },
  { id: "http-new", label: "AJAX, new connection per request (native)", clients: ["native"] },
];

/** As the engine's `Transport::runs_on`. */
export function runsOn(transport: Transport, client: ClientKind): boolean {
  if (client === "native") return transport !== "xhr";
  return transport === "ws" || transport === "http" || transport === "xhr";
}

/** The (transport, set) blocks in the order they run, as the engine's `Plan::blocks`. */
export function blocks(plan: Pick<Plan, "transports" | "sets" | "order">): [Transport, number][] {
  const out: [Transport, number][] = [];
  if (plan.order === "in-turn") {
    for (const t of plan.transports) for (let s = 1; s <= plan.sets; s++) out.push([t, s]);
  } else {
    for (let s = 1; s <= plan.sets; s++) for (const t of plan.transports) out.push([t, s]);
  }
  return out;
}

/** Calls recorded by one kind of client. */
export function callsFor(plan: Plan, client: ClientKind): number {
  return plan.transports.filter((t) => runsOn(t, client)).length * plan.sets * plan.calls * plan.concurrency;
}

export interface Clients {
  native: boolean;
  webview: boolean;
}

/** Problems a person can fix in the form, in plain words; empty when the plan can run. */
export function problems(plan: Plan, clients: Clients, targetUrl: string | null): string[] {
  const out: string[] = [];
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  if (plan.transports.length === 0) out.push("Choose at least one transport.");
  if (!clients.native && !clients.webview) out.push("Choose native clients, web-view clients, or both.");
  if (!whole(plan.sets) || !whole(plan.calls)) out.push("Sets and calls must be whole numbers of at least 1.");
  if (!whole(plan.concurrency) || plan.concurrency > 10_000) out.push("Concurrency must be 1 to 10,000.");
  if (!(plan.interval_ms >= 0)) out.push("The interval must be 0 ms or more.");
  if (!(Number.isInteger(plan.payload_bytes) && plan.payload_bytes >= 0 && plan.payload_bytes <= 16 << 20))
    out.push("The payload must be 0 to 16 MiB.");
  if (!(Number.isInteger(plan.warmup) && plan.warmup >= 0)) out.push("Warm-up must be 0 or more calls.");
  const power = plan.power;
  if (!(Number.isInteger(power.sample_ms) && (power.sample_ms === 0 || power.sample_ms >= 20)))
    out.push("Power readings must be every 20 ms or more (0 turns them off).");
  if (!(Number.isInteger(power.baseline_ms) && power.baseline_ms >= 0 && power.baseline_ms <= 3_600_000))
    out.push("The idle baseline must be 0 ms to an hour.");
  if (targetUrl !== null) {
    if (!/^(https?|wss?):\/\/[^/\s]+/.test(targetUrl)) out.push("The server URL must look like http://host:port.");
    if (clients.webview) out.push("Web-view clients measure the embedded server only: untick them for a remote server.");
  }
  const measurable = plan.transports.filter(
    (t) => (clients.native && runsOn(t, "native")) || (clients.webview && runsOn(t, "webview")),
  );
  if (plan.transports.length > 0 && measurable.length === 0) out.push("None of the chosen transports runs on the chosen clients.");
  return out;
}
