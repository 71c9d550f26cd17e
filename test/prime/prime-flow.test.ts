import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AutonomousState } from "../../schemas/autonomous.ts";
import { GenerationRecord } from "../../schemas/generation-record.ts";
import { PrimeStats } from "../../schemas/prime.ts";
import type { Prime } from "../../src/prime/start-prime.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { git, makeVerifyFixture, type VerifyFixture } from "../supervisor/verify-fixture.ts";
import { chat, primeConfig, startTestPrime } from "./prime-helpers.ts";

const TOKEN = "flow-token";
const CONTRACT = {
  task: "Add multiplication",
  objective: "src/mul.ts exports mul(a, b) returning a * b.",
  files: ["src/mul.ts"],
  acceptanceCriteria: ["npm run check passes"],
  constraints: ["do not change src/math.ts"],
};
const MUL = "export const mul = (a: number, b: number): number => a * b;\n";
const SUB = "export const sub = (a: number, b: number): number => a - b;\n";

let fx: VerifyFixture;
let labModel: ScriptedModelServer;
let primeModel: ScriptedModelServer;
let sup: Supervisor;
let prime: Prime;
let primeState: string;
const primeLog: string[] = [];
const startFlowPrime = () =>
  startTestPrime({
    config: primeConfig(primeModel, { LOOM_SUPERVISOR_URL: sup.url, LOOM_SUPERVISOR_TOKEN: TOKEN }),
    repo: fx.repo,
    stateDir: primeState,
    log: primeLog,
  });

