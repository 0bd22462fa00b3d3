// What each statistic means, in a sentence: shown on hover over a column heading and, in full,
// in the glossary under the results.
import { escapeHtml } from "./format";

export const GLOSSARY: Record<string, string> = {
  p50: "Median: half the calls were faster than this. Below the clock's step it is only a bound (< step).",
  p90: "90th percentile: 9 calls in 10 were faster.",
  p99: "99th percentile: 99 calls in 100 were faster. Shown from 100 calls on.",
  "p99.9": "99.9th percentile: 999 calls in 1,000 were faster. Shown from 1,000 calls on.",
  min: "The fastest call.",
  max: "The slowest call.",
  "mean ± 95% CI":
    "Average latency, and the range that holds the true mean with 95 % confidence (Student's t). When that range reaches below the fastest call the sample is too skewed for it, and a bootstrap interval is shown instead.",
  σ: "Standard deviation: how far single calls typically fall from the mean.",
  calls: "Successful calls measured (warm-up calls are not counted).",
  errors: "Calls that failed; they are left out of the latency statistics.",
  "bytes out / in per msg": "Bytes on the wire per call, headers and framing included, sent / received.",
  "per ms": "Calls completed per millisecond of wall time (the paper's data points per millisecond).",
  "clock step":
    "The smallest step of the clock that timed the calls. Web pages' performance.now() is coarsened (often to 1 ms, finer on cross-origin-isolated pages); a call shorter than a step reads as 0 and is shown as < step.",
  KS: "Kolmogorov–Smirnov distance between the calls and the fitted normal curve: small means the normal describes them well.",
  "Mann–Whitney U": "A test of whether one transport's calls tend to be faster than the other's, with no assumption about their shape; its p-value is the chance of a difference this large by luck.",
  "Welch's t": "A test of whether two means differ, for groups with unequal spreads.",
  "CPU-s/1k": "CPU seconds per 1,000 messages above the idle baseline.",
};

/** Table headings with their explanation on hover. */
export function glossaryHeads(terms: string[]): string {
  return terms
    .map((t) => (GLOSSARY[t] ? `<th title="${escapeHtml(GLOSSARY[t])}"><span class="term">${escapeHtml(t)}</span></th>` : `<th>${escapeHtml(t)}</th>`))
    .join("");
}

/** The whole glossary, folded. */
export function glossaryCard(): string {
  return `<details class="card glossary" id="glossary"><summary>What the numbers mean</summary><dl>${Object.entries(GLOSSARY)
    .map(([term, text]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(text)}</dd>`)
    .join("")}</dl></details>`;
}
