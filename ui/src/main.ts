// Boots the app page: theme, tabs, the embedded server's address, and the three views.
import "./locale"; // first: makes navigator.language valid before uPlot reads it
import "./style.css";

import { api } from "./bindings/api";
import { errorMessage } from "./format";
import type { LabelledLink, RunView } from "./bindings";
import { $, onTab, setUpTabs, showError, showTab } from "./ui";
import { listen } from "@tauri-apps/api/event";

import { renderHistory } from "./views/history";
import { renderFanout } from "./views/fanout";
import { renderLan, showJoined } from "./views/lan";
import { renderLive } from "./views/live";
import { renderResults } from "./views/results";
import { type RunViewHandle, renderRunView, setEmbeddedAddress } from "./views/run";

type Theme = "auto" | "light" | "dark";
const THEMES: Theme[] = ["auto", "light", "dark"];

function applyTheme(theme: Theme): void {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  $("#theme-toggle").title = `Theme: ${theme} (click to switch)`;
}

let current: RunView | null = null;
/** The embedded echo server's address, once known. */
let embedded: string | null = null;
/** Link profiles (the app info), for the LAN view's link selector. */
let links: LabelledLink[] = [];

function showResult(view: RunView): void {
  current = view;
  showTab("results");
  // A result opens at its top, the verdicts first, not at the scroll the form was left at.
  window.scrollTo(0, 0);
}

async function boot(): Promise<void> {
  let theme = (localStorage.getItem("duplex-theme") as Theme | null) ?? "auto";
  applyTheme(theme);
  $("#theme-toggle").onclick = () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    localStorage.setItem("duplex-theme", theme);
    applyTheme(theme);
    if (!$("#view-results").hidden) renderResults($("#view-results"), current);
  };
  setUpTabs();
  let runView: RunViewHandle | null = null;
  const drawHistory = () =>
    renderHistory($("#view-history"), {
      onOpen: async (id) => {
        try {
          showResult(await api.openRun(id));
        } catch (e) {
          showError(`Cannot open the run: ${errorMessage(e)}`);
        }
      },
      onRunAgain: async (id) => {
        try {
          const view = await api.openRun(id);
          runView?.applyPlan(view.record.plan, view.link);
          showTab("run");
        } catch (e) {
          showError(`Cannot open the run: ${errorMessage(e)}`);
        }
      },
    });
  onTab((tab) => {
    if (tab === "results") renderResults($("#view-results"), current);
    if (tab === "history") void drawHistory();
    if (tab === "lan") void renderLan($("#view-lan"), links);
    if (tab === "fanout") renderFanout($("#view-fanout"));
    // Drawn once: a live session goes on while other tabs are shown.
    if (tab === "live" && !$("#view-live").hasChildNodes()) renderLive($("#view-live"), embedded);
  });
  // A browser that joined over the LAN stored a run.
  await listen<string>("run-stored", async (event) => {
    const run = (await api.listRuns()).find((r) => r.id === event.payload);
    if (run) showJoined($("#view-lan"), run);
    if (!$("#view-history").hidden) void drawHistory();
  });

  const info = await api.appInfo();
  links = info.links;
  embedded = "Ok" in info.server ? info.server.Ok : null;
  const status = $("#server-status");
  if ("Ok" in info.server) {
    status.textContent = `echo server ${info.server.Ok}`;
    status.classList.add("ok");
  } else {
    status.textContent = "echo server not running";
    status.classList.add("bad");
    showError(`The embedded echo server did not start: ${info.server.Err}`);
  }
  status.title = `Duplex ${info.version} · history in ${info.dataDir}`;
  runView = renderRunView($("#view-run"), {
    presets: info.presets,
    transports: info.transports,
    links: info.links,
    webtransport: info.webtransport,
    onResult: showResult,
  });
  setEmbeddedAddress($("#view-run"), "Ok" in info.server ? info.server.Ok : "not running", info.tlsFingerprint);
  showTab("run");
}

// Nothing may leave a blank screen: every failure is shown.
window.addEventListener("error", (e) => showError(e.message));
window.addEventListener("unhandledrejection", (e) => showError(errorMessage(e.reason)));
boot().catch((e) => showError(`Duplex could not start: ${errorMessage(e)}`));
