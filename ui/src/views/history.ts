// The History view: every stored run, newest first. Open, export, delete, or compare two.
import { api } from "../api";
import { errorMessage, escapeHtml, formatDate, formatP, formatRatio, formatUs, groupLabel } from "../format";
import type { RunComparison, RunListItem } from "../types";
import { $, showError } from "../ui";
import { exportRun } from "./results";

export interface HistoryOptions {
  onOpen: (id: string) => void;
}

function comparisonTable(c: RunComparison): string {
  if (!c.diffs.length) return `<p>The two runs have no transport and client in common.</p>`;
  return `<div class="table-wrap"><table id="compare-table">
    <thead><tr><th>transport</th><th>p50 A</th><th>p50 B</th><th>B / A</th><th>p99 A</th><th>p99 B</th><th>Mann–Whitney</th><th>verdict</th></tr></thead>
    <tbody>${c.diffs
      .map(
        (d) => `<tr><th scope="row">${escapeHtml(groupLabel(d.transport, d.client))}</th>
        <td>${formatUs(d.a.p50_us)}</td><td>${formatUs(d.b.p50_us)}</td><td>${formatRatio(d.median_ratio)}</td>
        <td>${formatUs(d.a.p99_us)}</td><td>${formatUs(d.b.p99_us)}</td><td>${formatP(d.mann_whitney_p)}</td>
        <td>${escapeHtml(d.verdict)}</td></tr>`,
      )
      .join("")}</tbody></table></div>`;
}

export async function renderHistory(root: HTMLElement, options: HistoryOptions): Promise<void> {
  let runs: RunListItem[];
  try {
    runs = await api.listRuns();
  } catch (e) {
    root.innerHTML = "";
    showError(`Cannot read the history: ${errorMessage(e)}`);
    return;
  }
  if (!runs.length) {
    root.innerHTML = `<div class="card empty"><h2>No runs yet</h2><p>Every run you make is stored here.</p></div>`;
    return;
  }
  root.innerHTML = `
  <div class="card">
    <div class="run-head"><h2>History <span class="muted">(${runs.length})</span></h2>
      <div class="actions"><button id="compare-button" disabled title="Tick two runs">Compare two</button></div></div>
    <p id="history-status" class="muted" aria-live="polite"></p>
    <div class="table-wrap"><table id="history-table">
      <thead><tr><th><span class="sr-only">select</span></th><th>when</th><th>plan</th><th>status</th><th>clients</th><th>calls</th><th>result</th><th>platform</th><th></th></tr></thead>
      <tbody>${runs
        .map(
          (r) => `<tr data-id="${escapeHtml(r.id)}">
          <td><input type="checkbox" class="pick" aria-label="Select run ${escapeHtml(r.id.slice(0, 8))}"></td>
          <td>${escapeHtml(formatDate(r.started_at_unix_ns))}</td>
          <td>${escapeHtml(r.plan_name ?? "custom")}<div class="muted">${escapeHtml(r.transports.join(", "))}</div></td>
          <td><span class="badge ${r.status}">${r.status}</span></td>
          <td>${escapeHtml(r.clients.join(", "))}</td>
          <td>${r.samples.toLocaleString()}</td>
          <td class="headline">${escapeHtml(r.headline ?? "—")}</td>
          <td class="muted">${escapeHtml(r.platform)}</td>
          <td class="row-actions"><button class="open">Open</button> <button class="export">Export…</button> <button class="delete danger">Delete</button></td>
        </tr>`,
        )
        .join("")}</tbody></table></div>
  </div>
  <div class="card" id="compare-card" hidden><h2>A vs B</h2><div id="compare-result"></div></div>`;

  const status = $("#history-status", root);
  const picked = () => [...root.querySelectorAll<HTMLInputElement>("input.pick:checked")].map((c) => c.closest("tr")!.dataset.id!);
  root.querySelectorAll<HTMLInputElement>("input.pick").forEach(
    (c) => (c.onchange = () => (($("#compare-button", root) as HTMLButtonElement).disabled = picked().length !== 2)),
  );
  root.querySelectorAll<HTMLTableRowElement>("tbody tr[data-id]").forEach((row) => {
    const id = row.dataset.id!;
    $("button.open", row).onclick = () => options.onOpen(id);
    $("button.export", row).onclick = () => exportRun(id, status);
    const del = $("button.delete", row) as HTMLButtonElement;
    del.onclick = async () => {
      // Two steps, in the page: Tauri's window.confirm is asynchronous and not a real guard.
      if (!del.classList.contains("armed")) {
        del.classList.add("armed");
        del.textContent = "Really delete?";
        del.title = `Delete run ${id.slice(0, 8)} and its samples; this cannot be undone`;
        setTimeout(() => {
          del.classList.remove("armed");
          del.textContent = "Delete";
        }, 4000);
        return;
      }
      try {
        await api.deleteRun(id);
        await renderHistory(root, options);
      } catch (e) {
        showError(`Delete failed: ${errorMessage(e)}`);
      }
    };
  });
  ($("#compare-button", root) as HTMLButtonElement).onclick = async () => {
    const [a, b] = picked();
    try {
      const c = await api.compareRuns(a, b);
      $("#compare-card", root).hidden = false;
      $("#compare-result", root).innerHTML = `<p class="muted">A = ${escapeHtml(a.slice(0, 8))}, B = ${escapeHtml(b.slice(0, 8))}</p>${comparisonTable(c)}`;
    } catch (e) {
      showError(`Compare failed: ${errorMessage(e)}`);
    }
  };
}
