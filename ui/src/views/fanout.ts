// The Fan-out view: the paper's broadcast "tick" at the scale of a dashboard with many viewers.
// One server event goes to N subscribers at once by WebSocket push, long-poll, Server-Sent
// Events and WebTransport (on a stream, or by datagrams); the table and the charts show how long
// the last subscriber waits, and what each delivery costs the server and the wire.
import { api } from "../bindings/api";
import { fanoutChart } from "../charts";
import { errorMessage, escapeHtml } from "../format";
import { parseCounts } from "../fanout";
import type { FanoutCell, FanoutPlan, FanoutReport, FloorRow } from "../bindings";
import { $, clearError, showError } from "../ui";

/** The transports offered, with what they mean and whether they are ticked at first. */
const TRANSPORTS = [
  ["ws-push", "WebSocket push", true],
  ["long-poll", "HTTP long-poll", true],
  ["sse", "Server-Sent Events", true],
  ["wt-push", "WebTransport push on a stream (a QUIC connection per subscriber)", false],
  ["wt-push-dgram", "WebTransport push by datagrams: a lost one is counted, not sent again", false],
] as const;

/** The last report, drawn again when the view is shown (other views replace charts). */
let last: FanoutReport | null = null;


function row(c: FanoutCell): string {
  const errors = Object.entries(c.errors)
    .map(([kind, entry]) => (entry ? `${entry[0]} × ${escapeHtml(kind)}: ${escapeHtml(entry[1])}` : ""))
    .join("<br>");
  // By datagrams, what did not come is loss (said in words), not failure.
  const failed = (c.missed && !c.words.loss) || errors;
  const missed = c.words.loss
    ? ` <span class="muted" title="${escapeHtml(c.words.loss)}">(${c.missed.toLocaleString()} lost)</span>`
    : c.missed
      ? ` <span class="bad">(${c.missed.toLocaleString()} missed)</span>`
      : "";
  return `<tr${failed ? ' class="bad"' : ""}>
    <th scope="row">${escapeHtml(c.transport)}</th><td>${c.subscribers.toLocaleString()}</td>
    <td>${c.delivered.toLocaleString()}${missed}</td>
    <td>${escapeHtml(c.words.p50)}</td><td>${escapeHtml(c.words.p99)}</td><td><b>${escapeHtml(c.words.last)}</b></td>
    <td>${escapeHtml(c.words.server_cpu)}</td><td>${escapeHtml(c.words.server_cpu_per_delivery)}</td>
    <td>${escapeHtml(c.words.over_floor)}</td><td>${escapeHtml(c.words.bytes_per_event)}</td>
  </tr>${errors ? `<tr class="bad"><td colspan="10" class="note">${errors}</td></tr>` : ""}`;
}

/** The floor at one count: a plain thread writing the same frame to as many sockets, each with a
 * reader waiting on it as a subscriber waits; then the same writes with nobody waiting ("unread"). */
function floorRows(f: FloorRow): string {
  const title = f.error ? ` title="${escapeHtml(f.error)}"` : "";
  const rows: [string, string, string, string][] = [
    ["floor", "each socket with a reader waiting on it, as a subscriber waits", f.cpu_per_write, f.over_floor],
    ["floor, unread", "the same writes with nobody waiting on the sockets", f.unread_cpu_per_write, f.unread_over_floor],
  ];
  return rows
    .map(
      ([name, what, perWrite, over]) => `<tr class="floor muted"${title}>
    <th scope="row" title="${what}">${name}</th><td>${f.subscribers.toLocaleString()}</td><td>—</td><td>—</td><td>—</td><td>—</td><td>—</td>
    <td>${escapeHtml(perWrite)}</td><td>${escapeHtml(over)}</td><td>${escapeHtml(f.frame)}</td>
  </tr>`,
    )
    .join("");
}

