import { describe, expect, it } from "vitest";

import { errorMessage, escapeHtml, formatBytes, formatCost, formatMedianRatio, formatP, formatQuantile, formatRatio, formatUs, groupLabel } from "./format";

describe("format", () => {
  it("reads microseconds like the engine", () => {
    expect(formatUs(21.34)).toBe("21.3 µs");
    expect(formatUs(1234)).toBe("1.23 ms");
    expect(formatUs(12345)).toBe("12.3 ms");
    expect(formatUs(NaN)).toBe("—");
  });
  it("shows a reading below the clock step as a bound, never as 0", () => {
    expect(formatQuantile({ clock_step_us: 1000 }, 0)).toBe("< 1.00 ms (clock step)");
    expect(formatQuantile({ clock_step_us: 1000 }, 2000)).toBe("2.00 ms");
    expect(formatQuantile({ clock_step_us: null }, 0)).toBe("0.0 µs");
    expect(formatMedianRatio(null, 3)).toBe("≥ 3.0×");
    expect(formatMedianRatio(null)).toBe("—");
    expect(formatMedianRatio(2)).toBe("2.00×");
  });
  it("p-values, bytes, ratios, labels", () => {
    expect(formatP(0.0001)).toBe("p < 0.001");
    expect(formatP(0.0421)).toBe("p = 0.042");
    expect(formatP(null)).toBe("—");
    expect(formatBytes(188)).toBe("188 B");
    expect(formatBytes(20_480)).toBe("20.0 KiB");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 << 20)).toBe("3.0 MiB");
    expect(formatRatio(1.5)).toBe("1.50×");
    expect(formatRatio(Infinity)).toBe("—");
    expect(groupLabel("xhr", "webview")).toBe("xhr (web view)");
  });
  it("turns anything thrown into readable text", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage({ kind: "storage", message: "no run \"x\" in the history" })).toBe('no run "x" in the history');
    expect(errorMessage(42)).toBe("unexpected error: 42");
  });
  it("reads costs per message in their units, and absence as absence", () => {
    const measured = (per: number, ci: number | null) => ({ total: 1, idle: 0, above_idle: 1, ci95: ci, rate_above_idle: 1, per_message: per, per_message_ci95: ci });
    expect(formatCost({ quantity: "process-cpu", measured: measured(0.000075, 0.000001), unavailable: null })).toBe("0.075 ± 0.001 CPU-s/1k");
    expect(formatCost({ quantity: "rapl", measured: measured(0.000412, null), unavailable: null })).toBe("412 µJ/msg");
    expect(formatCost({ quantity: "battery", measured: null, unavailable: "no battery" })).toBe("unavailable");
  });
  it("escapes text for HTML", () => {
    expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe("&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;");
  });
});
