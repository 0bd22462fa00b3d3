// The Live view (the paper's Fig. 1): this machine's numbers from the embedded server's agent,
// shown twice side by side — pushed by WebSocket and polled (or long-polled) by AJAX — each
// panel with its charts, the age of what it shows, and what it spends. Stop sums the session up.
import type uPlot from "uplot";

import { api } from "../bindings/api";
import { colourOf, stalenessCdf, streamChart } from "../charts";
import { errorMessage, escapeHtml, formatBytes } from "../format";
import { type Feed, FeedTracker, parseSnapshot, type SnapshotEvent } from "../monitor";
import type { SessionSummary } from "../bindings";
import { $, clearError, showError } from "../ui";
import { responseHeadLength, utf8Length, wsFrameLength } from "../wire";

/** Points kept per chart line. */
const KEEP = 1200;
const CORE_COLOURS = ["#94a3b8", "#a78bfa", "#f472b6", "#fb923c", "#34d399", "#60a5fa", "#facc15", "#f87171"];

const nowNs = () => (performance.timeOrigin + performance.now()) * 1e6;
const ms = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "—" : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
const gib = (b: number) => (b / 2 ** 30).toFixed(1);

/** One side: a feed, its tracker, its charts. */
class Panel {
  readonly tracker: FeedTracker;
  private cpu: uPlot | null = null;
  private net: uPlot | null = null;
  private x: number[] = [];
  private cpuLines: number[][] = [];
  private rx: number[] = [];
  private tx: number[] = [];
  private pending: { event: SnapshotEvent; parseMs: number; bytesIn: number; bytesOut: number }[] = [];
  private frame = 0;

  constructor(
    readonly root: HTMLElement,
    feed: Feed,
    private readonly t0Ns: number,
  ) {
    this.tracker = new FeedTracker(feed);
    this.clear();
  }

  /** A new session starts blank: the last one's snapshot, charts and processes are gone. */
  private clear(): void {
    for (const chart of [".cpu-chart", ".net-chart"]) $(chart, this.root).replaceChildren();
    $(".facts", this.root).textContent = "waiting for the first snapshot…";
    $("table.top tbody", this.root).innerHTML = "";
    for (const figure of [".age", ".stale", ".rate", ".bytes", ".cpu", ".missed"]) $(figure, this.root).textContent = "—";
  }

  /** An answer arrived (null: nothing yet). `startedMs` is when its handling began. */
  receive(event: SnapshotEvent | null, startedMs: number, bytesIn: number, bytesOut: number): void {
    const parseMs = performance.now() - startedMs;
    if (!event || !this.tracker.isNew(event) || this.pending.some((p) => p.event.seq >= event.seq)) {
      this.tracker.record(event, { shownNs: nowNs(), bytesIn, bytesOut, handlerNs: parseMs * 1e6 });
      return;
    }
    this.pending.push({ event, parseMs, bytesIn, bytesOut });
    // On screen at the next frame: that is when a person can see it.
    if (!this.frame) this.frame = requestAnimationFrame(() => this.paint());
  }

  private paint(): void {
    this.frame = 0;
    const t1 = performance.now();
    const newest = this.pending[this.pending.length - 1];
    if (newest) this.draw(newest.event);
    const t2 = performance.now();
    const shownNs = (performance.timeOrigin + t2) * 1e6;
    const drawMs = (t2 - t1) / Math.max(1, this.pending.length);
    for (const p of this.pending.splice(0)) {
      this.tracker.record(p.event, { shownNs, bytesIn: p.bytesIn, bytesOut: p.bytesOut, handlerNs: (p.parseMs + drawMs) * 1e6 });
    }
  }

