import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ErrorBody,
  GenerationDiff,
  GenerationRecord,
  MechanicalVerification,
  PromoteResponse,
  Verification,
} from "../../../schemas/index.ts";
import { isVerificationRunning } from "../../../schemas/verification.ts";
import { SupervisorClient } from "../../../src/prime/supervisor-client.ts";
import { LocalRuntime } from "../../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../../src/supervisor/supervisor.ts";
import { Baseline, baselineFile } from "../../../src/supervisor/verify/baseline.ts";
import {
  makeVerifyFixture,
  tests,
  type VerifyFixture,
  verifyingGeneration as verifyingGenerationIn,
} from "../verify-fixture.ts";

const TOKEN = "verify-token";
let fx: VerifyFixture;
let sup: Supervisor;
let store: GenerationStore;
const shas: Record<number, string> = {};

/** A hand-made verifying generation (verify-fixture), its lab/gen-N commit kept for the assertions. */
async function verifyingGeneration(files: Record<string, string | null>): Promise<number> {
  const { generation, sha } = await verifyingGenerationIn(fx, store, files);
  shas[generation] = sha;
  return generation;
}

beforeAll(async () => {
  fx = await makeVerifyFixture();
  const config = fx.config({ LOOM_RUNTIME: "local", LOOM_SUPERVISOR_TOKEN: TOKEN });
  store = await GenerationStore.open(config.stateDir);
  // The local runtime: child processes under bubblewrap where it works, the host's npm and node.
  sup = await startSupervisor({
    config,
    runtime: new LocalRuntime({ stateDir: config.stateDir }),
    port: 0,
    log: () => {},
  });
}, 30_000);
afterAll(async () => {
  await sup?.close();
  await fx?.cleanup();
});

