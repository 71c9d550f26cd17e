import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GenerationRecord,
  MechanicalVerification,
  SpawnResponse,
  Verification,
} from "../../schemas/index.ts";
import { isVerificationRunning } from "../../schemas/verification.ts";
import { SupervisorClient } from "../../src/prime/supervisor-client.ts";
import { loadConfig } from "../../src/shared/config.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import type { computeFitness } from "../../src/supervisor/verify/fitness.ts";

/**
 * The end-to-end proof that a candidate cannot weaken the gate: a scripted Lab, run for real by a
 * Supervisor, makes `gate.testCount` always hold in the fitness and adjusts the fitness unit tests to
 * match (dropping one). Its unit tests pass; verification still rejects it, because the frozen
 * acceptance suite pins the gate on the candidate's own code and the Supervisor judges with the code
 * it started with. The repository is a small Loom: its schemas/, fitness, fitness tests and frozen
 * acceptance suite copied from this checkout.
 */
const LOOM = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "gate-e2e-token";
const TESTCOUNT_LINE = `"gate.testCount": m.tests.testCount >= m.baselineTestCount,`;
const TESTCOUNT_CASE = `["gate.testCount", { tests: { ...step, testCount: 9 } }],`;

const git = async (cwd: string, args: string[]): Promise<string> =>
  (
    await execa("git", ["-c", "user.name=Test", "-c", "user.email=test@loom.invalid", ...args], {
      cwd,
      stdin: "ignore",
    })
  ).stdout.trim();

/** The candidate's fitness: the gate component that compares test counts made to always hold. */
const weakenFitness = (source: string): string => {
  if (!source.includes(TESTCOUNT_LINE)) throw new Error("fitness.ts no longer has the test-count gate line");
  return source.replace(TESTCOUNT_LINE, `"gate.testCount": true,`);
};

/** Its unit tests, adjusted: the test-count case gone (the count of tests unchanged). */
const removeCase = (source: string): string => {
  const without = source.replace(TESTCOUNT_CASE, "");
  if (without === source) throw new Error("fitness.test.ts changed shape");
  return without;
};

/** Adjusted more crudely: the test-count case gone, and one test dropped. */
const adjustTests = (source: string): string => {
  const without = removeCase(source);
  const at = without.lastIndexOf("\n  it(");
  if (at < 0) throw new Error("fitness.test.ts changed shape");
  return `${without.slice(0, at)}\n});\n`;
};

let root: string;
let repo: string;
let model: ScriptedModelServer;
let sup: Supervisor;

