import { describe, expect, it } from "vitest";

import { headline, parseCounts } from "./fanout";
import type { FanoutCell, FanoutReport } from "./bindings";

const cell = (transport: FanoutCell["transport"], subscribers: number, last_us: number | null): FanoutCell => ({
  transport,
  subscribers,
  connect_s: 0.1,
  broadcasts: 3,
  delivered: 3 * subscribers,
  missed: 0,
  p50_us: last_us === null ? null : last_us / 2,
  p99_us: last_us,
  last_us,
  worst_us: last_us,
  server_cpu_us: 100,
  bytes_per_event: 80,
  errors: {},
  each: [],
});

describe("fan-out view", () => {
  it("reads subscriber counts with commas, spaces and thousands separators", () => {
    expect(parseCounts("100, 1000")).toEqual([100, 1000]);
    expect(parseCounts("10,000 100 1,000")).toEqual([100, 1000, 10000]);
    expect(parseCounts("100 100")).toEqual([100]);
    expect(parseCounts("100,1000")).toEqual([100, 1000]);
    expect(parseCounts("")).toMatch(/at least one/);
    expect(parseCounts("100, lots")).toMatch(/“lots” is not a subscriber count/);
    expect(parseCounts("0")).toMatch(/not a subscriber count/);
  });

  it("names the transport that reaches the last subscriber first at the most subscribers", () => {
    const report = {
      cells: [cell("ws-push", 10, 50), cell("ws-push", 1000, 20_000), cell("long-poll", 1000, 80_000), cell("sse", 1000, null)],
    } as unknown as FanoutReport;
    expect(headline(report)).toBe("At 1,000 subscribers the last one has a ws-push event after 20.0 ms; long-poll 80.0 ms (4.0×).");
    expect(headline({ cells: [cell("sse", 5, null)] } as unknown as FanoutReport)).toBe("No broadcast reached every subscriber.");
  });
});
