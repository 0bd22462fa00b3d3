// The LAN view: "Serve on LAN" starts a second server other devices can reach behind a random
// access token. Browsers that open its URL (or scan the QR code) run the test themselves and
// their runs land in History; other Duplex apps and CLIs can target the URL too.
import { api } from "../bindings/api";
import { errorMessage, escapeHtml, formatDate } from "../format";
import type { LabelledLink, LanInfo, RunListItem } from "../bindings";
import { $, clearError, showError } from "../ui";

/** The target the engine records for a joined browser's run (`duplex_core::session::JOINED_TARGET`). */
const JOINED_TARGET = "browser join";

function runningHtml(info: LanInfo): string {
  const urls = info.urls.length
    ? info.urls.map((u) => `<li><code class="url">${escapeHtml(u)}</code> <button type="button" class="copy" data-url="${escapeHtml(u)}">Copy</button></li>`).join("")
    : `<li class="bad">This device has no network address: is it connected to a network?</li>`;
  return `
    <p>Serving on <b id="lan-address">${escapeHtml(info.address)}</b>. Open one of these on another device, in any browser:</p>
    <ul id="lan-urls" class="urls">${urls}</ul>
    <div class="lan-grid">
      <figure id="lan-qr" class="qr" aria-label="QR code of the first URL">${info.qrSvg ?? ""}</figure>
      <div>
        <p class="muted">Browsers run <b>${escapeHtml(info.plan.transports.join(", "))}</b>, ${escapeHtml(info.planText)}${
          info.link ? `, over the emulated link <b>${escapeHtml(info.link.label)}</b> (the URLs above are its relay's: the page and every connection cross it)` : ""
        }, and send their samples here. Another Duplex (app or <code>duplex bench --target URL</code>) can measure this device with the same URL.</p>
        <p class="muted">Every request needs the access token <code id="lan-token">${escapeHtml(info.token)}</code> in the URL; stopping the server retires it.</p>
        ${info.tlsFingerprint ? `<p class="muted">Over TLS (<code>https://</code>, <code>wss://</code>, same port) its certificate, made at start, has SHA-256 <code id="lan-fingerprint" class="fingerprint">${escapeHtml(info.tlsFingerprint)}</code>: a native client elsewhere trusts exactly it with <code>--fingerprint</code>.</p>` : ""}
        <h3>Joined runs</h3>
        <ul id="lan-joined" class="joined"><li class="muted">none yet</li></ul>
      </div>
    </div>`;
}

/** Draws the view: the LAN server off (a form) or on (its URLs, QR code and joined runs). */
export async function renderLan(root: HTMLElement, links: LabelledLink[]): Promise<void> {
  root.innerHTML = `
  <section class="card plan" id="lan-card">
    <h2>Serve on LAN <span class="muted">let other devices and browsers measure against this one</span></h2>
    <div class="grid">
      <label>Port (0 = any free) <input type="number" id="lan-port" min="0" max="65535" step="1" value="9000"></label>
      <label>Browser test: sets <input type="number" id="lan-sets" min="1" step="1" value="10"></label>
      <label>Calls per set <input type="number" id="lan-calls" min="1" step="1" value="200"></label>
      <label class="wide">Browsers' link <select id="lan-link"><option value="">none: the network as it is</option>${links
        .filter((l) => l.link.name !== "loopback")
        .map((l) => `<option value="${escapeHtml(l.link.name)}">${escapeHtml(l.label)}</option>`)
        .join("")}</select></label>
    </div>
    <div class="actions">
      <button type="button" id="lan-start" class="primary">Serve on LAN</button>
      <button type="button" id="lan-stop" hidden>Stop</button>
      <span id="lan-state" class="muted">Off: the echo server answers this device only.</span>
    </div>
    <div id="lan-running"></div>
  </section>`;
  const start = $("#lan-start", root) as HTMLButtonElement;
  const stop = $("#lan-stop", root) as HTMLButtonElement;
  const running = $("#lan-running", root);
  const show = (info: LanInfo | null) => {
    start.hidden = info !== null;
    stop.hidden = info === null;
    root.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select").forEach((i) => (i.disabled = info !== null));
    if (info) {
      // The form shows what is running, whoever started it and whenever this tab was drawn.
      ($("#lan-port", root) as HTMLInputElement).value = info.address.slice(info.address.lastIndexOf(":") + 1);
      ($("#lan-sets", root) as HTMLInputElement).value = String(info.plan.sets);
      ($("#lan-calls", root) as HTMLInputElement).value = String(info.plan.calls);
      ($("#lan-link", root) as HTMLSelectElement).value = info.plan.link?.name ?? "";
    }
    $("#lan-state", root).textContent = info ? "On" : "Off: the echo server answers this device only.";
    running.innerHTML = info ? runningHtml(info) : "";
    running.querySelectorAll<HTMLButtonElement>("button.copy").forEach((b) => {
      b.onclick = () => void navigator.clipboard?.writeText(b.dataset.url ?? "").then(() => (b.textContent = "Copied"));
    });
  };
  show(await api.lanStatus().catch(() => null));
  await listJoined(root);
  start.onclick = async () => {
    clearError();
    const num = (id: string) => Number(($(id, root) as HTMLInputElement).value);
    start.disabled = true;
    try {
      const link = links.find((l) => l.link.name === ($("#lan-link", root) as HTMLSelectElement).value)?.link;
      show(await api.startLan({ port: num("#lan-port"), sets: num("#lan-sets"), calls: num("#lan-calls"), link }));
    } catch (e) {
      showError(errorMessage(e));
    } finally {
      start.disabled = false;
    }
  };
  stop.onclick = async () => {
    await api.stopLan().catch((e) => showError(errorMessage(e)));
    show(null);
  };
}

/** Runs browsers measured by joining, as the history keeps them (newest first). */
async function listJoined(root: HTMLElement): Promise<void> {
  const runs = await api.listRuns().catch(() => [] as RunListItem[]);
  for (const run of runs.filter((r) => r.target === JOINED_TARGET).reverse()) showJoined(root, run);
}

/** Adds a joined browser's stored run to the list, if the view is showing. */
export function showJoined(root: HTMLElement, run: RunListItem): void {
  const list = root.querySelector("#lan-joined");
  if (!list || list.querySelector(`li[data-id="${CSS.escape(run.id)}"]`)) return;
  list.querySelector("li.muted")?.remove();
  const li = document.createElement("li");
  li.dataset.id = run.id;
  li.innerHTML = `<b>${escapeHtml(run.platform)}</b> <span class="muted">${escapeHtml(formatDate(run.started_at_unix_ns))} · ${escapeHtml(run.plan_name ?? "custom")} · ${escapeHtml(run.headline ?? run.status)}</span>`;
  list.prepend(li);
}
