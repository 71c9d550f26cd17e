import { defineConfig } from "vitest/config";
import { GATE_MODULES } from "./scripts/mutation/gate-modules.ts";

/**
 * The tests a mutation run executes: those of the gate modules being mutated, handed over by
 * scripts/mutation/run.ts in GATE_MUTATION_TESTS (a JSON list), else every gate module's tests.
 */
const chosen = process.env.GATE_MUTATION_TESTS;
const include: string[] = chosen
  ? (JSON.parse(chosen) as string[])
  : [...new Set(GATE_MODULES.flatMap((m) => m.tests))];

export default defineConfig({
  test: {
    include,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores shared with everything else: one worker per Stryker test runner process.
    maxWorkers: 1,
  },
});
