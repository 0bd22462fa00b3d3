// The page a browser opens to join a Duplex server over the network (the token URL or QR
// code the host shows): it runs the WebSocket vs fetch/XHR test here, shows what it measured,
// and posts the samples to the host, which stores them as a run of this device and browser.
import "./style.css";

import { errorMessage, escapeHtml, formatQuantile } from "./format";
import type { ClientPart, JoinPlan, JoinResults, Stored, StoredRow, Transport } from "./bindings";
import { $, clearError, showError } from "./ui";
import { browserChannels, runWebview } from "./webclients";
import { webTransportUnavailable } from "./webtransport";

/** What a person calls each transport of a page. */
// The engine's names first (its verdicts say "http" and "xhr"), then the browser API each is.
const NAMES: Partial<Record<Transport, string>> = {
  ws: "ws (WebSocket)",
  http: "http (fetch)",
  xhr: "xhr (XMLHttpRequest)",
  wt: "wt (WebTransport stream)",
  "wt-streams": "wt-streams (WebTransport, a stream per message)",
  "wt-dgram": "wt-dgram (WebTransport datagrams)",
};
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

/** Calls and errors per transport: what this browser measured, before the host reads it. */
function counts(part: ClientPart, pending = "…"): StoredRow[] {
  return [...new Set(part.samples.map((s) => s.transport))].map((transport) => {
    const mine = part.samples.filter((s) => s.transport === transport);
    const errors = mine.filter((s) => s.error).length;
    return { label: nameOf(transport), calls: mine.length - errors, errors, median: pending, p99: pending };
  });
}

/** The table of what this browser measured: its counts at once, the host's figures (median, p99,
 * in the engine's words: one statistic, one analysis, on both sides) when it has stored them. */
function showTable(rows: StoredRow[]): void {
  $("#join-table").innerHTML =
    "<thead><tr><th>Transport</th><th>Calls</th><th>Errors</th><th>Median</th><th>p99</th></tr></thead><tbody>" +
    rows.map((r) => `<tr><td>${escapeHtml(r.label)}</td><td>${r.calls}</td><td>${r.errors}</td><td>${escapeHtml(r.median)}</td><td>${escapeHtml(r.p99)}</td></tr>`).join("") +
    "</tbody>";
  $("#join-result-card").hidden = false;
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
  const access = ticket.webtransport;
  $("#join-facts").innerHTML = [
    ["Plan", plan.name ?? "custom"],
    ["Transports", plan.transports.map(nameOf).join(", ")],
    ["Calls", `${plan.sets} sets × ${plan.calls} per transport (${total} in all)`],
    ["Payload", `${plan.payload_bytes} B`],
    ["This browser", navigator.userAgent],
    // Said before the run: what this browser will leave out, and why.
    ...plan.transports.flatMap((t) => {
      const why = webTransportUnavailable(t, access);
      return why ? [[`No ${t}`, why]] : [];
    }),
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
      channels: browserChannels(token, run.webtransport),
      signal: abort.signal,
      onProgress: (p) => {
        bar.value = p.total ? p.done / p.total : 0;
        $("#join-phase").textContent = `${p.transport}: set ${p.set} of ${p.sets}, ${p.done} of ${p.total} calls${p.p50Us === null ? "" : `, median ${formatQuantile({ clock_step_us: p.clockStepUs }, p.p50Us)}`}`;
      },
    });
    cancel.hidden = true;
    bar.value = 1;
    $("#join-phase").textContent = part.error ? `stopped: ${part.error}` : `${part.status}: ${part.samples.length} calls measured`;
    $("#join-verdict").textContent = "Measured. Asking the host for its verdict…";
    showTable(counts(part));
    $("#join-result-card").scrollIntoView({ block: "start" });
    try {
      const stored = await asJson<Stored>(
        await fetch(`/join/results${auth}`, {
          method: "POST",
          body: JSON.stringify({ run_id: run.run_id, device: device(), part } satisfies JoinResults),
        }),
      );
      // Every verdict, fetch's and XHR's, as the host's statistics gave them.
      const verdicts = stored.verdicts?.length ? stored.verdicts : stored.headline ? [stored.headline] : [];
      // One verdict a line: a run of six transports has five.
      $("#join-verdict").innerHTML = verdicts.length ? verdicts.map(escapeHtml).join("<br>") : "The host found no WebSocket-vs-AJAX verdict in this run.";
      if (stored.rows.length) showTable(stored.rows);
      $("#join-stored").textContent = `Stored on the host as run ${stored.run_id.slice(0, 8)}, beside the host's other runs.`;
      setState("stored");
    } catch (e) {
      setState("failed");
      $("#join-verdict").textContent = "No verdict: the host did not take the results (the table above counts what this browser measured).";
      showTable(counts(part, "—"));
      showError(`the results could not be stored: ${errorMessage(e)}`);
    }
    start.textContent = "Run again";
    start.disabled = false;
  };
  if (params.get("autostart") === "1") start.click();
}

void boot();
