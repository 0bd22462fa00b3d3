// The Results view: the verdict in plain words, the figures, the percentile table, bytes per
// message, notes, and CSV export.
import { api } from "../bindings/api";
import { destroyCharts, histogramWithNormal, latencyOverTime, powerOverTime, setMeans, sweepMedians, uplinkNeeds } from "../charts";
import { errorMessage, escapeHtml, formatDate } from "../format";
import { glossaryCard, glossaryHeads } from "../glossary";
import type { EnergyReport, LinkReport, RunView, Summary, SweepReport, TransportEnergy, TransportReport, UplinkReport } from "../bindings";
import { $, showError } from "../ui";

function statusBadge(status: string): string {
  return `<span class="badge ${status}">${escapeHtml(status)}</span>`;
}

/** The mean with its 95 % interval, in the engine's words (the bootstrap one explained when the t interval fails). */
function meanWithCi(s: Summary): string {
  const why = s.ci95_unreliable ? ` title="The t interval reaches below the fastest call (the sample is skewed); this is a bootstrap interval of the mean."` : "";
  return `${escapeHtml(s.words.mean)} <span class="muted"${why}>${escapeHtml(s.words.ci)}</span>`;
}

/** A percentile cell in the engine's words: a bound below the clock step, "-" where the sample is too small for it (`calls` says how many it needs). */
function quantileCell(text: string, calls: number, bold = false): string {
  if (text === "-") return `<td class="muted" title="Needs at least ${calls.toLocaleString()} calls">-</td>`;
  return `<td>${bold ? `<b>${escapeHtml(text)}</b>` : escapeHtml(text)}</td>`;
}

function summaryRow(t: TransportReport): string {
  const s = t.overall;
  const w = s.words;
  return `<tr>
    <th scope="row">${escapeHtml(t.label)}</th>
    ${quantileCell(w.p50, 1, true)}${quantileCell(w.p99, 100)}
    <td>${meanWithCi(s)}</td>
    <td>${s.count.toLocaleString()}</td><td>${s.errors > s.lost ? `<b class="bad">${s.errors - s.lost}</b>` : "0"}${s.lost ? ` <span class="muted" title="datagrams lost: an unreliable transport's loss, counted and not sent again">+ ${escapeHtml(s.words.loss)}</span>` : ""}</td>
    <td>${escapeHtml(w.sd)}</td>
    <td>${escapeHtml(w.min)}</td>${quantileCell(w.p90, 10)}
    ${quantileCell(w.p999, 1000)}<td>${escapeHtml(w.max)}</td>
    <td>${escapeHtml(w.bytes_out)} / ${escapeHtml(w.bytes_in)}</td>
    <td>${s.per_ms === null ? "-" : s.per_ms.toFixed(2)}</td>
  </tr>`;
}

/** Round trips first; push transports' one-way times after a line of their own. */
function summaryRows(transports: TransportReport[], tickMs: number): string {
  const pushed = transports.filter((t) => t.pattern === "push");
  const rows = transports.filter((t) => t.pattern !== "push").map(summaryRow).join("");
  if (!pushed.length) return rows;
  return `${rows}<tr class="section"><th colspan="13">push: the server's events, one way (creation → arrival), one a tick (${tickMs} ms)</th></tr>${pushed.map(summaryRow).join("")}`;
}

function energyRow(t: TransportEnergy): string {
  const cell = (q: "process-cpu" | "system-cpu" | "rapl" | "battery") => {
    const cost = t.costs.find((c) => c.quantity === q);
    return cost?.measured
      ? `<td>${escapeHtml(cost.text)}</td>`
      : `<td class="unavailable" title="${escapeHtml(cost?.unavailable ?? "")}">unavailable</td>`;
  };
  const watts = t.costs.find((c) => (c.quantity === "rapl" || c.quantity === "battery") && c.measured)?.measured?.rate_above_idle;
  return `<tr>
    <th scope="row">${escapeHtml(t.label)}</th>
    <td>${t.seconds.toFixed(1)} s</td><td>${t.messages.toLocaleString()}</td>
    ${cell("process-cpu")}${cell("system-cpu")}${cell("rapl")}${cell("battery")}
    <td>${watts === undefined ? "—" : `${watts.toFixed(2)} W`}</td>
    <td>${t.battery_drain_pct_per_h === null ? "—" : `${t.battery_drain_pct_per_h.toFixed(2)} %/h`}</td>
    <td>${escapeHtml(t.peak_memory)}</td>
  </tr>`;
}

