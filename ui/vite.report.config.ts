import { defineConfig } from "vite";
import { viteSingleFile } from "vite-plugin-singlefile";

// The HTML report template: one file with its script, styles and charting library inlined, so
// that a report opens anywhere without a network. Built after the app (it adds to dist/).
export default defineConfig({
  plugins: [viteSingleFile()],
  build: {
    target: "es2021",
    outDir: "dist",
    emptyOutDir: false,
    rollupOptions: { input: "report.html" },
  },
});