const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const res = await fetch(`${sup.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}
async function expectError(p: ReturnType<typeof call>, status: number, code: string): Promise<string> {
  const r = await p;
  expect(r.status, r.text).toBe(status);
  const body = ErrorBody.parse(r.json);
  expect(body.error.code).toBe(code);
  expect(r.text).not.toMatch(/\n\s+at /);
  return body.error.message;
}
const approve = (n: number, confidence = 0.9) => ({
  generation: n,
  verdict: { approved: true, issues: [], confidence, summary: "adds commutative tests" },
  error: null,
  durationMs: 1200,
});

describe("POST /verify, /review, /promote and GET /generations/:n/diff: bad input", () => {
  it("400 naming the field for bad bodies and generation numbers; 401 without the token", async () => {
    expect(await expectError(call("POST", "/verify", {}), 400, "INVALID_BODY")).toMatch(/generation/);
    expect(await expectError(call("POST", "/verify", { generation: "1" }), 400, "INVALID_BODY")).toMatch(
      /generation/,
    );
    expect(
      await expectError(call("POST", "/verify", { generation: 1, extra: 1 }), 400, "INVALID_BODY"),
    ).toMatch(/extra/);
    // A bad `through` is named with what is accepted.
    const through = await expectError(
      call("POST", "/verify", { generation: 1, through: "cheap" }),
      400,
      "INVALID_BODY",
    );
    expect(through).toMatch(/through/);
    expect(through).toMatch(/"reachable"/);
    expect(through).toMatch(/"full"/);
    const badVerdict = { ...approve(1), verdict: { ...approve(1).verdict, confidence: 2 } };
    expect(await expectError(call("POST", "/review", badVerdict), 400, "INVALID_BODY")).toMatch(
      /verdict\.confidence/,
    );
    expect(
      await expectError(call("POST", "/review", { generation: 1, verdict: null }), 400, "INVALID_BODY"),
    ).toMatch(/error|durationMs/);
    await expectError(call("GET", "/generations/abc/diff"), 400, "INVALID_GENERATION");
    await expectError(
      call("POST", "/verify", { generation: 1 }, { "content-type": "application/json" }),
      401,
      "UNAUTHORIZED",
    );
    await expectError(
      call("POST", "/review", approve(1), { authorization: "Bearer nope" }),
      401,
      "UNAUTHORIZED",
    );
  });

  it("404 for unknown generations; 409 for a generation that is not verifying or not verified", async () => {
    await expectError(call("POST", "/verify", { generation: 99 }), 404, "GENERATION_NOT_FOUND");
    await expectError(call("POST", "/review", approve(99)), 404, "GENERATION_NOT_FOUND");
    await expectError(call("GET", "/generations/99/diff"), 404, "GENERATION_NOT_FOUND");
    const failed = await store.allocate({ programHash: "a".repeat(64), parent: null });
    await store.update(failed.generation, { outcome: "failed", reason: "made for the test" });
    expect(
      await expectError(call("POST", "/verify", { generation: failed.generation }), 409, "NOT_VERIFYING"),
    ).toMatch(/is failed/);
    await expectError(call("POST", "/review", approve(failed.generation)), 409, "NOT_VERIFYING");
    const n = await verifyingGeneration({ "test/more.test.ts": tests(1).replaceAll("add 0", "more 0") });
    expect(await expectError(call("POST", "/review", approve(n)), 409, "NOT_VERIFIED")).toMatch(
      /POST \/verify/,
    );
    const promote = await expectError(call("POST", "/promote", { generation: n }), 409, "NOT_VERIFIED");
    expect(promote).toMatch(/POST \/verify/);
    expect(promote).toMatch(/POST \/review/);
    await store.update(n, { outcome: "rolled_back", reason: "done with it" });
    await execa("git", ["branch", "-D", `lab/gen-${n}`], { cwd: fx.repo });
    expect(await expectError(call("GET", `/generations/${n}/diff`), 404, "DIFF_NOT_FOUND")).toMatch(
      /neither a branch lab\/gen-\d+ nor a merge tag/,
    );
  });
});

describe("verification end to end over HTTP (local runtime)", () => {
  it("diff → verify (one at a time) → 409 before review → review → promote → diff from the tag", async () => {
    const n = await verifyingGeneration({
      "src/math.ts":
        "/** Adds two numbers. */\nexport function add(a: number, b: number): number {\n  return b + a;\n}\n",
      "src/twice.ts":
        'import { add } from "./math.ts";\n\nexport const twice = (x: number): number => add(x, x);\n',
      "test/math.test.ts": tests(4),
    });
    const mainBefore = (await execa("git", ["rev-parse", "main"], { cwd: fx.repo })).stdout.trim();

    const d = await call("GET", `/generations/${n}/diff`);
    expect(d.status, d.text).toBe(200);
    const diff = GenerationDiff.parse(d.json);
    expect(diff).toMatchObject({ generation: n, base: mainBefore, head: shas[n], truncated: false });
    expect(diff.program).toBe(`# Task ${n}`);
    expect(diff.stat.files).toBe(4);
    expect(diff.diff).toContain("+  return b + a;");
    expect(diff.declarations.filesAdded).toEqual(["src/twice.ts"]);
    expect(diff.declarations.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "src/math.ts#add", change: "changed" }),
        expect.objectContaining({ path: "src/twice.ts#twice", change: "added" }),
      ]),
    );
    expect(diff.declarations.otherFiles).toEqual(["program.md"]);

    // A job: 202 at once with the record showing the run, before any result exists.
    const first = await call("POST", "/verify", { generation: n });
    expect(first.status, first.text).toBe(202);
    const running = GenerationRecord.parse(first.json);
    expect(running.verificationRun).toMatchObject({ state: "running", finishedAt: null, error: null });
    expect(running.verification).toBeNull();
    const second = await call("POST", "/verify", { generation: n });
    expect(second.status, second.text).toBe(409);
    expect(ErrorBody.parse(second.json).error.code).toBe("VERIFY_RUNNING");
    expect(ErrorBody.parse(second.json).error.message).toMatch(/GET \/generations\/\d+ \(verificationRun\)/);
    const events: string[] = [];
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    const ended = await client.awaitRecord(n, (r) => !isVerificationRunning(r.verificationRun), {
      onBadEvent: (problem) => events.push(problem),
    });
    expect(ended.verificationRun).toMatchObject({
      state: "done",
      startedAt: running.verificationRun?.startedAt,
      error: null,
    });
    expect(events).toEqual([]);
    const mechanical = MechanicalVerification.parse(ended.verification?.mechanical);
    expect(mechanical.failures).toEqual([]);
    expect(mechanical).toMatchObject({
      passed: true,
      commit: shas[n],
      base: mainBefore,
      install: null,
      baselineTestCount: 3,
      tests: { passed: true, testCount: 4 },
      acceptance: { present: true, unchanged: true, run: { passed: true } },
    });
    const stored = GenerationRecord.parse((await call("GET", `/generations/${n}`)).json);
    expect(stored.verification).toEqual({ passed: false, mechanical, review: null, fitness: null });

    expect(await expectError(call("POST", "/promote", { generation: n }), 409, "NOT_VERIFIED")).toMatch(
      /no review yet/,
    );

    const reviewed = await call("POST", "/review", approve(n));
    expect(reviewed.status, reviewed.text).toBe(200);
    const verification = Verification.parse(reviewed.json);
    expect(verification.passed).toBe(true);
    expect(verification.review).toEqual({ verdict: approve(n).verdict, error: null, durationMs: 1200 });
    expect(verification.fitness?.gated).toBe(false);
    expect(verification.fitness?.score).toBeGreaterThan(0.5);
    expect(verification.fitness?.components.changedLines).toBe(diff.stat.insertions + diff.stat.deletions);
    const record = GenerationRecord.parse((await call("GET", `/generations/${n}`)).json);
    expect(record.fitness).toBe(verification.fitness?.score);
    expect(record.verification).toEqual(verification);

    const promoted = await call("POST", "/promote", { generation: n });
    expect(promoted.status, promoted.text).toBe(200);
    const { mergeCommit } = PromoteResponse.parse(promoted.json);
    // The merge commit's baseline is the promoted branch's count: main's tests need not run again.
    const seeded = Baseline.parse(JSON.parse(await readFile(baselineFile(fx.stateDir, mergeCommit), "utf8")));
    expect(seeded).toMatchObject({ commit: mergeCommit, testCount: 4, source: "promotion" });

    // The branch is gone; the diff comes from the tag's merge commit.
    expect((await execa("git", ["branch", "--list", `lab/gen-${n}`], { cwd: fx.repo })).stdout).toBe("");
    const after = GenerationDiff.parse((await call("GET", `/generations/${n}/diff`)).json);
    expect(after).toEqual(diff);
  }, 180_000);

  it("failing tests: verification fails, an approving review cannot pass it, fitness gated at 0, promote refused", async () => {
    const n = await verifyingGeneration({
      "src/math.ts": "export function add(a: number, b: number): number {\n  return a * b;\n}\n",
    });
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    const mechanical = await client.verify(n);
    expect(mechanical.passed).toBe(false);
    expect(mechanical.failures).toEqual(
      expect.arrayContaining([expect.stringMatching(/^tests: `npm test` exited with code [1-9]/)]),
    );
    const reviewed = Verification.parse((await call("POST", "/review", approve(n, 1))).json);
    expect(reviewed.passed).toBe(false);
    expect(reviewed.fitness).toMatchObject({ score: 0, gated: true });
    expect(reviewed.fitness?.components["gate.tests"]).toBe(0);
    await expectError(call("POST", "/promote", { generation: n }), 409, "NOT_VERIFIED");

    // A review that produced no verdict is a rejection, recorded with its reason.
    const none = await call("POST", "/review", {
      generation: n,
      verdict: null,
      error: "the reviewer timed out",
      durationMs: 30_000,
    });
    expect(Verification.parse(none.json)).toMatchObject({
      passed: false,
      review: { verdict: null, error: "the reviewer timed out" },
      fitness: { score: 0, gated: true },
    });
    expect(await sup.runtime.list({ "loom.verify": `gen-${n}` })).toEqual([]);
  }, 180_000);

  it("Prime's client joins a verification already running (a restarted Prime) and returns its result", async () => {
    const n = await verifyingGeneration({
      "test/more.test.ts": tests(2).replaceAll('test("add', 'test("more'),
    });
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    const first = call("POST", "/verify", { generation: n });
    // The first request started the verification; the client's own POST meets 409 VERIFY_RUNNING.
    const deadline = Date.now() + 30_000;
    while (!(await sup.runtime.list({ "loom.verify": `gen-${n}` })).length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await first).status).toBe(202);
    const joined = await client.verify(n);
    const record = GenerationRecord.parse((await call("GET", `/generations/${n}`)).json);
    expect(joined).toEqual(record.verification?.mechanical);
    expect(joined.passed).toBe(true);
    // One run, joined: not a second one started after the first.
    expect(record.verificationRun?.startedAt).toBe(
      GenerationRecord.parse((await first).json).verificationRun?.startedAt,
    );
  }, 180_000);
});

