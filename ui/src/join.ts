// The page a browser opens to join a Duplex server over the network (the token URL or QR
// code the host shows): it runs the WebSocket vs fetch/XHR test here, shows what it measured,
// and posts the samples to the host, which stores them as a run of this device and browser.
import "./style.css";

import { errorMessage, escapeHtml, formatQuantile } from "./format";
import { median, quantileSorted } from "./stats";
import type { ClientPart, JoinPlan, JoinResults, Stored, Transport } from "./bindings";
import { $, clearError, showError } from "./ui";
import { browserChannels, runWebview } from "./webclients";

/** What a person calls each transport of a page. */
// The engine's names first (its verdicts say "http" and "xhr"), then the browser API each is.
const NAMES: Partial<Record<Transport, string>> = { ws: "ws (WebSocket)", http: "http (fetch)", xhr: "xhr (XMLHttpRequest)" };
const nameOf = (t: Transport) => NAMES[t] ?? t;

const params = new URLSearchParams(location.search);
const token = params.get("token");
const auth = token ? `?token=${encodeURIComponent(token)}` : "";

function setState(state: "ready" | "running" | "stored" | "failed"): void {
  document.body.dataset.state = state;
}

async function asJson<T>(response: Response): Promise<T> {
  const text = await response.text();
  if (!response.ok) {
    let reason = text;
    try {
      reason = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      /* not JSON: the text is the reason */
    }
    throw new Error(`the host answered HTTP ${response.status}: ${reason.slice(0, 300)}`);
  }
  return JSON.parse(text) as T;
}

/** What this page can tell the host about its device. */
function device() {
  const nav = navigator as Navigator & { deviceMemory?: number };
  return {
    user_agent: nav.userAgent,
    platform: nav.platform ?? "",
    logical_cores: nav.hardwareConcurrency ?? 0,
    memory_gib: nav.deviceMemory ?? null,
  };
}

/** Median and p99 per transport, µs, of the calls that succeeded. */
function summarize(part: ClientPart): { transport: Transport; n: number; errors: number; p50: number; p99: number }[] {
  const by = new Map<Transport, number[]>();
  const errors = new Map<Transport, number>();
  for (const s of part.samples) {
    if (s.error) errors.set(s.transport, (errors.get(s.transport) ?? 0) + 1);
    else by.set(s.transport, [...(by.get(s.transport) ?? []), s.latency_ns / 1e3]);
  }
  return [...new Set(part.samples.map((s) => s.transport))].map((transport) => {
    const xs = (by.get(transport) ?? []).sort((a, b) => a - b);
    return { transport, n: xs.length, errors: errors.get(transport) ?? 0, p50: median(xs), p99: quantileSorted(xs, 0.99) };
  });
}

/** What this browser measured, as a table; the verdict is the host's (one statistic, one analysis, on both sides). */
function showResult(part: ClientPart): void {
  const rows = summarize(part);
  const clock = { clock_step_us: part.info?.timer_resolution_us ?? null };
  $("#join-verdict").textContent = "Measured. Asking the host for its verdict…";
  $("#join-table").innerHTML =
    "<thead><tr><th>Transport</th><th>Calls</th><th>Errors</th><th>Median</th><th>p99</th></tr></thead><tbody>" +
    rows
      .map(
        (r) =>
          `<tr><td>${escapeHtml(nameOf(r.transport))}</td><td>${r.n}</td><td>${r.errors}</td><td>${escapeHtml(formatQuantile(clock, r.p50))}</td><td>${r.n >= 100 ? escapeHtml(formatQuantile(clock, r.p99)) : "—"}</td></tr>`,
      )
      .join("") +
    "</tbody>";
  $("#join-result-card").hidden = false;
  $("#join-result-card").scrollIntoView({ block: "start" });
}

async function fetchTicket(): Promise<JoinPlan> {
  return asJson<JoinPlan>(await fetch(`/join/plan${auth}`, { cache: "no-store" }));
}

async function boot(): Promise<void> {
  $("#join-host").textContent = `host ${location.host}`;
  let ticket: JoinPlan | null;
  try {
    ticket = await fetchTicket();
  } catch (e) {
    setState("failed");
    showError(`cannot join: ${errorMessage(e)}`);
    return;
  }
  const { plan, calls: total } = ticket.run;
  $("#join-facts").innerHTML = [
    ["Plan", plan.name ?? "custom"],
    ["Transports", plan.transports.map(nameOf).join(", ")],
    ["Calls", `${plan.sets} sets × ${plan.calls} per transport (${total} in all)`],
    ["Payload", `${plan.payload_bytes} B`],
    ["This browser", navigator.userAgent],
  ]
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join("");
  const start = $("#join-start") as HTMLButtonElement;
  const cancel = $("#join-cancel") as HTMLButtonElement;
  start.disabled = false;
  setState("ready");

  start.onclick = async () => {
    clearError();
    setState("running");
    start.disabled = true;
    $("#join-stored").textContent = "";
    try {
      // Every run is a run of its own on the host: a second one asks for a new ticket.
      ticket ??= await fetchTicket();
    } catch (e) {
      setState("failed");
      start.disabled = false;
      showError(`cannot join: ${errorMessage(e)}`);
      return;
    }
    const run = ticket;
    ticket = null;
    cancel.hidden = false;
    const abort = new AbortController();
    cancel.onclick = () => abort.abort();
    $("#join-progress-card").hidden = false;
    const bar = $("#join-progress") as HTMLProgressElement;
    const part = await runWebview(run.run, location.host, {
      channels: browserChannels(token),
      signal: abort.signal,
      onProgress: (p) => {
        bar.value = p.total ? p.done / p.total : 0;
        $("#join-phase").textContent = `${p.transport}: set ${p.set} of ${p.sets}, ${p.done} of ${p.total} calls${p.p50Us === null ? "" : `, median ${formatQuantile({ clock_step_us: p.clockStepUs }, p.p50Us)}`}`;
      },
    });
    cancel.hidden = true;
    bar.value = 1;
    $("#join-phase").textContent = part.error ? `stopped: ${part.error}` : `${part.status}: ${part.samples.length} calls measured`;
    showResult(part);
    try {
      const stored = await asJson<Stored>(
        await fetch(`/join/results${auth}`, {
          method: "POST",
          body: JSON.stringify({ run_id: run.run_id, device: device(), part } satisfies JoinResults),
        }),
      );
      // Every verdict, fetch's and XHR's, as the host's statistics gave them.
      const verdicts = stored.verdicts?.length ? stored.verdicts : stored.headline ? [stored.headline] : [];
      $("#join-verdict").textContent = verdicts.length ? verdicts.join(" · ") : "The host found no WebSocket-vs-AJAX verdict in this run.";
      $("#join-stored").textContent = `Stored on the host as run ${stored.run_id.slice(0, 8)}, beside the host's other runs.`;
      setState("stored");
    } catch (e) {
      setState("failed");
      $("#join-verdict").textContent = "No verdict: the host did not take the results (the table above is what this browser measured).";
      showError(`the results could not be stored: ${errorMessage(e)}`);
    }
    start.textContent = "Run again";
    start.disabled = false;
  };
  if (params.get("autostart") === "1") start.click();
}

void boot();
