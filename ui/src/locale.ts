// Some systems report a language tag that Intl rejects (WebKitGTK gives "C" when LANG=C or
// unset), and libraries that format numbers with navigator.language then throw on load. This
// module is imported first and swaps such a tag for a valid one before anything else runs.

export function usableLanguage(tag: string | undefined, fallback = "en-US"): string {
  try {
    if (tag) {
      new Intl.NumberFormat(tag);
      return tag;
    }
  } catch {
    // fall through
  }
  return fallback;
}

if (typeof navigator !== "undefined") {
  const tag = usableLanguage(navigator.language);
  if (tag !== navigator.language) {
    Object.defineProperty(navigator, "language", { value: tag, configurable: true });
    Object.defineProperty(navigator, "languages", { value: [tag], configurable: true });
  }
}
