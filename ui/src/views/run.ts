// The Run view: choose a plan, press Run, watch progress per client and transport, cancel.
// The native part runs in the engine; then the web view's own clients run here.
import { api } from "../bindings/api";
import { errorMessage, escapeHtml, formatQuantile } from "../format";
import { TRANSPORT_LABELS } from "../plan";
import type { ClientKind, ClientPart, LabelledLink, Plan, PlanCheck, RunStatus, RunView, Transport, TransportClients, WebTransportAccess } from "../bindings";
import { $, clearError, showError } from "../ui";
import { browserChannels, runWebview } from "../webclients";
import { webTransportUnavailable } from "../webtransport";

const PRESET_LABELS: Record<string, string> = {
  quick: "Quick (back to back)",
  paper: "Paper replication (10 sets, 100 ms apart)",
  push: "Push vs polling",
};

export interface RunViewOptions {
  presets: Plan[];
  /** Which kinds of client measure each transport (the engine's `app_info`). */
  transports: TransportClients[];
  /** Link profiles to emulate (the engine's relay), with the engine's labels. */
  links: LabelledLink[];
  /** How the web view reaches the embedded server's WebTransport. */
  webtransport: WebTransportAccess;
  onResult: (view: RunView) => void;
}

const CLIENT_NAMES: Record<ClientKind, string> = { native: "native", webview: "web view", k6: "k6" };

/** What the rest of the app may do with the Run view once drawn. */
export interface RunViewHandle {
  /** Puts a stored run's plan in the form (History's Run again), with its link as labelled. */
  applyPlan: (plan: Plan, link?: LabelledLink | null) => void;
}

