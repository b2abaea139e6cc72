/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built into dist/ by the CMake target `studio_ui` and served by `studio serve` (docs/ui.md).
// `npm run dev` proxies the API to a local `studio serve` on :8080.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 2000, sourcemap: false },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/ajax-api": "http://127.0.0.1:8080" },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.tsx", "src/**/*.test.ts"],
    setupFiles: ["src/test-setup.ts"],
    testTimeout: 20000,
  },
});
