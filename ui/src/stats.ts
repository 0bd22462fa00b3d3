// Small numeric helpers for the charts: histogram bins, the normal density, quantiles,
// thinning long series, and how finely the page's clock ticks.

export interface Bin {
  low: number;
  high: number;
  count: number;
}

/** Linear-interpolated quantile of sorted values, q in [0, 1]. */
export function quantileSorted(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * `bins` equal-width bins from the 0.5th to the 99.5th percentile; values outside are counted
 * in the first or last bin so no sample is lost, and one outlier cannot squash the picture.
 */
export function histogram(xs: number[], bins: number): Bin[] {
  if (xs.length === 0 || bins < 1) return [];
  const sorted = [...xs].sort((a, b) => a - b);
  let low = quantileSorted(sorted, 0.005);
  let high = quantileSorted(sorted, 0.995);
  if (!(high > low)) {
    low = sorted[0] - 0.5;
    high = sorted[0] + 0.5;
  }
  const width = (high - low) / bins;
  const out: Bin[] = Array.from({ length: bins }, (_, i) => ({ low: low + i * width, high: low + (i + 1) * width, count: 0 }));
  for (const x of xs) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((x - low) / width)));
    out[i].count++;
  }
  return out;
}

/** Density of N(mu, sigma) at x. */
export function normalPdf(x: number, mu: number, sigma: number): number {
  const z = (x - mu) / sigma;
  return Math.exp(-0.5 * z * z) / (sigma * Math.sqrt(2 * Math.PI));
}

/** Expected count per bin of `n` samples under N(mu, sigma), at the bin centres. */
export function normalCounts(bins: Bin[], n: number, mu: number, sigma: number): number[] {
  return bins.map((b) => n * (b.high - b.low) * normalPdf((b.low + b.high) / 2, mu, sigma));
}

/**
 * A long series cut to buckets of `stride` calls for drawing: each bucket keeps its largest
 * value, so spikes (what people look for) survive. Bucket k starts at call k * stride + 1.
 */
export function thin(xs: number[], stride: number): number[] {
  if (stride <= 1) return xs.slice();
  const out: number[] = [];
  for (let start = 0; start < xs.length; start += stride) {
    let best = xs[start];
    for (let i = start + 1; i < Math.min(start + stride, xs.length); i++) if (xs[i] > best) best = xs[i];
    out.push(best);
  }
  return out;
}

/** Smallest step of a clock, in the clock's unit, from `samples` readings that changed. */
export function clockResolution(now: () => number, samples = 20): number {
  let smallest = Infinity;
  let last = now();
  let seen = 0;
  for (let spins = 0; seen < samples && spins < 5_000_000; spins++) {
    const t = now();
    if (t !== last) {
      smallest = Math.min(smallest, t - last);
      last = t;
      seen++;
    }
  }
  return smallest;
}