  private draw(ev: SnapshotEvent): void {
    const s = ev.data;
    if (!this.cpu) {
      this.cpuLines = [[], ...s.cpu_per_core.map(() => [])];
      this.cpu = streamChart($(".cpu-chart", this.root), "CPU %", [
        { label: "all cores", colour: colourOf(this.tracker.feed === "push" ? "ws" : "poll"), width: 2 },
        ...s.cpu_per_core.map((_, i) => ({ label: `core ${i}`, colour: CORE_COLOURS[i % CORE_COLOURS.length], width: 1 })),
      ]);
      this.net = streamChart($(".net-chart", this.root), "network KiB/s", [
        { label: "received", colour: "#0891b2" },
        { label: "sent", colour: "#be185d" },
      ]);
    }
    const push = (arr: number[], v: number) => {
      arr.push(v);
      if (arr.length > KEEP) arr.shift();
    };
    push(this.x, (ev.created_ns - this.t0Ns) / 1e9);
    push(this.cpuLines[0], s.cpu_total);
    s.cpu_per_core.forEach((c, i) => this.cpuLines[i + 1] && push(this.cpuLines[i + 1], c));
    push(this.rx, s.net_rx_bytes_per_s / 1024);
    push(this.tx, s.net_tx_bytes_per_s / 1024);
    this.cpu.setData([this.x, ...this.cpuLines] as uPlot.AlignedData);
    this.net?.setData([this.x, this.rx, this.tx] as uPlot.AlignedData);
    $(".facts", this.root).textContent =
      `snapshot ${ev.seq} · load ${s.load.map((l) => l.toFixed(2)).join(" ")} · memory ${gib(s.memory_used_bytes)}/${gib(s.memory_total_bytes)} GiB · ` +
      `swap ${gib(s.swap_used_bytes)}/${gib(s.swap_total_bytes)} GiB · disk read ${formatBytes(s.disk_read_bytes_per_s)}/s, write ${formatBytes(s.disk_write_bytes_per_s)}/s`;
    $("table.top tbody", this.root).innerHTML = s.top
      .slice(0, 5)
      .map((p) => `<tr><td>${p.pid}</td><td>${escapeHtml(p.name)}</td><td>${p.cpu_percent.toFixed(1)}</td><td>${formatBytes(p.memory_bytes)}</td></tr>`)
      .join("");
  }

  /** The numbers under the title, refreshed a few times a second. */
  tick(now: number): void {
    const r = this.tracker.rates(now, 2);
    $(".age", this.root).textContent = ms(this.tracker.ageMs(now));
    $(".stale", this.root).textContent = ms(r.lastStalenessMs);
    $(".rate", this.root).textContent = r.perS.toFixed(1);
    $(".bytes", this.root).textContent = formatBytes(r.bytesPerS);
    $(".cpu", this.root).textContent = r.cpuMsPerS.toFixed(2);
    $(".missed", this.root).textContent = String(this.tracker.missed);
  }

