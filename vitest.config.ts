import { defineConfig } from "vitest/config";
import { SlowestFirst } from "./test/helpers/slowest-first.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Four workers on two cores: most test files wait on child processes, git, containers and
    // sockets, so two workers left a core idle half the time (bench/test-suite.bench.ts measures this
    // against two workers). Files share a worker's module cache (isolate: false): each file imported
    // ts-morph, zod and the SDK afresh, about 130 s of the suite's time. A test that changes
    // process.env or other process state restores it in a finally block.
    maxWorkers: 4,
    isolate: false,
    // No test reaches a registry: npm answers from its cache (tasks/' packages are put there by
    // `npm install`'s prepare step, scripts/fetch-task-packages.ts).
    env: { npm_config_offline: "true" },
    // Longest files first (test/durations.json), so the run does not end on one slow file.
    sequence: { sequencer: SlowestFirst },
  },
});
