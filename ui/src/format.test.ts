import { describe, expect, it } from "vitest";

import { errorMessage, escapeHtml, formatBytes, formatQuantile, formatUs } from "./format";
import words from "./bindings/words.json";

describe("format", () => {
  it("words microseconds and bytes as the engine does, value for value", () => {
    // bindings/words.json is the engine's format_us and format_bytes on these values.
    for (const [us, text] of words.us) expect(formatUs(us as number)).toBe(text);
    for (const [bytes, text] of words.bytes) expect(formatBytes(bytes as number)).toBe(text);
    expect(formatUs(NaN)).toBe("—");
  });
  it("shows a reading below the clock step as a bound, never as 0", () => {
    expect(formatQuantile({ clock_step_us: 1000 }, 0)).toBe("< 1.00 ms (clock step)");
    expect(formatQuantile({ clock_step_us: 1000 }, 2000)).toBe("2.00 ms");
    expect(formatQuantile({ clock_step_us: null }, 0)).toBe("0.0 µs");
  });
  it("turns anything thrown into readable text", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage({ kind: "storage", message: "no run \"x\" in the history" })).toBe('no run "x" in the history');
    expect(errorMessage(42)).toBe("unexpected error: 42");
  });
  it("escapes text for HTML", () => {
    expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe("&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;");
  });
});
