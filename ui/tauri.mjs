// Runs the Tauri CLI for this layout: the UI (here) and the app crate (../src-tauri) are
// siblings, which the CLI does not find on its own. `npm run tauri dev`, `npm run tauri build`.
import { fileURLToPath } from "node:url";

import cli from "@tauri-apps/cli";

process.env.TAURI_APP_PATH ??= fileURLToPath(new URL("../src-tauri", import.meta.url));
process.env.TAURI_FRONTEND_PATH ??= fileURLToPath(new URL(".", import.meta.url));
await cli.run(process.argv.slice(2), "npm run tauri");
