import { describe, expect, it } from "vitest";

import { parseCounts } from "./fanout";

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
});