describe('POST /verify {through: "reachable"}', () => {
  it("is not complete: no fitness, promote refused with VERIFICATION_INCOMPLETE; a full run of the same generation makes it promotable", async () => {
    const n = await verifyingGeneration({
      "test/cheap.test.ts": tests(4).replaceAll('test("add', 'test("cheap'),
    });
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    const cheap = await client.verify(n, undefined, { through: "reachable" });
    expect(cheap).toMatchObject({ passed: true, complete: false });
    // This repo's tests are node:test, not vitest: the reachable stage says why it was skipped.
    expect(cheap.stages?.map((s) => [s.name, s.state])).toEqual([
      ["fixed_points", "passed"],
      ["install", "skipped"],
      ["check", "passed"],
      ["reachable_tests", "skipped"],
      ["full_tests", "not_run"],
      ["acceptance", "not_run"],
    ]);
    expect(cheap.stages?.[3]?.detail).toMatch(/does not run vitest/);
    const reviewed = Verification.parse((await call("POST", "/review", approve(n))).json);
    expect(reviewed).toMatchObject({ passed: false, fitness: null });
    expect((await store.get(n))?.fitness).toBeNull();
    const refused = await expectError(
      call("POST", "/promote", { generation: n }),
      409,
      "VERIFICATION_INCOMPLETE",
    );
    expect(refused).toContain(`POST /verify {"generation": ${n}, "through": "full"}`);

    const full = await client.verify(n, undefined, { through: "full" });
    expect(full).toMatchObject({ passed: true, complete: true, tests: { passed: true } });
    expect(full.tests.testCount).toBe(full.baselineTestCount + 4);
    expect(full.stages?.every((s) => s.state === "passed" || s.state === "skipped")).toBe(true);
    expect(Verification.parse((await call("POST", "/review", approve(n))).json)).toMatchObject({
      passed: true,
      fitness: { gated: false },
    });
    const promoted = await call("POST", "/promote", { generation: n });
    expect(promoted.status, promoted.text).toBe(200);
  }, 180_000);
});

