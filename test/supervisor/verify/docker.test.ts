import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MechanicalVerification, TEST_OUTPUT_MAX_CHARS } from "../../../schemas/verification.ts";
import { startGateway } from "../../../src/supervisor/gateway/gateway.ts";
import { DEFAULT_LAB_IMAGE, repoLabels } from "../../../src/supervisor/lifecycle/lab-spec.ts";
import { DockerRuntime } from "../../../src/supervisor/runtime/index.ts";
import { Baseline, baselineAt, baselineFile } from "../../../src/supervisor/verify/baseline.ts";
import { verifyMechanical } from "../../../src/supervisor/verify/mechanical.ts";
import { labImageMissing } from "../../helpers/lab-image.ts";
import { lockfile, makeVerifyFixture, packageJson, tests, type VerifyFixture } from "../verify-fixture.ts";

const missing = await labImageMissing("docker verification tests");

let fx: VerifyFixture;
const runtime = new DockerRuntime({});
const ctx = (env: Record<string, string> = {}) => ({
  runtime,
  config: fx.config({ LOOM_RUNTIME: "docker", ...env }),
  image: DEFAULT_LAB_IMAGE,
});
const main = async () => (await execa("git", ["rev-parse", "main"], { cwd: fx.repo })).stdout.trim();

beforeAll(async () => {
  if (!missing) fx = await makeVerifyFixture();
});
afterAll(async () => {
  await fx?.cleanup();
});

/** A branch whose lockfile changed: one dependency from a folder of its own, so npm needs no registry. */
function withLocalDep(): Record<string, string> {
  const deps = { "local-dep": "file:local-dep" };
  return {
    "package.json": packageJson(deps),
    "package-lock.json": lockfile(deps),
    "local-dep/package.json":
      '{ "name": "local-dep", "version": "1.0.0", "type": "module", "main": "index.js" }\n',
    "local-dep/index.js": "export const one = 1;\n",
  };
}

async function leftovers(): Promise<unknown[]> {
  return runtime.list(repoLabels(fx.repo));
}

