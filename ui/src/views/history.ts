// The History view: every stored run, newest first. Open, export, delete, import runs from
// other devices, and compare runs or platforms side by side.
import { api } from "../bindings/api";
import { errorMessage, escapeHtml, formatDate } from "../format";
import { glossaryHeads } from "../glossary";
import { groupMedians } from "../charts";
import type { CompareOptions, GroupBy, PlatformComparison, RunListItem } from "../bindings";
import { $, showError } from "../ui";
import { exportRun } from "./results";

export interface HistoryOptions {
  onOpen: (id: string) => void;
  /** Puts the run's plan in the Run view. */
  onRunAgain: (id: string) => void;
}

/** Runs or platforms side by side: a row per transport and group, the first group the reference. */
function comparisonTable(c: PlatformComparison): string {
  if (!c.cells.length) return `<p>The runs have no measurements to compare.</p>`;
  const rows = [...c.cells].sort((x, y) => x.client.localeCompare(y.client) || x.transport.localeCompare(y.transport) || x.group - y.group);
  const opt = (v: number | null, digits: number) => (v === null ? "—" : v.toFixed(digits));
  const notes = c.notes.length ? `<ul class="notes compare-notes">${c.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : "";
  return `${notes}<ol class="groups">${c.groups
    .map(
      (g, i) =>
        `<li><b>${escapeHtml(g.label)}</b> <span class="muted">(${g.run_ids.length} run${g.run_ids.length > 1 ? "s" : ""})${i === 0 ? " — reference" : ""}</span><br><span class="muted">${escapeHtml(g.conditions)}</span><br><span class="muted clocks">${escapeHtml(g.clocks)}</span></li>`,
    )
    .join("")}</ol>
  <div class="table-wrap"><table id="compare-table" class="fits-width">
    <thead><tr><th>transport</th><th>group</th>${glossaryHeads(["p50", "p99", "mean ± 95% CI", "calls", "bytes out / in per msg", "CPU-s/1k"])}<th>µJ/msg</th><th>/ ws p50</th><th>vs reference</th></tr></thead>
    <tbody>${rows
      .map((r) => {
        const s = r.summary;
        return `<tr><th scope="row">${escapeHtml(r.label)}</th><td class="group-name">${escapeHtml(c.groups[r.group]?.label ?? "")}</td>
        <td><b>${escapeHtml(s.words.p50)}</b></td><td>${escapeHtml(s.words.p99)}</td>
        <td>${escapeHtml(s.words.mean)} <span class="muted">${escapeHtml(s.words.ci)}</span></td>
        <td>${s.count.toLocaleString()}</td>
        <td>${escapeHtml(s.words.bytes_out)} / ${escapeHtml(s.words.bytes_in)}</td><td>${opt(r.cpu_s_per_1k, 3)}</td><td>${opt(r.energy_uj_per_msg, 1)}</td>
        <td>${escapeHtml(r.over_ws_text)}</td>
        <td class="wrap">${escapeHtml(r.vs_reference ?? (r.group === 0 ? "reference" : "—"))}</td></tr>`;
      })
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
      <div class="actions"><button id="import-button" title="Add runs from other devices (bundle files)">Import…</button>
        <button id="compare-button" disabled title="Tick two runs or more">Compare</button>
        <button id="delete-picked" class="danger" disabled title="Tick the runs to delete">Delete selected</button></div></div>
    <p id="history-status" class="muted" aria-live="polite"></p>
    <div class="table-wrap"><table id="history-table">
      <thead><tr><th><span class="sr-only">select</span></th><th>when</th><th>name or note</th><th>result</th><th>plan</th><th>status</th><th>calls</th><th>platform</th><th></th></tr></thead>
      <tbody>${runs
        .map(
          (r) => `<tr data-id="${escapeHtml(r.id)}">
          <td><input type="checkbox" class="pick" aria-label="Select run ${escapeHtml(r.id.slice(0, 8))}"></td>
          <td>${escapeHtml(formatDate(r.started_at_unix_ns))}</td>
          <td><input type="text" class="note" maxlength="200" placeholder="name this run" value="${escapeHtml(r.note ?? "")}" aria-label="Name or note for run ${escapeHtml(r.id.slice(0, 8))}"></td>
          <td class="headline">${escapeHtml(r.headline ?? "—")}</td>
          <td class="plan">${escapeHtml(r.plan_name ?? "custom")}<div class="muted">${escapeHtml(r.measured)}</div></td>
          <td><span class="badge ${r.status}">${r.status}</span></td>
          <td>${r.samples.toLocaleString()}<span class="phone-only"> calls</span></td>
          <td class="muted platform">${escapeHtml(r.platform)}</td>
          <td class="row-actions"><div><button class="open">Open</button> <button class="again" title="Put this run's plan in the Run view">Run again</button> <button class="export">Export…</button> <button class="delete danger">Delete</button></div></td>
        </tr>`,
        )
        .join("")}</tbody></table></div>
  </div>
  <div class="card" id="compare-card" hidden>
    <div class="run-head"><h2>Side by side</h2>
      <div class="actions"><label>Group <select id="compare-by"><option value="platform">by platform</option><option value="run">by run</option></select></label>
        <label title="Failed and cancelled runs are left out of pooled groups unless ticked"><input type="checkbox" id="compare-incomplete"> failed and cancelled too</label>
        <label title="Compare runs measured in different topologies (this app's runs beside a joined browser's): the difference is said"><input type="checkbox" id="compare-topologies"> across topologies</label>
        <button id="compare-export">Export CSV…</button></div></div>
    <div id="compare-chart" class="chart"></div>
    <div id="compare-result"></div>
  </div>`;

  const status = $("#history-status", root);
  const picked = () => [...root.querySelectorAll<HTMLInputElement>("input.pick:checked")].map((c) => c.closest("tr")!.dataset.id!);
  const deletePicked = $("#delete-picked", root) as HTMLButtonElement;
  const disarm = () => {
    deletePicked.classList.remove("armed");
    deletePicked.textContent = "Delete selected";
  };
  root.querySelectorAll<HTMLInputElement>("input.pick").forEach(
    (c) =>
      (c.onchange = () => {
        ($("#compare-button", root) as HTMLButtonElement).disabled = picked().length < 2;
        deletePicked.disabled = picked().length === 0;
        disarm();
      }),
  );
  deletePicked.onclick = async () => {
    const ids = picked();
    // Two steps, as for one run: the first click says what the second will do.
    if (!deletePicked.classList.contains("armed")) {
      deletePicked.classList.add("armed");
      deletePicked.textContent = `Really delete ${ids.length} run${ids.length > 1 ? "s" : ""}?`;
      setTimeout(disarm, 4000);
      return;
    }
    try {
      for (const id of ids) await api.deleteRun(id);
      await renderHistory(root, options);
      $("#history-status", root).textContent = `Deleted ${ids.length} run${ids.length > 1 ? "s" : ""}.`;
    } catch (e) {
      showError(`Delete failed: ${errorMessage(e)}`);
    }
  };
  root.querySelectorAll<HTMLInputElement>("input.note").forEach((input) => {
    const id = input.closest("tr")!.dataset.id!;
    input.onchange = async () => {
      try {
        await api.setNote(id, input.value);
        status.textContent = input.value.trim() ? `Named run ${id.slice(0, 8)}.` : `Cleared the note of run ${id.slice(0, 8)}.`;
      } catch (e) {
        showError(`Cannot keep the note: ${errorMessage(e)}`);
      }
    };
  });
  root.querySelectorAll<HTMLTableRowElement>("tbody tr[data-id]").forEach((row) => {
    const id = row.dataset.id!;
    $("button.open", row).onclick = () => options.onOpen(id);
    $("button.again", row).onclick = () => options.onRunAgain(id);
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
  const compareOptions = (): CompareOptions => ({
    by: ($("#compare-by", root) as HTMLSelectElement).value as GroupBy,
    include_incomplete: ($("#compare-incomplete", root) as HTMLInputElement).checked,
    across_topologies: ($("#compare-topologies", root) as HTMLInputElement).checked,
  });
  let compared: string[] = [];
  const showComparison = async () => {
    try {
      const c = await api.compareRuns(compared, compareOptions());
      $("#compare-card", root).hidden = false;
      $("#compare-result", root).innerHTML = comparisonTable(c);
      groupMedians($("#compare-chart", root), c);
    } catch (e) {
      showError(`Compare failed: ${errorMessage(e)}`);
    }
  };
  ($("#compare-button", root) as HTMLButtonElement).onclick = () => {
    compared = picked();
    void showComparison();
  };
  ($("#compare-by", root) as HTMLSelectElement).onchange = () => void showComparison();
  ($("#compare-incomplete", root) as HTMLInputElement).onchange = () => void showComparison();
  ($("#compare-topologies", root) as HTMLInputElement).onchange = () => void showComparison();
  ($("#compare-export", root) as HTMLButtonElement).onclick = async () => {
    try {
      const path = await api.exportComparison(compared, compareOptions());
      status.textContent = path ? `Saved the comparison to ${path}` : "Export cancelled.";
    } catch (e) {
      showError(`Export failed: ${errorMessage(e)}`);
    }
  };
  ($("#import-button", root) as HTMLButtonElement).onclick = async () => {
    try {
      const imported = await api.importBundles();
      if (!imported) return;
      await renderHistory(root, options);
      const again = imported.already_here.length ? `; ${imported.already_here.length} already here, left as they were` : "";
      $("#history-status", root).textContent = `Imported ${imported.added.length} run(s)${again}.`;
    } catch (e) {
      showError(`Import failed: ${errorMessage(e)}`);
    }
  };
}
