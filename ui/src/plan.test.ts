import { describe, expect, it } from "vitest";

import { blocks, callsFor, problems, runsOn } from "./plan";
import type { Plan } from "./types";

const plan: Plan = {
  name: "paper",
  description: null,
  transports: ["ws", "http", "xhr"],
  sets: 10,
  calls: 25,
  interval_ms: 100,
  rate: null,
  payload_bytes: 16,
  warmup: 5,
  concurrency: 1,
  order: "interleaved",
  binary: false,
  http_method: "get",
  poll_interval_ms: 100,
  tick_ms: 100,
  timeout_ms: 5000,
  power: { sample_ms: 200, baseline_ms: 2000 },
};

describe("plan", () => {
  it("knows which client measures which transport, as the engine does", () => {
    expect(runsOn("xhr", "native")).toBe(false);
    expect(runsOn("xhr", "webview")).toBe(true);
    expect(runsOn("http-new", "webview")).toBe(false);
    expect(runsOn("http-new", "native")).toBe(true);
  });
  it("orders blocks interleaved or in turn", () => {
    const p = { transports: plan.transports.slice(0, 2), sets: 2 };
    expect(blocks({ ...p, order: "interleaved" })).toEqual([["ws", 1], ["http", 1], ["ws", 2], ["http", 2]]);
    expect(blocks({ ...p, order: "in-turn" })).toEqual([["ws", 1], ["ws", 2], ["http", 1], ["http", 2]]);
  });
  it("counts calls per kind of client", () => {
    expect(callsFor(plan, "native")).toBe(2 * 10 * 25);
    expect(callsFor(plan, "webview")).toBe(3 * 10 * 25);
  });
  it("explains what is wrong with a plan", () => {
    const both = { native: true, webview: true };
    expect(problems(plan, both, null)).toEqual([]);
    expect(problems({ ...plan, transports: [] }, both, null)).toContain("Choose at least one transport.");
    expect(problems({ ...plan, sets: 0 }, both, null).join(" ")).toMatch(/Sets and calls/);
    expect(problems(plan, { native: false, webview: false }, null).join(" ")).toMatch(/native clients, web-view clients/);
    expect(problems(plan, both, "http://10.0.0.2:9000").join(" ")).toMatch(/embedded server only/);
    expect(problems(plan, { native: true, webview: false }, "not a url").join(" ")).toMatch(/http:\/\/host:port/);
    expect(problems({ ...plan, transports: ["xhr"] }, { native: true, webview: false }, null).join(" ")).toMatch(/None of the chosen/);
    expect(problems({ ...plan, power: { sample_ms: 5, baseline_ms: 0 } }, both, null).join(" ")).toMatch(/every 20 ms or more/);
    expect(problems({ ...plan, power: { sample_ms: 0, baseline_ms: 0 } }, both, null)).toEqual([]);
  });
});
