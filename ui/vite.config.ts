import { defineConfig } from "vitest/config";

// Two pages: the app (index.html) and the page browsers open to join a Duplex server over the
// network (join.html, served by the server at `/`). The Tauri CLI expects the dev server on a
// fixed port (tauri.conf.json devUrl).
export default defineConfig({
  clearScreen: false,
  server: { port: 1420, strictPort: true, host: "127.0.0.1" },
  build: {
    target: "es2021",
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
    // Paths relative to this folder, where the build runs.
    rollupOptions: { input: { main: "index.html", join: "join.html" } },
  },
  test: { environment: "jsdom", include: ["src/**/*.test.ts"] },
});
