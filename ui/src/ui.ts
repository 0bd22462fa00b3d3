// Small DOM helpers shared by the views: the error banner, status lines, switching tabs.
import { escapeHtml } from "./format";

export function $(selector: string, root: ParentNode = document): HTMLElement {
  const el = root.querySelector<HTMLElement>(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

export function showError(message: string): void {
  const banner = $("#error-banner");
  banner.innerHTML = `<span>${escapeHtml(message)}</span><button class="link" aria-label="Dismiss">✕</button>`;
  banner.hidden = false;
  $("button", banner).onclick = () => (banner.hidden = true);
}

export function clearError(): void {
  $("#error-banner").hidden = true;
}

export type Tab = "run" | "results" | "history" | "live" | "fanout" | "lan";
const TABS: Tab[] = ["run", "results", "history", "live", "fanout", "lan"];
const listeners: ((tab: Tab) => void)[] = [];

export function onTab(f: (tab: Tab) => void): void {
  listeners.push(f);
}

export function showTab(tab: Tab): void {
  for (const t of TABS) {
    const button = $(`#tab-${t}`);
    button.setAttribute("aria-selected", String(t === tab));
    button.tabIndex = t === tab ? 0 : -1;
    $(`#view-${t}`).hidden = t !== tab;
  }
  listeners.forEach((f) => f(tab));
}

/** Tabs by click and by arrow keys (WAI-ARIA tabs pattern). */
export function setUpTabs(): void {
  TABS.forEach((t, i) => {
    const button = $(`#tab-${t}`);
    button.onclick = () => showTab(t);
    button.onkeydown = (e: KeyboardEvent) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = TABS[(i + step + TABS.length) % TABS.length];
      showTab(next);
      $(`#tab-${next}`).focus();
    };
  });
}
