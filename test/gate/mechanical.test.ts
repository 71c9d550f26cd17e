import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/shared/config.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { verifyCloneOf, verifyMechanical } from "../../src/supervisor/verify/mechanical.ts";
import { git } from "../supervisor/verify-fixture.ts";

/**
 * Stage 1's verdict on a repo whose scripts are plain shell, so each verification takes a moment and
 * the verdict logic can be mutation-tested: main's `npm test` prints a vitest summary with the count
 * in COUNT, its acceptance script fails when a BREAK file exists, its check when CHECK_FAILS exists.
 */
const SCRIPTS = {
  check: "test ! -e CHECK_FAILS && { test ! -e CHECK_HANGS || sleep 30; }",
  test: 'test ! -e TESTS_FAIL && { test ! -e TESTS_HANG || sleep 30; } && echo " Tests  $(cat COUNT) passed ($(cat COUNT))"',
  "test:acceptance": "test ! -e BREAK",
};

let root: string;
let repo: string;
let runtime: LocalRuntime;
let n = 0;

async function write(files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
    await writeFile(path.join(repo, rel), text);
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-gate-mech-"));
  repo = path.join(root, "repo");
  runtime = new LocalRuntime({ stateDir: path.join(root, "state"), sandbox: "none" });
  await write({
    "package.json": JSON.stringify({ name: "mech", private: true, scripts: SCRIPTS }),
    COUNT: "3\n",
    "schemas/a.ts": "export {};\n",
    "acceptance/a.test.ts": "// frozen\n",
    "src/supervisor/verify/fitness.ts": "export {};\n",
  });
  await git(repo, ["init", "-q", "-b", "main"]);
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "-m", "initial"]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Verifies a new lab/gen-N that writes `files` on top of main (in `where`, default the shared repo). */
async function verify(files: Record<string, string>, env: Record<string, string> = {}) {
  n += 1;
  await git(repo, ["checkout", "-q", "-b", `lab/gen-${n}`, "main"]);
  await write({ "program.md": `# ${n}\n`, ...files });
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "--no-verify", "-m", `gen-${n}`]);
  await git(repo, ["checkout", "-q", "main"]);
  const config = loadConfig({
    cwd: root,
    env: { LOOM_REPO_PATH: repo, LOOM_STATE_DIR: path.join(root, "state"), LOOM_RUNTIME: "local", ...env },
  });
  const m = await verifyMechanical({ runtime, config, image: "unused" }, n);
  // The clone is removed on every path, and the duration is this run's.
  await expect(stat(verifyCloneOf(config.stateDir, n))).rejects.toMatchObject({ code: "ENOENT" });
  expect(m.durationMs).toBeLessThan(120_000);
  return m;
}

