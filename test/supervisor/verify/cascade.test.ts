import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CascadeStage, MechanicalVerification } from "../../../schemas/verification.ts";
import { LocalRuntime } from "../../../src/supervisor/runtime/index.ts";
import { verifyMechanical } from "../../../src/supervisor/verify/mechanical.ts";
import { makeVerifyFixture, type VerifyFixture } from "../verify-fixture.ts";

/**
 * The cascade on a real vitest repo (Loom's own packages linked in): two modules, each with its test
 * file, so what the change can reach is a strict part of the suite. main's check fails when
 * CHECK_FAILS exists, so a failing check needs no type error.
 */
const vitestTests = (module: string, count: number, expr: string) =>
  `import { expect, test } from "vitest";
import { ${module} } from "../src/${module}.ts";
${Array.from({ length: count }, (_, i) => `\ntest("${module} ${i}", () => {\n  expect(${expr.replaceAll("I", String(i))}).toBe(${i + 1});\n});\n`).join("")}`;

const pkg = (extra: Record<string, string> = {}) =>
  `${JSON.stringify(
    {
      name: "cascade",
      private: true,
      type: "module",
      scripts: { check: "test ! -e CHECK_FAILS", test: "vitest run", "test:acceptance": "true", ...extra },
    },
    null,
    2,
  )}\n`;

const FILES = {
  "package.json": pkg(),
  ".gitignore": "node_modules\n",
  "src/inc.ts": "export const inc = (x: number): number => x + 1;\n",
  "src/other.ts": "export const other = (x: number): number => x + 1;\n",
  "test/inc.test.ts": vitestTests("inc", 3, "inc(I)"),
  "test/other.test.ts": vitestTests("other", 2, "other(I)"),
  "acceptance/a.txt": "frozen\n",
};

let fx: VerifyFixture;
let runtime: LocalRuntime;
let n = 0;

beforeAll(async () => {
  fx = await makeVerifyFixture(FILES);
  runtime = new LocalRuntime({ stateDir: path.join(fx.root, "rt"), sandbox: "none" });
});
afterAll(async () => {
  await fx?.cleanup();
});

async function verify(files: Record<string, string | null>, through?: "reachable" | "full") {
  n += 1;
  await fx.labBranch(n, files);
  const config = fx.config({ LOOM_RUNTIME: "local" });
  return verifyMechanical({ runtime, config, image: "unused" }, n, through);
}

const stageOf = (m: MechanicalVerification, name: CascadeStage["name"]) =>
  m.stages?.find((s) => s.name === name);
const states = (m: MechanicalVerification) =>
  Object.fromEntries((m.stages ?? []).map((s) => [s.name, s.state]));