async function copy(rel: string, to = rel): Promise<void> {
  await mkdir(path.dirname(path.join(repo, to)), { recursive: true });
  await writeFile(path.join(repo, to), await readFile(path.join(LOOM, rel)));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-gate-e2e-"));
  repo = path.join(root, "repo");
  await mkdir(repo, { recursive: true });
  const schemas = (await execa("git", ["ls-files", "schemas"], { cwd: LOOM })).stdout.split("\n");
  for (const f of [
    ...schemas.filter(Boolean),
    "src/supervisor/verify/fitness.ts",
    "test/supervisor/verify/fitness.test.ts",
  ])
    await copy(f);
  await copy("acceptance/gate-fitness.test.ts");
  const tsconfig = JSON.parse(await readFile(path.join(LOOM, "tsconfig.json"), "utf8"));
  tsconfig.include = ["src", "schemas", "test", "acceptance"];
  await writeFile(path.join(repo, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  await writeFile(
    path.join(repo, "package.json"),
    JSON.stringify(
      {
        name: "small-loom",
        private: true,
        type: "module",
        scripts: {
          check: "tsc --noEmit -p tsconfig.json",
          test: "vitest run --dir test",
          "test:acceptance": "vitest run --dir acceptance",
        },
      },
      null,
      2,
    ),
  );
  await writeFile(path.join(repo, ".gitignore"), "node_modules\n");
  await symlink(path.join(LOOM, "node_modules"), path.join(repo, "node_modules"), "dir");
  await git(repo, ["init", "-q", "-b", "main"]);
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "-m", "a small Loom"]);

  const fitness = await readFile(path.join(repo, "src/supervisor/verify/fitness.ts"), "utf8");
  const tests = await readFile(path.join(repo, "test/supervisor/verify/fitness.test.ts"), "utf8");
  model = await startScriptedModel([
    {
      tool: "write_file",
      input: { path: "src/supervisor/verify/fitness.ts", content: weakenFitness(fitness) },
    },
    {
      tool: "write_file",
      input: { path: "test/supervisor/verify/fitness.test.ts", content: adjustTests(tests) },
    },
    { text: "made the test-count gate always hold and adjusted its tests" },
    // The second candidate keeps the count of tests: only the frozen acceptance suite can catch it.
    {
      tool: "write_file",
      input: { path: "src/supervisor/verify/fitness.ts", content: weakenFitness(fitness) },
    },
    {
      tool: "write_file",
      input: { path: "test/supervisor/verify/fitness.test.ts", content: removeCase(tests) },
    },
    { text: "made the test-count gate always hold and removed its test case" },
  ]);
  const stateDir = path.join(root, "state");
  sup = await startSupervisor({
    config: loadConfig({
      cwd: root,
      env: {
        LOOM_REPO_PATH: repo,
        LOOM_STATE_DIR: stateDir,
        LOOM_RUNTIME: "local",
        LOOM_NETWORK: "host",
        LOOM_SUPERVISOR_TOKEN: TOKEN,
        ANTHROPIC_API_KEY: "prime-key-must-not-reach-labs",
        LOOM_LAB_API_KEY: "lab-key",
        LOOM_LAB_API_BASE: model.url,
        LOOM_MAX_RETRIES: "0",
      },
    }),
    port: 0,
    log: () => {},
    pollMs: 100,
  });
}, 60_000);
afterAll(async () => {
  await sup?.close();
  await model?.close();
  await rm(root, { recursive: true, force: true });
});

