import { beforeAll, describe, expect, it } from "vitest";

import { GLOSSARY, glossaryHeads } from "./glossary";

// uPlot reads matchMedia when it loads, which jsdom lacks.
let colourOf: (transport: string, client?: string) => string;
beforeAll(async () => {
  window.matchMedia ??= ((query: string) =>
    ({ matches: false, media: query, addEventListener() {}, removeEventListener() {}, addListener() {}, removeListener() {} }) as unknown as MediaQueryList);
  ({ colourOf } = await import("./charts"));
});

describe("charts and tables explain themselves", () => {
  it("gives web-view series their own colours, so a legend tells them apart", () => {
    for (const t of ["ws", "http", "http-new", "ws-push", "long-poll", "poll", "sse", "wss", "https"]) {
      expect(colourOf(t, "webview")).not.toBe(colourOf(t, "native"));
    }
    const webview = ["ws", "http", "xhr", "sse", "wss", "https"].map((t) => colourOf(t, "webview"));
    expect(new Set(webview).size).toBe(6);
  });
  it("explains every statistic a table heads a column with", () => {
    const heads = ["p50", "p90", "p99", "p99.9", "min", "max", "mean ± 95% CI", "σ", "calls", "errors", "per ms", "bytes out / in per msg", "CPU-s/1k"];
    for (const h of heads) expect(GLOSSARY[h], h).toBeTruthy();
    expect(glossaryHeads(["p50"])).toContain('title="Median: half the calls');
  });
});
