import { describe, expect, it } from "vitest";

import { clockResolution, histogram, normalCounts, normalPdf, quantileSorted, thin } from "./stats";

describe("chart statistics", () => {
  it("quantiles interpolate like R-7", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([5], 0.9)).toBe(5);
    expect(Number.isNaN(quantileSorted([], 0.5))).toBe(true);
  });
  it("histograms keep every sample, outliers in the edge bins", () => {
    const xs = [...Array.from({ length: 1000 }, (_, i) => 100 + (i % 100)), 1e6];
    const bins = histogram(xs, 10);
    expect(bins).toHaveLength(10);
    expect(bins.reduce((n, b) => n + b.count, 0)).toBe(xs.length);
    expect(bins[9].count).toBeGreaterThan(bins[5].count - 1);
    expect(bins[0].low).toBeGreaterThanOrEqual(100);
    expect(bins[9].high).toBeLessThan(1e6);
  });
  it("a constant series still gets a bin", () => {
    const bins = histogram([7, 7, 7], 5);
    expect(bins.reduce((n, b) => n + b.count, 0)).toBe(3);
  });
  it("the normal curve integrates to the sample count", () => {
    expect(normalPdf(0, 0, 1)).toBeCloseTo(0.398942, 5);
    const bins = Array.from({ length: 200 }, (_, i) => ({ low: -10 + i * 0.1, high: -10 + (i + 1) * 0.1, count: 0 }));
    const total = normalCounts(bins, 500, 0, 1).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(500, 0);
  });
  it("thinning keeps the spike of each bucket", () => {
    expect(thin([1, 9, 2, 3, 4, 8, 5], 3)).toEqual([9, 8, 5]);
    expect(thin([1, 2], 1)).toEqual([1, 2]);
  });
  it("finds how finely a clock ticks", () => {
    let t = 0;
    const clock = () => Math.floor((t += 0.3)); // a 1-unit clock read every 0.3 units
    expect(clockResolution(clock, 10)).toBe(1);
  });
});