  stop(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}

function panelHtml(id: string, title: string, endpoint: string): string {
  return `<section class="card live-panel" id="${id}">
    <h3>${escapeHtml(title)} <span class="muted">${escapeHtml(endpoint)}</span></h3>
    <dl class="live-stats">
      <div><dt>age on screen</dt><dd class="age">—</dd></div>
      <div><dt>staleness when shown</dt><dd class="stale">—</dd></div>
      <div><dt>answers/s</dt><dd class="rate">—</dd></div>
      <div><dt>bytes/s</dt><dd class="bytes">—</dd></div>
      <div><dt>CPU ms/s</dt><dd class="cpu">—</dd></div>
      <div><dt>missed</dt><dd class="missed">0</dd></div>
    </dl>
    <div class="chart cpu-chart"></div>
    <div class="chart net-chart"></div>
    <p class="facts muted"></p>
    <div class="table-wrap"><table class="top"><thead><tr><th>pid</th><th>process</th><th>CPU %</th><th>memory</th></tr></thead><tbody></tbody></table></div>
  </section>`;
}

function summaryHtml(s: SessionSummary): string {
  const rows = s.feeds
    .map((f) => {
      const st = f.staleness_ms;
      return `<tr><th scope="row">${f.feed}</th><td>${f.messages}</td><td>${f.snapshots}</td><td>${f.missed}</td>
        <td>${ms(st?.p50)}</td><td>${ms(st?.p95)}</td><td>${ms(st?.max)}</td><td>${ms(f.mean_age_ms)}</td>
        <td>${formatBytes(f.bytes_per_s)}</td><td>${f.messages_per_s.toFixed(2)}</td><td>${f.bytes_per_snapshot === null ? "—" : formatBytes(f.bytes_per_snapshot)}</td><td>${f.handler_ms_per_s.toFixed(3)}</td></tr>`;
    })
    .join("");
  return `<div class="run-head"><h2>Session summary <span class="muted">${s.duration_s.toFixed(1)} s</span></h2>
      <div class="actions"><button type="button" id="live-export">Export CSV…</button></div></div>
    ${s.verdict ? `<p class="verdict" id="live-verdict">${escapeHtml(s.verdict)}</p>` : ""}
    <div class="table-wrap"><table id="live-summary-table"><thead><tr><th>feed</th><th>answers</th><th>snapshots</th><th>missed</th>
      <th>staleness p50</th><th>p95</th><th>max</th><th>mean age on screen</th><th>bytes/s</th><th>answers/s</th><th>bytes/snapshot</th><th>CPU ms/s</th></tr></thead>
      <tbody>${rows}</tbody></table></div>
    <div class="chart" id="live-cdf"></div>
    <ul class="notes">${s.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`;
}

/** Draws the view once; a session keeps running while other tabs are shown. */
export function renderLive(root: HTMLElement, server: string | null): void {
  root.innerHTML = `
  <section class="card plan" id="live-card">
    <h2>Live monitor <span class="muted">this machine, pushed by WebSocket and polled by AJAX, side by side</span></h2>
    <div class="grid">
      <label>Snapshots per second <select id="live-hz">${[1, 2, 5, 10, 20].map((h) => `<option value="${h}">${h} Hz</option>`).join("")}</select></label>
      <label>AJAX <select id="live-mode"><option value="poll">poll</option><option value="long-poll">long-poll</option></select></label>
      <label>Poll every (ms) <input type="number" id="live-poll-ms" min="10" step="10" value="1000"></label>
    </div>
    <div class="actions">
      <button type="button" id="live-start" class="primary">Start</button>
      <button type="button" id="live-stop" disabled>Stop</button>
      <span id="live-status" class="muted">The agent samples only while someone watches.</span>
    </div>
  </section>
  <div class="live-panels">${panelHtml("panel-push", "WebSocket push", "/ws/monitor")}${panelHtml("panel-poll", "AJAX poll", "/monitor/latest")}</div>
  <section class="card" id="live-summary" hidden></section>`;

  const start = $("#live-start", root) as HTMLButtonElement;
  const stop = $("#live-stop", root) as HTMLButtonElement;
  const status = $("#live-status", root);
  const mode = $("#live-mode", root) as HTMLSelectElement;
  const pollMs = $("#live-poll-ms", root) as HTMLInputElement;
  mode.onchange = () => (pollMs.disabled = mode.value === "long-poll");
  let session: { stop: () => Promise<void> } | null = null;

  start.onclick = async () => {
    clearError();
    if (!server) return showError("The embedded echo server is not running: nothing to watch.");
    const hz = Number(($("#live-hz", root) as HTMLSelectElement).value);
    const interval = Math.max(10, Number(pollMs.value) || 1000);
    const longPoll = mode.value === "long-poll";
    try {
      await api.setMonitorHz(hz);
    } catch (e) {
      return showError(errorMessage(e));
    }
    $("#panel-poll h3", root).innerHTML = longPoll ? `AJAX long-poll <span class="muted">/monitor/next</span>` : `AJAX poll every ${interval} ms <span class="muted">/monitor/latest</span>`;
    $("#live-summary", root).hidden = true;
    const startedNs = nowNs();
    const push = new Panel($("#panel-push", root), "push", startedNs);
    const poll = new Panel($("#panel-poll", root), longPoll ? "long-poll" : "poll", startedNs);
    let running = true;
    const fail = (what: string, e: unknown) => {
      if (!running) return;
      showError(`${what}: ${errorMessage(e)}`);
      void session?.stop();
    };

    const ws = new WebSocket(`ws://${server}/ws/monitor`);
    ws.onmessage = (m: MessageEvent) => {
      const t = performance.now();
      const text = typeof m.data === "string" ? m.data : "";
      try {
        push.receive(parseSnapshot(text), t, wsFrameLength(utf8Length(text), false), 0);
      } catch (e) {
        fail("push", e);
      }
    };
    ws.onclose = (c: CloseEvent) => fail("push", `connection closed: code ${c.code}${c.reason ? ` (${c.reason})` : ""}`);

    const ask = async (url: string): Promise<SnapshotEvent | null> => {
      const response = await fetch(`http://${server}${url}`, { cache: "no-store" });
      const text = await response.text();
      const t = performance.now();
      if (response.status !== 200 && response.status !== 204) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
      const event = response.status === 200 ? parseSnapshot(text) : null;
      const bytesIn = responseHeadLength(response.status, response.statusText, response.headers.entries()) + utf8Length(text);
      poll.receive(event, t, bytesIn, Number(response.headers.get("x-duplex-request-bytes") ?? 0));
      return event;
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pollLoop = async () => {
      if (!running) return;
      const due = performance.now() + interval;
      try {
        await ask("/monitor/latest?wire=1");
      } catch (e) {
        return fail("poll", e);
      }
      if (running) timer = setTimeout(pollLoop, Math.max(0, due - performance.now()));
    };
    const longPollLoop = async () => {
      let after: number | null = null;
      while (running) {
        try {
          const ev = await ask(`/monitor/next?wire=1${after === null ? "" : `&after=${after}`}`);
          after = ev?.seq ?? after;
        } catch (e) {
          return fail("long-poll", e);
        }
      }
    };
    void (longPoll ? longPollLoop() : pollLoop());
    const ticker = setInterval(() => {
      const now = nowNs();
      push.tick(now);
      poll.tick(now);
    }, 250);

    start.disabled = true;
    stop.disabled = false;
    status.textContent = `watching ${server} at ${hz} Hz…`;
    session = {
      stop: async () => {
        if (!running) return;
        running = false;
        session = null;
        ws.onclose = null;
        ws.close(1000);
        clearTimeout(timer);
        clearInterval(ticker);
        push.stop();
        poll.stop();
        start.disabled = false;
        stop.disabled = true;
        status.textContent = "stopped";
        const observations = [...push.tracker.observations, ...poll.tracker.observations];
        try {
          const recorded = { started_ns: Math.round(startedNs), ended_ns: Math.round(nowNs()), one_clock: true, observations };
          const summary = await api.summarizeMonitor(recorded);
          const card = $("#live-summary", root);
          card.innerHTML = summaryHtml(summary);
          card.hidden = false;
          ($("#live-export", card) as HTMLButtonElement).onclick = async () => {
            try {
              const path = await api.exportMonitor(recorded);
              status.textContent = path ? `saved the session to ${path}` : "export cancelled";
            } catch (e) {
              showError(`Export failed: ${errorMessage(e)}`);
            }
          };
          stalenessCdf($("#live-cdf", card), [
            { label: "WebSocket push", colour: colourOf("ws"), values: push.tracker.staleness },
            { label: longPoll ? "AJAX long-poll" : `AJAX poll (${interval} ms)`, colour: colourOf("poll"), values: poll.tracker.staleness },
          ]);
        } catch (e) {
          showError(`summary: ${errorMessage(e)}`);
        }
      },
    };
  };
  stop.onclick = () => void session?.stop();
}