describe("the verification cascade", () => {
  it("a change breaking a test its module's test file imports is rejected at reachable_tests; the full suite never runs", async () => {
    const m = await verify({ "src/inc.ts": "export const inc = (x: number): number => x + 2;\n" });
    expect(m.passed).toBe(false);
    expect(states(m)).toEqual({
      fixed_points: "passed",
      install: "skipped",
      check: "passed",
      reachable_tests: "failed",
      full_tests: "not_run",
      acceptance: "not_run",
    });
    expect(m.failures).toEqual([
      expect.stringMatching(/^reachable tests: `vitest related \(2 changed file\(s\)\)` exited with code 1$/),
    ]);
    expect(stageOf(m, "reachable_tests")?.detail).toMatch(/inc\.test\.ts/);
    expect(stageOf(m, "full_tests")?.detail).toBe("not run: an earlier stage failed");
    expect(m.tests).toEqual({
      passed: false,
      exitCode: null,
      output: "not run: the reachable tests failed",
      durationMs: 0,
      testCount: 0,
    });
    expect(m.complete).toBe(true);
  }, 120_000);

  it("a change to one module runs only the tests that reach it, then the full suite and acceptance; times on the record", async () => {
    const m = await verify({ "src/other.ts": "export const other = (x: number): number => 1 + x;\n" });
    expect(m.failures).toEqual([]);
    expect(m.passed).toBe(true);
    expect(states(m)).toEqual({
      fixed_points: "passed",
      install: "skipped",
      check: "passed",
      reachable_tests: "passed",
      full_tests: "passed",
      acceptance: "passed",
    });
    // other.test.ts's 2 of the suite's 5.
    expect(stageOf(m, "reachable_tests")?.testsRun).toBe(2);
    expect(stageOf(m, "full_tests")?.testsRun).toBe(5);
    expect(m.tests.testCount).toBe(5);
    expect(stageOf(m, "install")?.detail).toMatch(/lockfile is main's/);
    // Times: each ran stage took some, and together no more than the whole.
    for (const name of ["check", "reachable_tests", "full_tests", "acceptance"] as const)
      expect(stageOf(m, name)?.durationMs).toBeGreaterThan(0);
    const sum = (m.stages ?? []).reduce((a, s) => a + s.durationMs, 0);
    expect(sum).toBeLessThanOrEqual(m.durationMs);
    expect(stageOf(m, "reachable_tests")?.durationMs).toBeLessThan(60_000);
  }, 120_000);

  it("a changed test file is itself reachable, and a snapshot stands for its test file", async () => {
    const m = await verify({ "test/other.test.ts": vitestTests("other", 3, "other(I)") });
    expect(stageOf(m, "reachable_tests")).toMatchObject({ state: "passed", testsRun: 3 });
    expect(m.passed).toBe(true);
    const snap = await verify({ "test/__snapshots__/inc.test.ts.snap": "// exports\n" });
    expect(stageOf(snap, "reachable_tests")).toMatchObject({ state: "passed", testsRun: 3 });
  }, 120_000);

  it("a change to package.json reaches every test: the stage is skipped as not narrower", async () => {
    const m = await verify({ "package.json": pkg({ extra: "true" }) });
    expect(stageOf(m, "reachable_tests")).toEqual({
      name: "reachable_tests",
      state: "skipped",
      durationMs: 0,
      detail: "not narrower than the full suite: the change reaches every test (package.json)",
    });
    expect(stageOf(m, "full_tests")).toMatchObject({ state: "passed", testsRun: 5 });
  }, 120_000);

  it("a failing check stops the cascade before any test runs", async () => {
    const m = await verify({ CHECK_FAILS: "" });
    expect(m.failures).toEqual(["check: `npm run check` exited with code 1"]);
    expect(states(m)).toMatchObject({ check: "failed", reachable_tests: "not_run", full_tests: "not_run" });
    expect(stageOf(m, "check")?.detail).toBe("check: `npm run check` exited with code 1");
  }, 120_000);

  it('through "reachable" stops after the reachable tests and says it is not complete', async () => {
    const m = await verify(
      { "src/other.ts": "export const other = (x: number): number => x + 1; // same\n" },
      "reachable",
    );
    expect(m.passed).toBe(true);
    expect(m.complete).toBe(false);
    expect(states(m)).toMatchObject({
      reachable_tests: "passed",
      full_tests: "not_run",
      acceptance: "not_run",
    });
    expect(stageOf(m, "full_tests")?.detail).toMatch(/through: "reachable"/);
    expect(m.tests.output).toMatch(/through: "reachable"/);
  }, 120_000);

  it("a change to acceptance/ fails at the fixed points: nothing else runs", async () => {
    const m = await verify({ "acceptance/a.txt": "weakened\n" });
    expect(m.passed).toBe(false);
    expect(states(m)).toEqual({
      fixed_points: "failed",
      install: "not_run",
      check: "not_run",
      reachable_tests: "not_run",
      full_tests: "not_run",
      acceptance: "not_run",
    });
    expect(stageOf(m, "fixed_points")?.detail).toMatch(/^acceptance: lab\/gen-\d+ changes acceptance\//);
    expect(m.check.output).toBe("not run: an earlier stage failed");
  }, 120_000);
});
