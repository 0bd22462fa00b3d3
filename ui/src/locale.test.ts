import { describe, expect, it } from "vitest";

import { usableLanguage } from "./locale";

describe("locale", () => {
  it("replaces a language tag Intl rejects (WebKitGTK reports C under LANG=C)", () => {
    expect(usableLanguage("C")).toBe("en-US");
    expect(usableLanguage(undefined)).toBe("en-US");
    expect(usableLanguage("de-DE")).toBe("de-DE");
  });
});
