// @ts-check
/**
 * StrykerJS over the gate (scripts/mutation/gate-modules.ts lists the modules and their tests).
 * Run through `npm run mutation` (all gate modules) or `npm run mutation:changed` (those a change
 * touches), which check that a run can start, pass the modules and tests, and compare the scores
 * with the committed floors. The TypeScript checker is not used: it needs the TypeScript compiler
 * API, which TypeScript 7 (the native tsc this project uses) does not ship.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const slug = process.env.GATE_MUTATION_SLUG || "all";

export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "stryker.vitest.config.ts", related: false },
  // Every mutant runs all of its module's tests (a run mutates one module with its few test files):
  // per-test coverage attribution missed killing tests here (async git work in hooks), and reported
  // mutants as surviving that a test of the module kills.
  coverageAnalysis: "all",
  // Nothing in tsconfig.json needs rewriting for the sandbox, and the rewriter needs the compiler API.
  tsconfigFile: "stryker-no-tsconfig.json",
  concurrency: 2,
  timeoutMS: 20_000,
  incremental: true,
  // One incremental file and report per module (GATE_MUTATION_SLUG, set by scripts/mutation/run.ts).
  incrementalFile: `test-artifacts/mutation/${slug}/stryker-incremental.json`,
  tempDirName: `test-artifacts/mutation/${slug}/sandbox`,
  cleanTempDir: "always",
  reporters: ["clear-text", "json", "progress"],
  jsonReporter: { fileName: `test-artifacts/mutation/${slug}/mutation.json` },
  htmlReporter: { fileName: `test-artifacts/mutation/${slug}/mutation.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 95, low: 90, break: null },
  ignorePatterns: ["test-artifacts", "dist", "bench/results", ".loom"],
};
