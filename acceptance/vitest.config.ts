import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The frozen acceptance suite: contracts of Loom that no generation may break. A Lab sees this folder
 * read-only, and verification refuses any branch that changes it (`npm run test:acceptance`).
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["acceptance/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