/** The autonomous state file once `ready` holds for it. */
async function stateWhen(ready: (s: AutonomousState) => boolean, ms = 120_000): Promise<AutonomousState> {
  const file = path.join(primeState, "autonomous.json");
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await readFile(file, "utf8").catch(() => undefined);
    const state = text ? AutonomousState.safeParse(JSON.parse(text)) : undefined;
    if (state?.success && ready(state.data)) return state.data;
    if (Date.now() > deadline) throw new Error(`autonomous state never got there; last: ${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The Supervisor's record of generation n, read over its HTTP API. */
async function record(n: number): Promise<GenerationRecord> {
  return GenerationRecord.parse(await (await fetch(`${sup.url}/generations/${n}`)).json());
}

const toolEnd = (events: Record<string, unknown>[], name: string) => {
  const end = events.find((e) => e.type === "tool_end" && e.name === name);
  expect(end, `no tool_end of ${name}`).toBeDefined();
  return end as { isError: boolean; output: string };
};

beforeAll(async () => {
  fx = await makeVerifyFixture();
  labModel = await startScriptedModel([
    { tool: "write_file", input: { path: "src/mul.ts", content: MUL } },
    { text: "added src/mul.ts" },
    // The second Lab breaks the type check.
    {
      tool: "write_file",
      input: {
        path: "src/math.ts",
        content: 'export function add(a: number, b: number): number {\n  return "x";\n}\n',
      },
    },
    { text: "changed add" },
    // The autonomous run's Lab.
    { tool: "write_file", input: { path: "src/sub.ts", content: SUB } },
    { text: "added src/sub.ts" },
  ]);
  primeModel = await startScriptedModel([
    // reflect
    { tool: "reflect_and_propose", input: {} },
    { tool: "propose_program", input: CONTRACT },
    { text: "Here is the proposal." },
    // spawn
    { tool: "spawn_lab", input: { program: "# Task\nAdd multiplication\n" } },
    { text: "Generation 1 is verifying." },
    // verify (stage 1, then the review) and promote
    { tool: "verify_generation", input: { generation: 1 } },
    {
      tool: "submit_review",
      input: { approved: true, issues: [], confidence: 0.9, summary: "Adds mul in src/mul.ts." },
    },
    { tool: "promote_generation", input: { generation: 1 } },
    { text: "Promoted generation 1." },
    // a broken generation: stage 1 fails, no review call, rolled back
    { tool: "spawn_lab", input: { program: "# Task\nChange add\n" } },
    { tool: "verify_generation", input: { generation: 2 } },
    { tool: "rollback_generation", input: { generation: 2, reason: "the type check failed" } },
    { text: "Rolled back generation 2." },
    // the autonomous run: its chat turn answers as soon as the loop runs in the background
    { tool: "run_autonomous_loop", input: { maxGenerations: 1 } },
    { when: { lastToolResultIncludes: "the autonomous loop is running" }, text: "Started." },
    { tool: "propose_program", input: { ...CONTRACT, task: "Add subtraction", files: ["src/sub.ts"] } },
    {
      tool: "submit_review",
      input: { approved: true, issues: [], confidence: 0.8, summary: "Adds sub in src/sub.ts." },
    },
  ]);
  sup = await startSupervisor({
    config: fx.config({
      LOOM_RUNTIME: "local",
      LOOM_SUPERVISOR_TOKEN: TOKEN,
      LOOM_LAB_API_KEY: "lab-key",
      LOOM_LAB_API_BASE: labModel.url,
      LOOM_MAX_RETRIES: "0",
    }),
    port: 0,
    log: () => {},
    pollMs: 100,
  });
  primeState = path.join(fx.root, "prime-state");
  prime = await startFlowPrime();
}, 60_000);
afterAll(async () => {
  await prime?.close();
  await sup?.close();
  await labModel?.close();
  await primeModel?.close();
  await fx?.cleanup();
});

describe("Prime drives the real Supervisor through its tools", () => {
  it("reflect_and_propose analyses the repo and the lineage and saves program.md", async () => {
    const r = await chat(prime.url, "What should the next generation do?");
    const end = toolEnd(r.events, "reflect_and_propose");
    expect(end.isError, end.output).toBe(false);
    expect(end.output).toContain("Add multiplication");
    const saved = await readFile(path.join(primeState, "program.md"), "utf8");
    expect(end.output).toContain(saved.trim());
    expect(saved).toContain("src/mul.ts");
    // The reflection's forced call saw the analysis of the repository.
    const reflectCall = primeModel.requests[1]!.body as {
      tool_choice?: { name?: string };
      messages: unknown;
    };
    expect(reflectCall.tool_choice?.name).toBe("propose_program");
    expect(JSON.stringify(reflectCall.messages)).toContain("src/math.ts");
    expect(r.events.at(-1)).toMatchObject({ type: "done", reason: "end_turn" });
  });

  it("spawn_lab starts a Lab and waits for it: the generation is verifying", async () => {
    const r = await chat(prime.url, "Run it.");
    const end = toolEnd(r.events, "spawn_lab");
    expect(end.isError, end.output).toBe(false);
    expect(end.output).toMatch(/^generation 1 \(lab\/gen-1\): verifying/);
    expect((await record(1)).outcome).toBe("verifying");
  }, 120_000);

  it("verify_generation runs stage 1 and the review, records both; promote_generation merges it", async () => {
    const r = await chat(prime.url, "Verify it and promote it if it passes.");
    const verify = toolEnd(r.events, "verify_generation");
    expect(verify.isError, verify.output).toBe(false);
    expect(verify.output).toContain("generation 1: verification PASSED");
    expect(verify.output).toContain("stage 2 review: approved");
    // The reviewer's call carried the generation's diff.
    const review = primeModel.requests.find(
      (q) => (q.body as { tool_choice?: { name?: string } }).tool_choice?.name === "submit_review",
    );
    expect(JSON.stringify((review!.body as { messages: unknown }).messages)).toContain("a * b");
    const promote = toolEnd(r.events, "promote_generation");
    expect(promote.isError, promote.output).toBe(false);
    expect(promote.output).toMatch(/generation 1 promoted: main is now [0-9a-f]{40} \(tag gen-1\)/);
    const rec = await record(1);
    expect(rec.outcome).toBe("promoted");
    expect(rec.verification?.passed).toBe(true);
    expect(rec.verification?.review?.verdict?.approved).toBe(true);
    expect(await git(fx.repo, ["show", "main:src/mul.ts"])).toBe(MUL.trim());
  }, 240_000);

  it("when stage 1 fails, the review is still recorded (verdict null, stage 1 failed); rollback keeps the reason", async () => {
    const reviewsBefore = primeModel.requests.filter(
      (q) => (q.body as { tool_choice?: { name?: string } }).tool_choice?.name === "submit_review",
    ).length;
    const r = await chat(prime.url, "Try changing add, verify, and roll back if it fails.");
    expect(toolEnd(r.events, "spawn_lab").output).toMatch(/^generation 2 \(lab\/gen-2\): verifying/);
    const verify = toolEnd(r.events, "verify_generation");
    expect(verify.isError, verify.output).toBe(false);
    expect(verify.output).toContain("generation 2: verification did not pass");
    expect(verify.output).toMatch(/check: FAILED/);
    expect(verify.output).toContain("stage 2 review: no verdict (stage 1 failed)");
    const rollback = toolEnd(r.events, "rollback_generation");
    expect(rollback.output).toBe("generation 2 rolled back: the type check failed");
    const rec = await record(2);
    expect(rec).toMatchObject({ outcome: "rolled_back", reason: "the type check failed" });
    expect(rec.verification?.passed).toBe(false);
    expect(rec.verification?.review).toMatchObject({ verdict: null, error: "stage 1 failed" });
    // No model call reviewed a generation that failed stage 1.
    expect(
      primeModel.requests.filter(
        (q) => (q.body as { tool_choice?: { name?: string } }).tool_choice?.name === "submit_review",
      ).length,
    ).toBe(reviewsBefore);
    expect(r.events.at(-1)).toMatchObject({ type: "done", reason: "end_turn" });
  }, 240_000);

  it("run_autonomous_loop runs in the background; a Prime restarted mid-run resumes it to its end", async () => {
    const r = await chat(prime.url, "Run one generation on your own.");
    const end = toolEnd(r.events, "run_autonomous_loop");
    expect(end.isError, end.output).toBe(false);
    expect(end.output).toContain("the autonomous loop is running (at most 1 generations)");
    expect(r.events.at(-1)).toMatchObject({ type: "done", reason: "end_turn" });
    // Restart Prime while the run waits for its Lab, as the Supervisor does after a promotion.
    const waiting = await stateWhen((s) => s.phase === "waiting_lab");
    expect(waiting.generation).toBe(3);
    await prime.close();
    const suspended = await stateWhen(() => true);
    expect(suspended).toMatchObject({ status: "running", phase: "waiting_lab", generation: 3 });
    prime = await startFlowPrime();
    const stopped = await stateWhen((s) => s.status === "stopped");
    expect(stopped).toMatchObject({ stopReason: "max_generations", runId: waiting.runId });
    expect(stopped.generations).toEqual([3]);
    expect(primeLog.join("\n")).toContain("resumed at waiting_lab");
    const rec = await record(3);
    expect(rec.outcome).toBe("promoted");
    expect(rec.verification?.review?.verdict?.summary).toBe("Adds sub in src/sub.ts.");
    // One generation only: the resumed run did not spawn again.
    expect(((await (await fetch(`${sup.url}/generations`)).json()) as unknown[]).length).toBe(3);
    const stats = PrimeStats.parse(await (await fetch(`${prime.url}/stats`)).json());
    expect(stats.autonomous).toMatchObject({ running: false, lastError: null, state: { status: "stopped" } });
  }, 240_000);
});