describe("a verification stopped by a shutdown", () => {
  // Last in the file: it closes the Supervisor the other tests share.
  it("records the run stopped with SHUTTING_DOWN (the client throws it) and leaves the generation verifying; a restart closes a run a dead process left running", async () => {
    const n = await verifyingGeneration({
      "test/late.test.ts": tests(1).replaceAll('test("add', 'test("late'),
    });
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    const awaited = client.verify(n).catch((err: unknown) => err);
    const deadline = Date.now() + 30_000;
    while (!(await sup.runtime.list({ "loom.verify": `gen-${n}` })).length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await sup.close();
    const stopped = await store.get(n);
    expect(stopped?.outcome).toBe("verifying");
    expect(stopped?.verificationRun).toMatchObject({ state: "stopped", error: { code: "SHUTTING_DOWN" } });
    expect(stopped?.verificationRun?.error?.message).toMatch(/POST \/verify \{"generation": \d+\} again/);
    expect(stopped?.verificationRun?.finishedAt).not.toBeNull();
    // The client saw the stop or lost the Supervisor: either way it ends, naming why.
    expect(await awaited).toMatchObject({
      code: expect.stringMatching(/^(SHUTTING_DOWN|SUPERVISOR_UNREACHABLE)$/),
    });
    expect(await sup.runtime.list({ "loom.verify": `gen-${n}` })).toEqual([]);

    // A process killed mid-run leaves the record running; the next start records it stopped.
    await store.update(n, {
      verificationRun: { ...stopped!.verificationRun!, state: "running", finishedAt: null, error: null },
    });
    const again = await startSupervisor({
      config: fx.config({ LOOM_RUNTIME: "local", LOOM_SUPERVISOR_TOKEN: TOKEN }),
      runtime: new LocalRuntime({ stateDir: fx.stateDir }),
      port: 0,
      log: () => {},
    });
    try {
      const recovered = GenerationRecord.parse(
        (await fetch(`${again.url}/generations/${n}`).then((r) => r.json())) as unknown,
      );
      expect(recovered.verificationRun).toMatchObject({
        state: "stopped",
        error: { code: "SUPERVISOR_RESTARTED" },
      });
    } finally {
      await again.close();
    }
  }, 120_000);
});