async function call(method: string, route: string, body?: unknown) {
  const res = await fetch(`${sup.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as unknown };
}

async function outcomeOf(n: number, want: string, deadlineMs = 120_000): Promise<GenerationRecord> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = GenerationRecord.parse((await call("GET", `/generations/${n}`)).json);
    if (r.outcome === want || ["failed", "timed_out", "aborted"].includes(r.outcome)) return r;
    if (Date.now() > until) throw new Error(`gen-${n} still ${r.outcome} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("a candidate that weakens the gate and its unit tests together", () => {
  it("passes its own unit tests, yet verification rejects it (one test fewer than main) and promote refuses it", async () => {
    const spawned = await call("POST", "/spawn", { program: "# Task: relax the test-count gate\n" });
    expect(spawned.status, JSON.stringify(spawned.json)).toBe(202);
    const n = SpawnResponse.parse(spawned.json).generation;
    const record = await outcomeOf(n, "verifying");
    expect(record.outcome, record.reason ?? "").toBe("verifying");
    expect(await git(repo, ["show", `lab/gen-${n}:src/supervisor/verify/fitness.ts`])).toContain(
      `"gate.testCount": true,`,
    );

    const verified = await call("POST", "/verify", { generation: n });
    expect(verified.status, JSON.stringify(verified.json)).toBe(202);
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    const ended = await client.awaitRecord(n, (r) => !isVerificationRunning(r.verificationRun));
    expect(ended.verificationRun?.state).toBe("done");
    const m = MechanicalVerification.parse(ended.verification?.mechanical);
    expect(m.check.passed, m.check.output).toBe(true);
    // The candidate's own, adjusted unit tests pass: on its own terms it is fine…
    expect(m.tests.passed, m.tests.output).toBe(true);
    expect(m.tests.testCount).toBe(m.baselineTestCount - 1);
    // …but it runs one test fewer than main: the cascade stops at the full suite, before acceptance.
    expect(m.passed).toBe(false);
    expect(m.failures.some((f) => f.startsWith("tests:") && f.includes("fewer than"))).toBe(true);
    expect(m.stages?.find((st) => st.name === "full_tests")?.state).toBe("failed");
    expect(m.stages?.find((st) => st.name === "acceptance")?.state).toBe("not_run");
    expect(m.acceptance).toMatchObject({ present: true, unchanged: true, run: null });
    expect(m.gate).toEqual({
      touched: true,
      files: ["src/supervisor/verify/fitness.ts", "test/supervisor/verify/fitness.test.ts"],
    });

    const reviewed = await call("POST", "/review", {
      generation: n,
      verdict: { approved: true, issues: [], confidence: 1, summary: "looks fine" },
      error: null,
      durationMs: 1,
    });
    const v = Verification.parse(reviewed.json);
    expect(v.passed).toBe(false);
    // The Supervisor's fitness is the one it started with: its test-count gate fails this candidate…
    expect(v.fitness).toMatchObject({ score: 0, gated: true });
    expect(v.fitness?.components).toMatchObject({ "gate.testCount": 0, "gate.acceptance": 0 });
    // …where the candidate's own fitness, loaded from its branch, would have let the count through.
    const theirs = path.join(repo, "candidate-fitness.ts");
    await writeFile(theirs, await git(repo, ["show", `lab/gen-${n}:src/supervisor/verify/fitness.ts`]));
    const candidate = (await import(pathToFileURL(theirs).href)) as { computeFitness: typeof computeFitness };
    expect(
      candidate.computeFitness({ mechanical: m, review: v.review, diff: null, baselineDurationMs: null }),
    ).toMatchObject({ components: { "gate.testCount": 1 } });

    for (const body of [{ generation: n }, { generation: n, approveGateChange: true }]) {
      const refused = await call("POST", "/promote", body);
      expect(refused.status).toBe(409);
      expect(refused.json).toMatchObject({ error: { code: "NOT_VERIFIED" } });
    }
    const rolled = await call("POST", "/rollback", { generation: n, reason: "weakens the gate" });
    expect(rolled.status).toBe(200);
    expect(GenerationRecord.parse((await call("GET", `/generations/${n}`)).json).outcome).toBe("rolled_back");
    expect(await git(repo, ["show", "main:src/supervisor/verify/fitness.ts"])).toContain(TESTCOUNT_LINE);
  }, 240_000);

  it("keeping the count of tests, it is caught by the frozen acceptance suite run on its code", async () => {
    const spawned = await call("POST", "/spawn", { program: "# Task: relax the test-count gate, quietly\n" });
    expect(spawned.status, JSON.stringify(spawned.json)).toBe(202);
    const n = SpawnResponse.parse(spawned.json).generation;
    const record = await outcomeOf(n, "verifying");
    expect(record.outcome, record.reason ?? "").toBe("verifying");
    expect(await call("POST", "/verify", { generation: n })).toMatchObject({ status: 202 });
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    const ended = await client.awaitRecord(n, (r) => !isVerificationRunning(r.verificationRun));
    const m = MechanicalVerification.parse(ended.verification?.mechanical);
    // Its own tests pass, as many as main's: nothing before the acceptance stage objects…
    expect(m.tests.passed, m.tests.output).toBe(true);
    expect(m.tests.testCount).toBe(m.baselineTestCount);
    expect(m.stages?.find((st) => st.name === "full_tests")?.state).toBe("passed");
    // …and the frozen acceptance suite, unchanged and run on the candidate's code, fails on it.
    expect(m.acceptance).toMatchObject({ present: true, unchanged: true, run: { passed: false } });
    expect(m.acceptance.run?.output).toMatch(/gate\.testCount/);
    expect(m.passed).toBe(false);
    expect(m.failures.some((f) => f.startsWith("acceptance:"))).toBe(true);
    const refused = await call("POST", "/promote", { generation: n, approveGateChange: true });
    expect(refused).toMatchObject({ status: 409, json: { error: { code: "NOT_VERIFIED" } } });
    expect((await call("POST", "/rollback", { generation: n, reason: "weakens the gate" })).status).toBe(200);
    expect(await git(repo, ["show", "main:src/supervisor/verify/fitness.ts"])).toContain(TESTCOUNT_LINE);
  }, 240_000);
});