describe("stage 1's verdict", () => {
  it("passes a branch whose check, tests and acceptance pass with as many tests as main", async () => {
    const m = await verify({ "src/new.ts": "export {};\n" });
    expect(m.failures).toEqual([]);
    expect(m).toMatchObject({
      passed: true,
      baselineTestCount: 3,
      tests: { passed: true, testCount: 3 },
      check: { passed: true, exitCode: 0 },
      schemaFingerprintOk: true,
      acceptance: { present: true, unchanged: true, run: { passed: true } },
      gate: { touched: false, files: [] },
      complete: true,
    });
    // Every stage, in order, with its time; this repo's tests are not vitest, so none is "reachable".
    expect(m.stages?.map(({ durationMs: _, ...rest }) => rest)).toEqual([
      { name: "fixed_points", state: "passed" },
      {
        name: "install",
        state: "skipped",
        detail: "the lockfile is main's: main's installed packages are reused",
      },
      { name: "check", state: "passed" },
      {
        name: "reachable_tests",
        state: "skipped",
        detail: "main's test script does not run vitest, so the reachable tests are not known",
      },
      { name: "full_tests", state: "passed", testsRun: 3 },
      { name: "acceptance", state: "passed" },
    ]);
    const ms = Object.fromEntries((m.stages ?? []).map((s) => [s.name, s.durationMs]));
    expect(ms.check).toBe(m.check.durationMs);
    expect(ms.full_tests).toBe(m.tests.durationMs);
    expect(ms.acceptance).toBe(m.acceptance.run?.durationMs);
    expect(ms.install).toBe(0);
    expect(ms.fixed_points).toBeGreaterThan(0);
  });

  it("fails on a failing check, failing tests, or fewer tests than main", async () => {
    const check = await verify({ CHECK_FAILS: "" });
    expect(check.passed).toBe(false);
    expect(check.failures).toEqual(["check: `npm run check` exited with code 1"]);
    const tests = await verify({ TESTS_FAIL: "" });
    expect(tests.passed).toBe(false);
    expect(tests.tests).toMatchObject({ passed: false, testCount: 0 });
    expect(tests.failures[0]).toBe("tests: `npm test` exited with code 1");
    expect(tests.failures[1]).toMatch(
      /^tests: 0 passing test\(s\), fewer than the 3 main passes at [0-9a-f]{12} \(no test summary found in the output of npm test\)$/,
    );
    expect(tests.stages?.slice(4)).toEqual([
      {
        name: "full_tests",
        state: "failed",
        durationMs: tests.tests.durationMs,
        testsRun: 0,
        detail: tests.failures.join("; "),
      },
      { name: "acceptance", state: "not_run", durationMs: 0, detail: "not run: an earlier stage failed" },
    ]);
    // Stopped before the full suite, the record still names main's count when it is known (cached).
    expect(check.baselineTestCount).toBe(3);
    expect(check.stages?.find((s) => s.name === "check")).toEqual({
      name: "check",
      state: "failed",
      durationMs: check.check.durationMs,
      detail: "check: `npm run check` exited with code 1",
    });
    const fewer = await verify({ COUNT: "2\n" });
    expect(fewer.passed).toBe(false);
    expect(fewer.failures).toEqual([
      expect.stringMatching(/^tests: 2 passing test\(s\), fewer than the 3 main passes at [0-9a-f]{12}$/),
    ]);
    const more = await verify({ COUNT: "4\n" });
    expect(more.passed).toBe(true);
  });

  it("fails when the frozen acceptance suite fails, even if the branch redefines its scripts", async () => {
    const broken = await verify({ BREAK: "" });
    expect(broken.passed).toBe(false);
    expect(broken.acceptance).toMatchObject({ present: true, unchanged: true, run: { passed: false } });
    expect(broken.failures).toEqual(["acceptance: `npm run test:acceptance` exited with code 1"]);
    expect(broken.stages?.at(-1)).toEqual({
      name: "acceptance",
      state: "failed",
      durationMs: broken.acceptance.run?.durationMs,
      detail: "acceptance: `npm run test:acceptance` exited with code 1",
    });
    // main's scripts define what checking and testing mean, not the candidate's package.json.
    const scripts = { check: "true", test: 'echo " Tests  99 passed (99)"', "test:acceptance": "true" };
    const redefined = await verify({
      BREAK: "",
      "package.json": JSON.stringify({ name: "mech", private: true, scripts }),
    });
    expect(redefined.passed).toBe(false);
    expect(redefined.tests.testCount).toBe(3);
    expect(redefined.failures).toEqual(["acceptance: `npm run test:acceptance` exited with code 1"]);
  });

  it("fails a change to schemas/ or acceptance/ (which is then not run) and marks a gate change", async () => {
    const schemas = await verify({ "schemas/a.ts": "export const changed = 1;\n" });
    expect(schemas.passed).toBe(false);
    expect(schemas.schemaFingerprintOk).toBe(false);
    expect(schemas.failures).toEqual([
      expect.stringMatching(/^schemas: lab\/gen-\d+ changes schemas\/ \(schemas\/a\.ts\)/),
    ]);
    expect(schemas.stages?.[0]).toMatchObject({
      name: "fixed_points",
      state: "failed",
      detail: schemas.failures[0],
    });
    expect(schemas.stages?.slice(1).map((s) => [s.name, s.state, s.durationMs, s.detail])).toEqual(
      ["install", "check", "reachable_tests", "full_tests", "acceptance"].map((name) => [
        name,
        "not_run",
        0,
        "not run: an earlier stage failed",
      ]),
    );
    expect(schemas.check).toEqual({
      passed: false,
      exitCode: null,
      output: "not run: an earlier stage failed",
      durationMs: 0,
    });
    const acceptance = await verify({ "acceptance/a.test.ts": "// weakened\n" });
    expect(acceptance.passed).toBe(false);
    expect(acceptance.acceptance).toEqual({ present: true, unchanged: false, run: null });
    expect(acceptance.failures).toEqual([
      expect.stringMatching(/^acceptance: lab\/gen-\d+ changes acceptance\//),
    ]);
    // Both fixed points at once: both named, in the stage's detail too.
    const both = await verify({
      "schemas/a.ts": "export const both = 1;\n",
      "acceptance/a.test.ts": "// both\n",
    });
    expect(both.failures).toHaveLength(2);
    expect(both.stages?.[0]?.detail).toBe(`${both.failures[0]}; ${both.failures[1]}`);
    const gate = await verify({ "src/supervisor/verify/fitness.ts": "export const relaxed = 1;\n" });
    expect(gate.passed).toBe(true);
    expect(gate.gate).toEqual({ touched: true, files: ["src/supervisor/verify/fitness.ts"] });
  });

  it("a step past LOOM_VERIFY_TIMEOUT_MS is killed and fails with the limit named", async () => {
    const hung = await verify({ CHECK_HANGS: "", TESTS_HANG: "" }, { LOOM_VERIFY_TIMEOUT_MS: "1000" });
    expect(hung.passed).toBe(false);
    expect(hung.check.exitCode).toBeNull();
    // The cascade stops at the check: the tests never start.
    expect(hung.failures).toEqual(["check: `npm run check` was killed after LOOM_VERIFY_TIMEOUT_MS=1000 ms"]);
    expect(hung.tests).toMatchObject({
      passed: false,
      exitCode: null,
      output: "not run: an earlier stage failed",
    });
    const slow = await verify({ TESTS_HANG: "" }, { LOOM_VERIFY_TIMEOUT_MS: "1000" });
    expect(slow.failures).toEqual([
      "tests: `npm test` was killed after LOOM_VERIFY_TIMEOUT_MS=1000 ms",
      expect.stringMatching(/^tests: 0 passing test\(s\), fewer than the 3 main passes at [0-9a-f]{12}$/),
    ]);
    expect(slow.stages?.find((s) => s.name === "full_tests")).toMatchObject({
      state: "failed",
      testsRun: 0,
      detail: expect.stringMatching(
        /^tests: `npm test` was killed after LOOM_VERIFY_TIMEOUT_MS=1000 ms; tests: 0 passing/,
      ),
    });
  });

  it("an install that fails stops the other steps, which are reported as not run", async () => {
    const broken = await verify({
      "package-lock.json": "{ this lockfile is not json",
    });
    expect(broken.passed).toBe(false);
    expect(broken.install?.passed).toBe(false);
    expect(broken.failures[0]).toMatch(/^install: `npm ci` exited with code \d+$/);
    expect(broken.stages?.[1]).toEqual({
      name: "install",
      state: "failed",
      durationMs: broken.install?.durationMs,
      detail: broken.failures[0],
    });
    expect(broken.stages?.[2]).toMatchObject({ name: "check", state: "not_run" });
    expect(broken.check).toMatchObject({
      passed: false,
      exitCode: null,
      output: "not run: the install step failed",
      durationMs: 0,
    });
    expect(broken.tests).toMatchObject({
      passed: false,
      exitCode: null,
      output: "not run: the install step failed",
      testCount: 0,
    });
  });

  it("an install that passes is a stage of its own, before the check", async () => {
    const lock = { name: "mech", lockfileVersion: 3, requires: true, packages: { "": { name: "mech" } } };
    const m = await verify({ "package-lock.json": JSON.stringify(lock) });
    expect(m.failures).toEqual([]);
    expect(m.install).toMatchObject({ passed: true, exitCode: 0 });
    expect(m.stages?.[1]).toEqual({ name: "install", state: "passed", durationMs: m.install?.durationMs });
    expect(m.stages?.[2]).toMatchObject({ name: "check", state: "passed" });
  });

  it("the clone lives under <stateDir>/verify/gen-N", () => {
    expect(verifyCloneOf("/state", 7)).toBe(path.join("/state", "verify", "gen-7"));
  });

  it("with no acceptance/ on main nothing is frozen: none is run and none is required", async () => {
    await git(repo, ["rm", "-q", "-r", "acceptance"]);
    await git(repo, ["commit", "-q", "-m", "no acceptance suite"]);
    try {
      const m = await verify({ "src/other.ts": "export {};\n" });
      expect(m.acceptance).toEqual({ present: false, unchanged: true, run: null });
      expect(m.passed).toBe(true);
      expect(m.stages?.at(-1)).toEqual({
        name: "acceptance",
        state: "skipped",
        durationMs: 0,
        detail: "main has no acceptance/: nothing is frozen",
      });
      const added = await verify({ "acceptance/mine.test.ts": "// by the Lab\n" });
      expect(added.failures).toEqual([
        expect.stringMatching(
          /^acceptance: lab\/gen-\d+ adds acceptance\/; the frozen acceptance suite is written on main, never by a Lab$/,
        ),
      ]);
    } finally {
      await git(repo, ["revert", "--no-edit", "HEAD"]);
    }
  });
});
