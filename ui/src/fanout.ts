// The Fan-out view's reading of its form, apart from the view so that tests need no charts. The
// report's words (its headline, every figure of a row) come from the engine.

/** "100, 1000" or "100 1,000": the subscriber counts, or a reason they are not. */
export function parseCounts(text: string): number[] | string {
  const parts = text.split(/[\s;]+|,(?!\d{3}\b)/).map((p) => p.replace(/[,_]/g, "")).filter((p) => p !== "");
  if (!parts.length) return "give at least one subscriber count, such as 100, 1000";
  const counts = parts.map(Number);
  const bad = parts.find((_, i) => !Number.isInteger(counts[i]) || counts[i] < 1 || counts[i] > 100_000);
  if (bad !== undefined) return `“${bad}” is not a subscriber count (a whole number from 1 to 100,000)`;
  return [...new Set(counts)].sort((a, b) => a - b);
}