describe.skipIf(missing !== undefined)("stage-1 verification in docker containers (loom-lab:latest)", () => {
  it("passes a good branch: check, tests counted against main's baseline, acceptance run, nothing left", async () => {
    const commit = await fx.labBranch(1, {
      "src/math.ts": "export function add(a: number, b: number): number {\n  return b + a;\n}\n",
      "test/math.test.ts": tests(5),
    });
    const v = MechanicalVerification.parse(await verifyMechanical(ctx(), 1));
    expect(v.failures).toEqual([]);
    expect(v.passed).toBe(true);
    expect(v.commit).toBe(commit);
    expect(v.base).toBe(await main());
    expect(v.install).toBeNull();
    expect(v.check).toMatchObject({ passed: true, exitCode: 0 });
    expect(v.tests).toMatchObject({ passed: true, exitCode: 0, testCount: 5 });
    expect(v.tests.output).toMatch(/# pass 5/);
    expect(v.baselineTestCount).toBe(3);
    expect(v.schemaFingerprintOk).toBe(true);
    expect(v.acceptance).toMatchObject({
      present: true,
      unchanged: true,
      run: { passed: true, exitCode: 0 },
    });
    // main's count is cached per commit
    const cached = Baseline.parse(JSON.parse(await readFile(baselineFile(fx.stateDir, v.base), "utf8")));
    expect(cached).toMatchObject({ commit: v.base, testCount: 3, source: "run" });
    expect(await leftovers()).toEqual([]);
    expect(
      await readFile(path.join(fx.stateDir, "verify", "gen-1", "package.json")).catch(() => "gone"),
    ).toBe("gone");
  }, 240_000);

  it("fails failing tests with the reason and the test output", async () => {
    await fx.labBranch(2, {
      "src/math.ts": "export function add(a: number, b: number): number {\n  return a - b;\n}\n",
    });
    const v = await verifyMechanical(ctx(), 2);
    expect(v.passed).toBe(false);
    expect(v.tests.passed).toBe(false);
    expect(v.tests.exitCode).not.toBe(0);
    expect(v.tests.output).toMatch(/# fail [1-9]/);
    expect(v.failures).toEqual([
      expect.stringMatching(/^tests: `npm test` exited with code [1-9]/),
      expect.stringMatching(/^tests: 0 passing test\(s\), fewer than the 3 main passes/),
    ]);
    expect(v.check.passed).toBe(true);
    // The cascade stops at the failing suite: acceptance does not run.
    expect(v.stages?.at(-1)).toMatchObject({ name: "acceptance", state: "not_run" });
    expect(v.acceptance.run).toBeNull();
    expect(await leftovers()).toEqual([]);
  }, 240_000);

  it("fails a branch that changes schemas/ or acceptance/ (nothing else runs), and one whose type check fails (no test runs)", async () => {
    await fx.labBranch(3, { "schemas/thing.ts": "export const thing = 2;\n" });
    const schemas = await verifyMechanical(ctx(), 3);
    expect(schemas.passed).toBe(false);
    expect(schemas.schemaFingerprintOk).toBe(false);
    expect(schemas.failures).toEqual([
      expect.stringMatching(/^schemas: lab\/gen-3 changes schemas\/ \(schemas\/thing\.ts\)/),
    ]);

    expect(schemas.stages?.filter((st) => st.state !== "not_run").map((st) => st.name)).toEqual([
      "fixed_points",
    ]);

    await fx.labBranch(4, {
      "src/math.ts": "export function add(a: number, b: number): number {\n  return 'x';\n}\n",
    });
    const typeError = await verifyMechanical(ctx(), 4);
    expect(typeError.passed).toBe(false);
    expect(typeError.check.passed).toBe(false);
    expect(typeError.check.output).toMatch(/TS2322/);
    expect(typeError.failures).toEqual([
      expect.stringMatching(/^check: `npm run check` exited with code [1-9]/),
    ]);
    expect(typeError.tests.output).toBe("not run: an earlier stage failed");
    expect(await leftovers()).toEqual([]);
  }, 240_000);

  it("fails a branch that passes fewer tests than main", async () => {
    await fx.labBranch(5, { "test/math.test.ts": tests(2) });
    const v = await verifyMechanical(ctx(), 5);
    expect(v.tests).toMatchObject({ passed: true, testCount: 2 });
    expect(v.baselineTestCount).toBe(3);
    expect(v.passed).toBe(false);
    expect(v.failures).toEqual([
      expect.stringMatching(/^tests: 2 passing test\(s\), fewer than the 3 main passes at [0-9a-f]{12}$/),
    ]);
  }, 240_000);

  it("kills a hanging test at LOOM_VERIFY_TIMEOUT_MS and removes its container", async () => {
    await baselineAt(ctx(), await main());
    await fx.labBranch(6, {
      "test/hang.test.ts":
        'import { test } from "node:test";\ntest("hangs", () => new Promise(() => setInterval(() => {}, 1000)));\n',
    });
    const started = Date.now();
    // The limit applies to every step: 25 s leaves the type check room on a loaded machine (at 6 s, and
    // once at 10 s in a CI run on a slow day, a slow check was killed first and the hanging test never ran).
    const v = await verifyMechanical(ctx({ LOOM_VERIFY_TIMEOUT_MS: "25000" }), 6);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(v.check.passed, v.check.output).toBe(true);
    expect(v.tests.passed).toBe(false);
    expect(v.tests.exitCode).toBeNull();
    expect(v.tests.durationMs).toBeGreaterThanOrEqual(25_000);
    expect(v.tests.output).toMatch(/killed after 25000 ms/);
    expect(v.failures).toContain("tests: `npm test` was killed after LOOM_VERIFY_TIMEOUT_MS=25000 ms");
    expect(await leftovers()).toEqual([]);
    const ps = await execa("docker", [
      "ps",
      "-a",
      "--filter",
      "name=loom-verify-gen-6-",
      "--format",
      "{{.ID}}",
    ]);
    expect(ps.stdout.trim()).toBe("");
  }, 240_000);

  it("runs an install step in the container when the lockfile changed, instead of reusing main's packages", async () => {
    await fx.labBranch(7, withLocalDep());
    const v = await verifyMechanical(ctx(), 7);
    expect(v.install).not.toBeNull();
    expect(v.install, v.install?.output).toMatchObject({ passed: true, exitCode: 0 });
    expect(v.install?.output.length).toBeLessThanOrEqual(TEST_OUTPUT_MAX_CHARS);
    // Only the branch's packages were installed: main's (which hold tsc and tsx) were not mounted.
    expect(v.check.passed).toBe(false);
    expect(v.check.output).toMatch(/tsc: not found/);
    expect(v.passed).toBe(false);
    expect(await leftovers()).toEqual([]);
  }, 240_000);

  it("behind the gateway (LOOM_WORKSPACE_TRANSPORT=git) the install runs in a clone of its own and the steps after it get what it installed", async () => {
    await fx.labBranch(17, withLocalDep());
    const gateway = await startGateway({ port: 0 });
    try {
      const v = await verifyMechanical({ ...ctx({ LOOM_WORKSPACE_TRANSPORT: "git" }), gateway }, 17);
      expect(v.install, v.install?.output).toMatchObject({ passed: true, exitCode: 0 });
      // The check ran on the installed packages (the branch's, which hold no tsc), not on main's.
      expect(v.check.passed).toBe(false);
      expect(v.check.output).toMatch(/tsc: not found/);
      expect(await leftovers()).toEqual([]);
    } finally {
      await gateway.close();
    }
  }, 240_000);

  it("fails a branch whose packages cannot be installed, naming the install step; check and tests not run", async () => {
    // package.json and the lockfile disagree: `npm ci` refuses to install.
    await fx.labBranch(8, {
      "package.json": packageJson({ "one-dep": "file:one-dep" }),
      "package-lock.json": lockfile({ "other-dep": "file:other-dep" }),
    });
    const v = await verifyMechanical(ctx(), 8);
    expect(v.passed).toBe(false);
    expect(v.install).toMatchObject({ passed: false });
    expect(v.install?.exitCode).not.toBe(0);
    // The cascade stops at the install: no test ran, so no count is compared.
    expect(v.failures).toEqual([expect.stringMatching(/^install: `npm ci` exited with code [1-9]/)]);
    expect(v.check).toEqual({
      passed: false,
      exitCode: null,
      output: "not run: the install step failed",
      durationMs: 0,
    });
    expect(await leftovers()).toEqual([]);
  }, 240_000);

  it("stops on abort (the Supervisor closing): the running container is removed and the clone deleted", async () => {
    await baselineAt(ctx(), await main());
    await fx.labBranch(9, {
      "test/hang.test.ts":
        'import { test } from "node:test";\ntest("hangs", () => new Promise(() => setInterval(() => {}, 1000)));\n',
    });
    const abort = new AbortController();
    const running = verifyMechanical({ ...ctx(), signal: abort.signal }, 9).then(
      () => undefined,
      (err: Error) => err,
    );
    const deadline = Date.now() + 120_000;
    try {
      // The first step of the cascade after the fixed points: the check.
      while ((await runtime.list({ "loom.verify": "gen-9" })).length === 0) {
        if (Date.now() > deadline) throw new Error("the test step never started");
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      // Also when the wait fails, so a failing run leaves no container behind.
      abort.abort();
    }
    expect((await running)?.message).toMatch(/verification of gen-9 was stopped while running check$/);
    expect(await leftovers()).toEqual([]);
    expect(
      await readFile(path.join(fx.stateDir, "verify", "gen-9", "package.json")).catch(() => "gone"),
    ).toBe("gone");
  }, 240_000);
});
