import { defineConfig } from "vitest/config";
import { SlowestFirst } from "./test/helpers/slowest-first.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: keep parallelism modest so timing-sensitive tests stay honest.
    maxWorkers: 2,
    // Longest files first (test/durations.json), so the run does not end on one slow file.
    sequence: { sequencer: SlowestFirst },
  },
});