export function renderRunView(root: HTMLElement, options: RunViewOptions): RunViewHandle {
  const presets = options.presets.filter((p) => p.name !== "push");
  // Whether this web view has WebTransport only the page can tell: where it has none, the form
  // says why, as for the engine's own refusals.
  const transports = options.transports.map((t) => {
    const why = webTransportUnavailable(t.transport, options.webtransport);
    return why ? { ...t, clients: t.clients.filter((c) => c !== "webview"), webview_refusal: why } : t;
  });
  root.innerHTML = `
  <form id="plan-form" class="card plan" novalidate>
    <h2>Plan</h2>
    <div class="row">
      <label>Preset
        <select id="preset">${presets
          .map((p) => `<option value="${escapeHtml(p.name ?? "")}">${escapeHtml(PRESET_LABELS[p.name ?? ""] ?? p.name ?? "")}</option>`)
          .join("")}</select>
      </label>
      <p id="preset-description" class="muted"></p>
    </div>
    <fieldset><legend>Transports</legend>
      ${TRANSPORT_LABELS.map(([id, label]) => {
        const clients = transports.find((t) => t.transport === id)?.clients ?? [];
        const who = clients.length === 2 ? "" : ` (${clients.map((c) => CLIENT_NAMES[c]).join(", ")} only)`;
        return `<label class="check"><input type="checkbox" name="transport" value="${id}"> <b>${id}</b> <span class="muted">${escapeHtml(label + who)}</span></label>`;
      }).join("")}
      ${webviewRefusals(transports)}
    </fieldset>
    <fieldset><legend>Clients</legend>
      <label class="check"><input type="checkbox" id="client-native" checked> Native (Rust: tokio-tungstenite, reqwest)</label>
      <label class="check"><input type="checkbox" id="client-webview" checked> Web view (this page: WebSocket, fetch, XMLHttpRequest)</label>
    </fieldset>
    <div class="grid">
      <label>Sets <input type="number" id="sets" min="1" step="1"></label>
      <label>Calls per set <input type="number" id="calls" min="1" step="1"></label>
      <label>Interval (ms) <input type="number" id="interval" min="0" step="any"></label>
      <label>Payload (bytes) <input type="number" id="payload" min="0" step="1"></label>
      <label>Concurrency <input type="number" id="concurrency" min="1" step="1"></label>
      <label>Warm-up calls <input type="number" id="warmup" min="0" step="1"></label>
      <label>AJAX method <select id="method"><option value="get">GET (query)</option><option value="post">POST (body)</option></select></label>
      <label>Power readings every (ms, 0 = off) <input type="number" id="power-ms" min="0" step="1"></label>
      <label>Idle baseline (ms) <input type="number" id="baseline-ms" min="0" step="1"></label>
      <label class="double">Order <select id="order"><option value="interleaved">Interleaved sets</option><option value="in-turn">One transport after another</option></select></label>
      <label class="wide">Link <select id="link"><option value="">none: this machine as it is</option>${options.links
        .filter((l) => l.link.name !== "loopback")
        .map((l) => `<option value="${escapeHtml(l.link.name)}">${escapeHtml(l.label)}</option>`)
        .join("")}</select></label>
      <label>Sweep <span class="muted">(a run per value)</span> <input type="text" id="sweep" placeholder="rtt=0,10,50,100,200ms or payload=1k,16k,64k" spellcheck="false" autocomplete="off"></label>
    </div>
    <p id="link-description" class="muted note" hidden></p>
    <fieldset><legend>Server</legend>
      <label class="check"><input type="radio" name="target" value="embedded" checked> Embedded (<span id="embedded-address">…</span>)</label>
      <p id="embedded-tls" class="muted fingerprint" hidden></p>
      <label class="check"><input type="radio" name="target" value="remote"> Remote Duplex server
        <input type="url" id="target-url" placeholder="http://192.168.1.20:9000/?token=…" disabled></label>
      <label class="check indent"><input type="checkbox" id="target-foreign" disabled> not a Duplex server: any WebSocket echo server (<code>ws://</code>, <code>wss://</code>) or HTTP endpoint (<code>http://</code>, <code>https://</code>), sent Duplex's echo message</label>
      <label class="indent">Trust <span class="muted">(<code>wss://</code>, <code>https://</code>)</span>
        <input type="text" id="target-trust" placeholder="this device's trust store; or a SHA-256 fingerprint, or a PEM file: a CA's, or the server's own certificate" spellcheck="false" autocomplete="off" disabled></label>
    </fieldset>
    <ul id="plan-problems" class="problems" aria-live="polite"></ul>
    <div class="actions">
      <button type="submit" id="run-button" class="primary">Run</button>
      <span id="run-summary" class="muted"></span>
    </div>
  </form>
  <section class="card" id="progress-card" hidden>
    <div class="run-head"><h2>Progress <span id="run-phase" class="muted"></span></h2>
      <!-- Beside the progress it stops: the form is scrolled away while a run goes. -->
      <button type="button" id="cancel-button" disabled>Cancel</button></div>
    <p id="run-eta" class="muted" aria-live="off"></p>
    <div id="progress"></div>
  </section>`;

  const form = $("#plan-form", root) as HTMLFormElement;
  const num = (id: string) => Number(($(`#${id}`, root) as HTMLInputElement).value);
  const setNum = (id: string, v: number) => (($(`#${id}`, root) as HTMLInputElement).value = String(v));
  const checkbox = (id: string) => $(`#${id}`, root) as HTMLInputElement;
  let base: Plan = presets[0];

  /** Fills the form with a plan: a preset's, or a stored run's (Run again). */
  const applyPlan = (plan: Plan, labelled: LabelledLink | null = null) => {
    base = plan;
    const preset = $("#preset", root) as HTMLSelectElement;
    if (presets.some((p) => p.name === plan.name)) preset.value = plan.name ?? "";
    $("#preset-description", root).textContent = base.description ?? (plan.name ? `As run ${plan.name}` : "");
    root.querySelectorAll<HTMLInputElement>('input[name="transport"]').forEach((c) => (c.checked = base.transports.includes(c.value as Transport)));
    setNum("sets", base.sets);
    setNum("calls", base.calls);
    setNum("interval", base.interval_ms);
    setNum("payload", base.payload_bytes);
    setNum("concurrency", base.concurrency);
    setNum("warmup", base.warmup);
    setNum("power-ms", base.power.sample_ms);
    setNum("baseline-ms", base.power.baseline_ms);
    ($("#method", root) as HTMLSelectElement).value = base.http_method;
    ($("#order", root) as HTMLSelectElement).value = base.order;
    setLink(labelled ?? links.find((l) => l.link.name === base.link?.name) ?? null);
    // The last run's progress belongs to the last plan: a new preset clears it.
    if (!running) clearProgress();
    void refresh();
  };
  const applyPreset = (name: string) => applyPlan(presets.find((p) => p.name === name) ?? presets[0]);

  /** The link the form shows: a profile, or one only a stored run had (a custom one). */
  let links = options.links;
  const linkSelect = $("#link", root) as HTMLSelectElement;
  const describeLink = () => {
    const link = links.find((l) => l.link.name === linkSelect.value)?.link ?? null;
    const p = $("#link-description", root);
    p.hidden = link === null;
    p.textContent = link
      ? `Every connection, native and web view, goes through Duplex's relay, which delays and paces it as this link would (${link.description || link.name}; source: ${link.source}). No loss is emulated.`
      : "";
  };
  const setLink = (link: LabelledLink | null) => {
    if (link && !links.some((l) => l.link.name === link.link.name)) {
      links = [...links, link];
      linkSelect.append(new Option(`${link.label} (as run)`, link.link.name));
    }
    linkSelect.value = link?.link.name ?? "";
    describeLink();
  };
  linkSelect.addEventListener("change", describeLink);

  const readPlan = (): Plan => ({
    ...base,
    transports: [...root.querySelectorAll<HTMLInputElement>('input[name="transport"]:checked')].map((c) => c.value as Transport),
    sets: num("sets"),
    calls: num("calls"),
    interval_ms: num("interval"),
    payload_bytes: num("payload"),
    concurrency: num("concurrency"),
    warmup: num("warmup"),
    power: { sample_ms: num("power-ms"), baseline_ms: num("baseline-ms") },
    http_method: ($("#method", root) as HTMLSelectElement).value as Plan["http_method"],
    order: ($("#order", root) as HTMLSelectElement).value as Plan["order"],
    link: links.find((l) => l.link.name === linkSelect.value)?.link ?? null,
  });
  const remote = () => (root.querySelector<HTMLInputElement>('input[name="target"]:checked')?.value ?? "embedded") === "remote";
  const targetUrl = () => (remote() ? ($("#target-url", root) as HTMLInputElement).value.trim() : null);
  const clients = () => ({ native: checkbox("client-native").checked, webview: checkbox("client-webview").checked });

  const foreign = () => remote() && checkbox("target-foreign").checked;
  const trust = () => (remote() ? ($("#target-trust", root) as HTMLInputElement).value.trim() : "");
  const sweep = () => ($("#sweep", root) as HTMLInputElement).value.trim();
  const request = () => ({ plan: readPlan(), targetUrl: targetUrl(), foreign: foreign(), trust: trust(), ...clients(), sweep: sweep() });
  // The engine's answer for the form as it is; asked again on every change, the latest wins.
  let check: PlanCheck | null = null;
  let asked = 0;
  async function refresh() {
    ($("#target-url", root) as HTMLInputElement).disabled = !remote();
    checkbox("target-foreign").disabled = !remote();
    checkbox("target-trust").disabled = !remote();
    const mine = ++asked;
    let answer: PlanCheck;
    try {
      answer = await api.validatePlan(request());
    } catch (e) {
      // A field the engine cannot even read (empty, not a number): say which value is wrong.
      answer = { problems: [errorMessage(e)], native: null, webview: null, pacedSeconds: null, sweep: [] };
    }
    if (mine !== asked) return;
    check = answer;
    $("#plan-problems", root).innerHTML = answer.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("");
    if (!running) ($("#run-button", root) as HTMLButtonElement).disabled = answer.problems.length > 0;
    const calls = (answer.native?.calls ?? 0) + (answer.webview?.calls ?? 0);
    const seconds = answer.pacedSeconds;
    const runs = answer.sweep.length > 1 ? ` × ${answer.sweep.length} sweep runs` : "";
    $("#run-summary", root).textContent =
      answer.problems.length === 0 ? `${calls.toLocaleString()} calls${runs}${seconds ? `, about ${Math.ceil(seconds)} s` : ""}` : "";
  }

  ($("#preset", root) as HTMLSelectElement).onchange = (e) => applyPreset((e.target as HTMLSelectElement).value);
  form.oninput = () => void refresh();
  form.onchange = () => void refresh();

  // Progress rows, one per client and transport, each counting its own calls to 100 %.
  let running = false;
  let cancelled = false;
  let abort: AbortController | null = null;
  const rows = new Map<string, HTMLElement>();
  // Calls done per row: the header counts what the rows show, never something else.
  const rowCalls = new Map<string, number>();
  // The pace is taken from the first call on: the idle baseline and the connections are not calls.
  let firstCall: { at: number; calls: number } | null = null;
  let etaTimer: number | undefined;
  const clearProgress = () => {
    rows.clear();
    rowCalls.clear();
    $("#progress", root).replaceChildren();
    $("#run-eta", root).textContent = "";
    $("#progress-card", root).hidden = true;
  };
  const progressRow = (client: ClientKind, transport: Transport, label: string, set: number, sets: number, calls: number, total: number, p50: number | null, clockStepUs: number | null = null) => {
    const key = `${client}/${transport}`;
    let row = rows.get(key);
    if (!row) {
      row = document.createElement("div");
      row.className = "progress-row";
      row.dataset.group = key;
      row.innerHTML = `<span class="label">${escapeHtml(label)}</span><progress max="1" value="0"></progress><span class="detail muted"></span>`;
      $("#progress", root).append(row);
      rows.set(key, row);
    }
    ($("progress", row) as HTMLProgressElement).value = calls / Math.max(1, total);
    rowCalls.set(key, calls);
    $(".detail", row).textContent = `set ${set}/${sets} · ${calls.toLocaleString()}/${total.toLocaleString()} calls · p50 ${p50 === null ? "—" : formatQuantile({ clock_step_us: clockStepUs }, p50)}`;
  };
  /** "1,200/3,000 calls · about 42 s left": the rows' calls, and the time left from the pace since
   * the first call (once there is one to go by: 3 s and 2 % of the calls), or the plan's pace. */
  const showEta = (finished = false) => {
    const total = (check?.native?.calls ?? 0) + (check?.webview?.calls ?? 0);
    const calls = [...rowCalls.values()].reduce((a, b) => a + b, 0);
    const now = performance.now();
    if (calls > 0 && !firstCall) firstCall = { at: now, calls };
    let left: number | null = null;
    if (!finished && firstCall) {
      const elapsed = (now - firstCall.at) / 1000;
      const counted = calls - firstCall.calls;
      if (elapsed >= 3 && counted >= 0.02 * total && total > calls) left = (elapsed * (total - calls)) / counted;
    } else if (!finished && check?.pacedSeconds) {
      left = check.pacedSeconds;
    }
    const count = `${calls.toLocaleString()}/${total.toLocaleString()} calls`;
    $("#run-eta", root).textContent = finished ? `${count} measured` : left === null ? count : `${count} · about ${durationWords(left)} left`;
  };

  const setRunning = (on: boolean, phase = "") => {
    running = on;
    window.clearInterval(etaTimer);
    if (on) {
      firstCall = null;
      showEta();
      etaTimer = window.setInterval(() => showEta(), 1000);
    } else {
      showEta(true);
    }
    ($("#run-button", root) as HTMLButtonElement).disabled = on;
    ($("#cancel-button", root) as HTMLButtonElement).disabled = !on;
    $("#run-phase", root).textContent = phase;
    if (!on) void refresh();
  };

  ($("#cancel-button", root) as HTMLButtonElement).onclick = async () => {
    cancelled = true;
    abort?.abort();
    $("#run-phase", root).textContent = "cancelling… (what was measured is kept)";
    try {
      await api.cancelRun();
    } catch (e) {
      showError(errorMessage(e));
    }
  };

  /** One run of `plan`, native part then web-view part, stored; `step` names it within a sweep. */
  async function runOnce(plan: Plan, step: string): Promise<RunView> {
    const c = clients();
    const url = targetUrl();
    const phase = (what: string) => ($("#run-phase", root).textContent = `${step}${what}`);
    clearProgress();
    $("#progress-card", root).hidden = false;
    setRunning(true, "");
    phase(c.native ? "native clients…" : "web-view clients…");
    const pending = await api.startRun({ plan, targetUrl: url, foreign: foreign(), trust: trust(), native: c.native, webview: c.webview }, (u) => {
      if (u.type === "progress") {
        phase(c.native ? "native clients…" : "web-view clients…");
        progressRow(u.client, u.transport, u.label, u.set, u.sets, u.transportDone, u.transportTotal, u.p50Us);
      } else if (u.type === "baseline") {
        phase(`idle baseline for power: ${(u.durationMs / 1000).toFixed(1)} s without traffic…`);
      }
    });
    let part: ClientPart | null = null;
    if (pending.webview && pending.status === "complete" && !cancelled) {
      phase("web-view clients…");
      abort = new AbortController();
      try {
        part = await runWebview(pending.webview, pending.server, {
          channels: browserChannels(null, options.webtransport),
          signal: abort.signal,
          onProgress: (p) => {
            progressRow("webview", p.transport, p.label, p.set, p.sets, p.transportDone, p.transportTotal, p.p50Us, p.clockStepUs);
          },
        });
      } catch (err) {
        // The native part is measured and waiting: store it whatever happened here.
        showError(`web-view clients: ${errorMessage(err)}`);
      }
    }
    phase("statistics…");
    const view = await api.finishRun(part);
    // The rows end at what was stored: every call, answered or failed, of each transport.
    for (const t of view.report.transports) {
      const row = rows.get(`${t.client}/${t.transport}`);
      if (row) {
        const calls = t.overall.count + t.overall.errors;
        ($("progress", row) as HTMLProgressElement).value = calls / Math.max(1, view.record.plan.sets * view.record.plan.calls * view.record.plan.concurrency);
        $(".detail", row).textContent = `${calls.toLocaleString()} calls stored · p50 ${t.overall.words.p50}`;
      }
    }
    return view;
  }

  form.onsubmit = async (e) => {
    e.preventDefault();
    if (running) return;
    if (check && check.problems.length) {
      showError(check.problems.join(" "));
      return;
    }
    clearError();
    cancelled = false;
    const plan = readPlan();
    $("#progress-card", root).hidden = false;
    $("#progress-card", root).scrollIntoView({ block: "start", behavior: "smooth" });
    try {
      if (!check?.sweep.length) {
        options.onResult(await runOnce(plan, ""));
        return;
      }
      // A sweep: the plan once per value, as the engine's sweep says (what runs next, when to
      // stop), then all of them as one view.
      const sweepRequest = request();
      const ids: string[] = [];
      const ran: RunStatus[] = [];
      for (let next = await api.nextSweepRun(sweepRequest, ran, cancelled); next; next = await api.nextSweepRun(sweepRequest, ran, cancelled)) {
        const view = await runOnce(next.step.plan, `${next.title}: `);
        ids.push(view.record.id);
        ran.push(view.record.status);
      }
      if (ids.length) options.onResult(await api.sweepView(ids));
    } catch (err) {
      showError(errorMessage(err));
    } finally {
      abort = null;
      setRunning(false);
    }
  };

  applyPreset(presets[0]?.name ?? "quick");
  return { applyPlan };
}

export function setEmbeddedAddress(root: HTMLElement, address: string, fingerprint: string | null = null): void {
  $("#embedded-address", root).textContent = address;
  const tls = $("#embedded-tls", root);
  tls.hidden = fingerprint === null;
  tls.textContent = fingerprint === null ? "" : `TLS on the same port; its certificate, made at start, has SHA-256 ${fingerprint}`;
}

/** Why the web view cannot measure some of the form's transports, once per reason. */
function webviewRefusals(transports: TransportClients[]): string {
  const offered = new Set(TRANSPORT_LABELS.map(([id]) => id));
  const byReason = new Map<string, string[]>();
  for (const t of transports) {
    if (!offered.has(t.transport) || !t.webview_refusal || !t.clients.includes("native")) continue;
    byReason.set(t.webview_refusal, [...(byReason.get(t.webview_refusal) ?? []), t.transport]);
  }
  return [...byReason]
    .map(([why, ids]) => `<p class="muted note webview-refusal">${escapeHtml(ids.join(", "))}: native only, because ${escapeHtml(why)}.</p>`)
    .join("");
}

/** "45 s", "12 min", "2 h 5 min". */
function durationWords(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