function drawReport(root: HTMLElement, r: FanoutReport): void {
  const out = $("#fanout-result", root);
  out.innerHTML = `
    <h2>Fan-out result</h2>
    <div class="verdict"><span class="what" id="fanout-headline">${escapeHtml(r.headline)}</span></div>
    <p class="${r.ok ? "muted" : "bad"}">${escapeHtml(r.outcome)}
      ${r.plan.broadcasts} broadcasts per row, against a fan-out server of its own (${escapeHtml(r.server)}).</p>
    <div class="table-wrap"><table id="fanout-table">
      <thead><tr><th>transport</th><th>subscribers</th><th>delivered</th><th title="over every delivery">p50</th><th title="over every delivery">p99</th>
      <th title="the last subscriber to get a broadcast, median over broadcasts">last</th><th title="server CPU time per broadcast (median)">server CPU</th>
      <th title="server CPU time per delivered event">per event</th><th title="server CPU per delivered event over the floor: one plain thread writing the same frame to as many sockets, each with a reader waiting on it, in this run">over floor</th><th title="bytes on the wire per delivered event, both directions">bytes/event</th></tr></thead>
      <tbody>${r.cells.map(row).join("")}${r.floor.map(floorRows).join("")}</tbody>
    </table></div>
    <div class="chart-grid pair">
      <div><h3>Latency <span class="muted">the last subscriber (solid) and the median one (dashed)</span></h3><div id="fanout-latency" class="chart"></div></div>
      <div><h3>Server CPU per delivered event</h3><div id="fanout-cpu" class="chart"></div></div>
    </div>
    <ul class="notes muted">${r.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>
    <div class="actions"><button type="button" id="fanout-export">Export CSV…</button> <span id="fanout-exported" class="muted"></span></div>`;
  fanoutChart($("#fanout-latency", root), r, "latency");
  fanoutChart($("#fanout-cpu", root), r, "cpu");
  ($("#fanout-export", root) as HTMLButtonElement).onclick = async () => {
    try {
      const path = await api.exportFanout(r);
      if (path) $("#fanout-exported", root).textContent = `Saved ${path}`;
    } catch (e) {
      showError(`Cannot export the fan-out: ${errorMessage(e)}`);
    }
  };
}

/** Draws the view (once); shown again, it redraws the last result's charts. */
export function renderFanout(root: HTMLElement): void {
  if (root.hasChildNodes()) {
    if (last) drawReport(root, last);
    return;
  }
  root.innerHTML = `
  <section class="card plan" id="fanout-card">
    <h2>Push fan-out <span class="muted">one server event to many subscribers at once</span></h2>
    <div class="grid">
      <label class="wide">Subscribers <input type="text" id="fanout-counts" value="100, 1000" inputmode="numeric" aria-describedby="fanout-counts-help"></label>
      <label>Broadcasts per row <input type="number" id="fanout-broadcasts" min="1" max="1000" step="1" value="10"></label>
    </div>
    <p id="fanout-counts-help" class="muted">Subscriber counts, comma-separated. Each subscriber is a connection of this app to its own fan-out server: 10,000 need about 20,000 open files.</p>
    <fieldset><legend>Transports</legend>${TRANSPORTS.map(
      ([t, label, ticked]) =>
        `<label class="check"><input type="checkbox" name="fanout-transport" value="${t}"${ticked ? " checked" : ""}> <b>${t}</b> <span class="muted">${label}</span></label>`,
    ).join("")}</fieldset>
    <div class="actions">
      <button type="button" id="fanout-start" class="primary">Run fan-out</button>
      <span id="fanout-progress" class="muted" aria-live="polite"></span>
    </div>
  </section>
  <section class="card" id="fanout-result"><p class="muted">No fan-out measured yet: choose the subscriber counts and run.</p></section>`;
  const start = $("#fanout-start", root) as HTMLButtonElement;
  const progress = $("#fanout-progress", root);
  start.onclick = async () => {
    clearError();
    const counts = parseCounts(($("#fanout-counts", root) as HTMLInputElement).value);
    if (typeof counts === "string") return showError(counts);
    const transports = [...root.querySelectorAll<HTMLInputElement>('input[name="fanout-transport"]:checked')].map((i) => i.value);
    if (!transports.length) return showError("Choose at least one transport.");
    const broadcasts = Number(($("#fanout-broadcasts", root) as HTMLInputElement).value);
    const plan: FanoutPlan = { subscribers: counts, transports: transports as FanoutPlan["transports"], broadcasts, timeout_ms: 20_000 };
    start.disabled = true;
    progress.textContent = "starting…";
    try {
      last = await api.runFanout(plan, (p) => {
        const step = p.broadcasts ? `broadcast ${p.broadcasts} of ${plan.broadcasts}` : `${p.connected.toLocaleString()} connected`;
        progress.textContent = `${p.transport} × ${p.subscribers.toLocaleString()}: ${step} (row ${p.cell + 1} of ${p.cells})`;
      });
      progress.textContent = "done";
      drawReport(root, last);
    } catch (e) {
      progress.textContent = "";
      showError(`The fan-out did not run: ${errorMessage(e)}`);
    } finally {
      start.disabled = false;
    }
  };
}