function energyCard(energy: EnergyReport | null, withWebview: boolean): string {
  if (!energy) {
    return `<div class="card"><h3>CPU and energy</h3><p class="muted">Power was not sampled in this run (readings every 0 ms).</p></div>`;
  }
  const baseline = energy.baseline_s === null ? "no idle baseline" : `idle baseline of ${energy.baseline_s.toFixed(1)} s subtracted`;
  const sensors = energy.sensors
    .map((s) => `<li class="${s.unavailable ? "unavailable" : ""}"><b>${escapeHtml(s.sensor)}</b>: ${escapeHtml(s.unavailable ? `unavailable: ${s.unavailable}` : s.source)}${s.failed_reads ? ` <span class="bad">(${s.failed_reads} failed reads: ${escapeHtml(s.last_error ?? "")})</span>` : ""}</li>`)
    .join("");
  const verdicts = energy.comparisons
    .map((c) => `<li class="verdict ${c.ratio === null || (c.ratio_ci95 && c.ratio_ci95[0] <= 1 && c.ratio_ci95[1] >= 1) ? "none" : c.ratio >= 1 ? "ws-wins" : "ajax-wins"}"><span class="who">${escapeHtml(c.who)}</span> <span class="what">${escapeHtml(c.verdict)}</span></li>`)
    .join("");
  return `<div class="card" id="energy-card"><h3>CPU and energy per message <span class="muted">(${escapeHtml(baseline)})</span></h3>
    <ul class="verdicts" id="energy-verdicts">${verdicts}</ul>
    <div id="chart-power" class="chart"></div>
    <div class="table-wrap"><table id="energy-table">
      <thead><tr><th>transport</th><th>time</th><th>messages</th><th title="CPU time of Duplex${withWebview ? " and its web view" : ""} per message, above idle">CPU-s/1k: Duplex${withWebview ? " + web view" : ""}</th><th>CPU-s/1k: whole machine</th><th>RAPL µJ/msg</th><th>battery µJ/msg</th><th>power above idle</th><th>battery drain</th><th>peak memory</th></tr></thead>
      <tbody>${energy.transports.map(energyRow).join("")}</tbody>
    </table></div>
    <ul class="sensors">${sensors}</ul>
    ${energy.notes.length ? `<ul class="notes">${energy.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : ""}
  </div>`;
}

export interface ResultsOptions {
  /** Export buttons (the app); a saved HTML report has none. */
  exportable?: boolean;
}

/** Over an emulated link: what the link alone predicts beside each median, and their ratio. */
function linkCard(link: LinkReport | null): string {
  if (!link) return "";
  const rows = link.rows
    .map(
      (r) => `<tr><td>${escapeHtml(r.label)}</td><td>${escapeHtml(r.model_text)}</td><td>${escapeHtml(r.median_text)}</td>
        <td class="${r.ratio > 1.25 || r.ratio < 0.8 ? "bad" : ""}">${escapeHtml(r.ratio_text)}</td><td class="muted">${escapeHtml(r.model)}</td></tr>`,
    )
    .join("");
  return `<div class="card" id="link-card"><h3>Over the link <span class="muted">(${escapeHtml(link.label)}; ${escapeHtml(link.link.source)})</span></h3>
    <div class="table-wrap"><table id="link-table"><thead><tr><th>transport</th><th>link's model</th><th>median</th><th>measured / model</th><th>model</th></tr></thead><tbody>${rows}</tbody></table></div>
    ${link.notes.length ? `<ul class="notes">${link.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : `<p class="muted">Every median is within 10 % of what the link alone predicts (the relay's own arithmetic).</p>`}</div>`;
}

/** A sweep: the picture of its medians against the setting, with the model, and the same as a table. */
function sweepCard(sweep: SweepReport | null | undefined): string {
  if (!sweep) return "";
  const head = sweep.points.map((p) => `<th title="run ${escapeHtml(p.run_id.slice(0, 8))}">${escapeHtml(`${+p.value.toFixed(3)} ${sweep.unit}`)}</th>`).join("");
  // The engine's words: the median, and the model in brackets, muted.
  const cell = (median: string, model: string | null) =>
    `<td>${escapeHtml(median)}${model === null ? "" : ` <span class="muted">(${escapeHtml(model)})</span>`}</td>`;
  const rows = sweep.lines
    .map((l) => `<tr><th scope="row">${escapeHtml(l.label)}</th>${l.median_text.map((m, i) => cell(m, l.model_text[i] ?? null)).join("")}</tr>`)
    .join("");
  const modelled = sweep.lines.some((l) => l.model_text.some((m) => m !== null));
  return `<div class="card" id="sweep-card"><h3>Sweep of ${escapeHtml(sweep.setting)} <span class="muted">(${sweep.points.length} runs${modelled ? "; the link's model dashed" : ""})</span></h3>
    <div id="chart-sweep" class="chart"></div>
    <div class="table-wrap"><table id="sweep-table"><thead><tr><th>${modelled ? "median (model)" : "median"}</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>
    <p class="muted">Below: the sweep's last run (${escapeHtml(sweep.points[sweep.points.length - 1]?.link ?? "")}); every run is in the History.</p></div>`;
}

/** What each transport's bytes per message need of an uplink, against the link profiles' uplinks. */
function uplinkCard(uplink: UplinkReport | null | undefined): string {
  if (!uplink) return "";
  const head = uplink.uplinks.map((u) => `<th>${escapeHtml(u.name)} <span class="muted">${u.up_kbit.toLocaleString()} kbit/s</span></th>`).join("");
  const rows = uplink.rows
    .map((r) => `<tr><th scope="row">${escapeHtml(r.label)}</th><td>${escapeHtml(r.bytes_out)}</td>${r.max_per_s.map((m) => `<td>${Math.floor(m).toLocaleString()}/s</td>`).join("")}</tr>`)
    .join("");
  return `<div class="card" id="uplink-card"><h3>What an uplink carries <span class="muted">(bytes per message × rate; a link is full where a line crosses its uplink)</span></h3>
    <div id="chart-uplink" class="chart"></div>
    <div class="table-wrap"><table id="uplink-table"><thead><tr><th>transport</th><th>bytes up per msg</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>
    ${uplink.notes.length ? `<ul class="notes">${uplink.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : ""}</div>`;
}

export function renderResults(root: HTMLElement, view: RunView | null, options: ResultsOptions = {}): void {
  const exportable = options.exportable ?? true;
  destroyCharts();
  if (!view) {
    root.innerHTML = `<div class="card empty"><h2>No results yet</h2><p>Run a plan, or open a run from the History.</p></div>`;
    return;
  }
  const { record, report, series, power, sweep } = view;
  const comparisons = report.comparisons.length
    ? report.comparisons
        .map(
          (c) => `<li class="verdict ${c.faster === "ws" ? "ws-wins" : c.faster === "other" ? "ajax-wins" : "none"}">
            <span class="who">${escapeHtml(c.who)}</span>
            <span class="what">${escapeHtml(c.verdict)}</span>
            <span class="muted">${escapeHtml(c.details)}</span>
          </li>`,
        )
        .join("")
    : `<li class="verdict none">No comparison: a run needs ws and at least one AJAX transport from the same kind of client.</li>`;
  const fits = report.transports
    .filter((t) => t.normal)
    .map((t) => `<li><b>${escapeHtml(t.label)}</b>: ${escapeHtml(t.normal!.verdict)}</li>`)
    .join("");
  root.innerHTML = `
  ${sweepCard(sweep)}
  <div class="card">
    <div class="run-head">
      <h2>Run ${escapeHtml(record.id.slice(0, 8))} ${statusBadge(record.status)}</h2>
      ${exportable ? `<div class="actions"><button id="export-button" class="primary">Export CSV…</button> <button id="export-html-button">Export HTML…</button></div>` : ""}
    </div>
    <p class="muted">${escapeHtml(formatDate(record.started_at_unix_ns))} · ${escapeHtml(record.plan.name ?? "custom plan")} ·
      ${escapeHtml(view.planText)} ·
      server ${escapeHtml(record.target === "embedded" ? `embedded (${record.server})` : record.target)}</p>
    ${record.error ? `<p class="bad">${escapeHtml(record.error)}</p>` : ""}
    <ul class="verdicts" id="verdicts">${comparisons}</ul>
    ${report.regimes.length ? `<div id="regimes" class="regimes"><h3>The run changed pace part-way</h3><ul>${report.regimes.map((r) => `<li>${escapeHtml(r.words)}</li>`).join("")}</ul></div>` : ""}
    <p id="export-status" class="muted" aria-live="polite"></p>
  </div>
  ${linkCard(report.link)}
  <div class="card"><h3>Latency of every call <span class="muted">(paper Figs. 2 and 4; log scale)</span></h3><div id="chart-latency" class="chart"></div>
    <p class="muted hint">Hover for values; drag across the chart to zoom, double-click to zoom out.${record.webview ? " Web-view calls below the clock step read 0 and are not drawn on a log scale." : ""}</p></div>
  ${energyCard(report.energy, record.webview !== null)}
  <div class="card"><h3>Mean latency per set <span class="muted">(Fig. 3)</span></h3><div id="chart-sets" class="chart"></div></div>
  <div class="card"><h3>Distribution and fitted normal <span class="muted">(Figs. 5 and 6; the middle 99 % of calls, slower ones counted in the last bar)</span></h3><div id="chart-histograms" class="chart-grid"></div>
    <ul class="fits">${fits}</ul></div>
  <div class="card"><h3>Percentiles</h3>
    <div class="table-wrap"><table id="summary-table">
      <thead><tr><th>transport</th>${glossaryHeads(["p50", "p99", "mean ± 95% CI", "calls", "errors", "σ", "min", "p90", "p99.9", "max", "bytes out / in per msg", "per ms"])}</tr></thead>
      <tbody>${summaryRows(report.transports, record.plan.tick_ms)}</tbody>
    </table></div>
  </div>
  ${uplinkCard(report.uplink)}
  <div class="card"><h3>Notes</h3><ul class="notes">${report.notes
    .filter((n) => !report.regimes.some((r) => r.words === n))
    .map((n) => `<li>${escapeHtml(n)}</li>`)
    .join("")}</ul>
    <p class="muted">${escapeHtml(record.platform.cpu_model)} · ${record.platform.logical_cores} cores · Duplex ${escapeHtml(record.duplex_version)} · run ${escapeHtml(record.id)}</p></div>
  ${glossaryCard()}`;

  if (series.length) {
    latencyOverTime($("#chart-latency", root), series, report.transports);
    setMeans($("#chart-sets", root), report.transports);
    const grid = $("#chart-histograms", root);
    for (const s of series.filter((s) => s.latency_us.length > 0)) {
      const cell = document.createElement("div");
      grid.append(cell);
      histogramWithNormal(cell, s, report.transports.find((t) => t.transport === s.transport && t.client === s.client));
    }
  }

  if (sweep) sweepMedians($("#chart-sweep", root), sweep);
  if (report.uplink) uplinkNeeds($("#chart-uplink", root), report.uplink);

  const powerChart = root.querySelector<HTMLElement>("#chart-power");
  if (power && powerChart && power.at_unix_ns.length > 1) powerOverTime(powerChart, power, record.webview !== null);

  if (exportable) {
    ($("#export-button", root) as HTMLButtonElement).onclick = () => exportRun(record.id, $("#export-status", root));
    ($("#export-html-button", root) as HTMLButtonElement).onclick = () => exportHtml(record.id, $("#export-status", root));
  }
}

export async function exportHtml(id: string, status: HTMLElement): Promise<void> {
  status.textContent = "exporting…";
  try {
    const path = await api.exportHtml(id);
    status.textContent = path ? `Saved the report to ${path}: one file, opens in any browser without a network` : "Export cancelled.";
  } catch (e) {
    status.textContent = "";
    showError(`Export failed: ${errorMessage(e)}`);
  }
}

export async function exportRun(id: string, status: HTMLElement): Promise<void> {
  status.textContent = "exporting…";
  try {
    const files = await api.exportRun(id);
    status.textContent = files ? `Saved ${files.samples} (and summary, comparisons, power, energy, run.json beside it)` : "Export cancelled.";
  } catch (e) {
    status.textContent = "";
    showError(`Export failed: ${errorMessage(e)}`);
  }
}
