import { createHash } from "node:crypto";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { AutonomousState } from "../../schemas/autonomous.ts";
import { createModelClient } from "../../src/agent/model-client.ts";
import { analyzeRepo } from "../../src/analyze/index.ts";
import { fileStatePort, runAutonomousLoop } from "../../src/prime/autonomous/index.ts";
import { reflectAndPropose } from "../../src/prime/reflect/index.ts";
import { totalTokens } from "../../src/shared/events.ts";
import { parseProgram } from "../../src/shared/program.ts";
import { startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { tempWorkspace } from "../helpers/workspace.ts";
import {
  type Crash,
  FakeSupervisor,
  type GenPlan,
  LAB_TOKENS,
  REFLECT_TOKENS,
  readStateFile,
  runLoop,
} from "./fake-supervisor.ts";
import { record } from "./records.ts";

const fixture = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../fixtures/analyze/basic");
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function stateDir(): Promise<string> {
  const ws = await tempWorkspace();
  cleanups.push(ws.cleanup);
  return ws.dir;
}

const run = runLoop;

const reject = { approved: false, issues: ["deletes a test"], confidence: 0.8, summary: "bad" };

describe("runAutonomousLoop: one generation after another", () => {
  it("promotes, skips a failed Lab, rolls back a failed verification and stops at maxGenerations", async () => {
    const dir = await stateDir();
    const world = new FakeSupervisor([
      { fitness: 0.5 },
      { lab: "failed" },
      { failures: ["tests failed: 2 of 12"] },
      { verdict: reject },
    ]);
    const result = await run(world, dir, { maxGenerations: 4 });
    expect(result.stopReason).toBe("max_generations");
    expect(world.calls).toEqual([
      "reflect",
      "spawn 1",
      "wait 1",
      "verify 1",
      "promote 1",
      "reflect",
      "spawn 2",
      "wait 2",
      "reflect",
      "spawn 3",
      "wait 3",
      "verify 3",
      "rollback 3: verification failed: tests failed: 2 of 12",
      "reflect",
      "spawn 4",
      "wait 4",
      "verify 4",
      "rollback 4: review rejected: deletes a test",
    ]);
    const saved = AutonomousState.parse(await readStateFile(dir));
    expect(saved).toEqual(result.state);
    expect(saved).toMatchObject({
      status: "stopped",
      phase: "stopped",
      stopReason: "max_generations",
      stopDetail: "4 of 4 generations run",
      primeTokens: 4 * REFLECT_TOKENS,
    });
    // Only the numbers are kept; outcomes, fitness, reasons, the best and the Labs' tokens are the lineage's.
    expect(saved.generations).toEqual([1, 2, 3, 4]);
    expect(result.progress).toMatchObject({ bestFitness: 0.5, labTokens: 4 * LAB_TOKENS });
    expect(result.progress.generations).toEqual([
      { generation: 1, outcome: "promoted", fitness: 0.5, reason: null },
      { generation: 2, outcome: "failed", fitness: null, reason: "Lab stopped: no commit" },
      {
        generation: 3,
        outcome: "rolled_back",
        fitness: null,
        reason: "verification failed: tests failed: 2 of 12",
      },
      { generation: 4, outcome: "rolled_back", fitness: null, reason: "review rejected: deletes a test" },
    ]);
    expect(world.events.at(-1)).toEqual({
      type: "stopped",
      reason: "max_generations",
      detail: "4 of 4 generations run",
    });
  });

  it("stops on the token budget (Prime's reflect tokens plus the Labs')", async () => {
    const world = new FakeSupervisor([{ fitness: 0.1 }, { fitness: 0.2 }, { fitness: 0.3 }]);
    // Per generation: 500 (reflect) + 1000 (Lab); the budget is reached after the second.
    const result = await run(world, await stateDir(), { maxGenerations: 0, tokenBudget: 2_500 });
    expect(result.stopReason).toBe("token_budget");
    expect(result.state.generations).toHaveLength(2);
    expect(result.state.stopDetail).toBe("3000 tokens used of a budget of 2500");
  });

  it("stops on a plateau of promoted generations that do not beat the best fitness", async () => {
    const world = new FakeSupervisor([
      { fitness: 0.5 },
      { lab: "failed" },
      { fitness: 0.6 },
      { fitness: 0.6 },
      { lab: "timed_out" },
      { fitness: 0.55 },
      { fitness: 0.9 },
    ]);
    const result = await run(world, await stateDir(), { maxGenerations: 0, plateauWindow: 2 });
    expect(result.stopReason).toBe("plateau");
    expect(result.state.generations).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.progress).toMatchObject({ bestFitness: 0.6, promotedWithoutGain: 2 });
  });

  it("counts the lineage's best fitness from before the run", async () => {
    const before = [record(1, "promoted", { fitness: 0.9 }), record(2, "rolled_back")];
    const world = new FakeSupervisor([{ fitness: 0.5 }, { fitness: 0.8 }, { fitness: 0.95 }], before);
    const result = await run(world, await stateDir(), { maxGenerations: 0, plateauWindow: 2 });
    expect(result.stopReason).toBe("plateau");
    expect(result.state.generations).toEqual([3, 4]);
    expect(result.progress.bestFitness).toBe(0.9);
  });

  it("stops after too many generations in a row that were not promoted", async () => {
    const world = new FakeSupervisor([
      { lab: "failed" },
      { failures: ["check failed"] },
      { lab: "timed_out" },
    ]);
    const result = await run(world, await stateDir(), { maxGenerations: 0, maxConsecutiveFailures: 3 });
    expect(result.stopReason).toBe("consecutive_failures");
    expect(result.state.stopDetail).toBe("the last 3 rounds were not promoted");
  });

  it("records an error stop with the port's message, and starts a new run next time", async () => {
    const dir = await stateDir();
    const world = new FakeSupervisor([{ fitness: 0.5 }]);
    const ports = world.ports(fileStatePort(path.join(dir, "autonomous.json")), new AbortController());
    ports.spawn = async () => {
      throw Object.assign(new Error("the Supervisor is unreachable"), { code: "SUPERVISOR_UNREACHABLE" });
    };
    const result = await runAutonomousLoop(ports, { maxGenerations: 2 });
    expect(result.stopReason).toBe("error");
    expect(result.state.stopDetail).toBe(
      "SUPERVISOR_UNREACHABLE: the Supervisor is unreachable (during spawning)",
    );
    expect(AutonomousState.parse(await readStateFile(dir)).stopReason).toBe("error");
    const next = await run(world, dir, { maxGenerations: 1 });
    expect(next.state.runId).not.toBe(result.state.runId);
    expect(next.stopReason).toBe("max_generations");
  });

  it("records an aborted stop when a person stops the run, and does not resume it", async () => {
    const dir = await stateDir();
    const world = new FakeSupervisor([{ fitness: 0.5 }]);
    const stop = new AbortController();
    const ports = world.ports(fileStatePort(path.join(dir, "autonomous.json")), new AbortController());
    const wait = ports.waitForLab;
    // A real port fails its call once the signal is aborted.
    ports.waitForLab = async (n, s) => {
      await wait(n, s);
      stop.abort();
      throw new Error("the wait was aborted");
    };
    const result = await runAutonomousLoop(ports, { maxGenerations: 3, signal: stop.signal });
    expect(result.stopReason).toBe("aborted");
    expect(result.state.stopDetail).toBe(
      "stopped by request during waiting_lab of generation 1; the generation is left as it is",
    );
    const saved = AutonomousState.parse(await readStateFile(dir));
    expect(saved).toMatchObject({ status: "stopped", stopReason: "aborted" });
    const next = await run(world, dir, { maxGenerations: 1 });
    expect(next.state.runId).not.toBe(saved.runId);
  });

  it("refuses bad options with a message naming the option", async () => {
    const world = new FakeSupervisor([]);
    await expect(run(world, await stateDir(), { maxGenerations: -1 })).rejects.toMatchObject({
      code: "AUTONOMOUS_BAD_OPTION",
      message: expect.stringMatching(/^autonomous option maxGenerations: .*>=0/),
    });
    for (const candidates of [0, 17, 1.5]) {
      await expect(run(world, await stateDir(), { candidates })).rejects.toMatchObject({
        code: "AUTONOMOUS_BAD_OPTION",
        message: expect.stringMatching(
          /^autonomous option candidates: .*candidates and finalists \(whole numbers from 1 to 16\)/,
        ),
      });
    }
    expect(world.calls).toEqual([]);
  });

  it("carries its round size in its state and asks each spawn for it (1 for runs from before rounds)", async () => {
    const world = new FakeSupervisor([{ fitness: 0.5 }]);
    const dir = await stateDir();
    const result = await run(world, dir, { maxGenerations: 3, candidates: 3 });
    expect(result.state.options.candidates).toBe(3);
    expect(AutonomousState.parse(await readStateFile(dir)).options.candidates).toBe(3);
    expect(world.candidates).toEqual([3]);
    const older = new FakeSupervisor([{ fitness: 0.5 }]);
    await run(older, await stateDir(), { maxGenerations: 1 });
    expect(older.candidates).toEqual([1]);
  });
});

describe("runAutonomousLoop: manual promotion", () => {
  it("waits for a person to promote or roll back a verified generation, without promoting itself", async () => {
    const world = new FakeSupervisor([{ fitness: 0.7 }, { fitness: 0.8 }]);
    world.onSleep = (k) => {
      if (k === 2) world.personPromotes(1);
      if (k === 3) world.personRollsBack(2, "not what I wanted");
    };
    const result = await run(world, await stateDir(), { maxGenerations: 2, promoteMode: "manual" });
    expect(result.stopReason).toBe("max_generations");
    expect(world.calls).toEqual([
      "reflect",
      "spawn 1",
      "wait 1",
      "verify 1",
      "sleep",
      "sleep",
      "reflect",
      "spawn 2",
      "wait 2",
      "verify 2",
      "sleep",
    ]);
    expect(result.progress.generations).toEqual([
      { generation: 1, outcome: "promoted", fitness: 0.7, reason: null },
      { generation: 2, outcome: "rolled_back", fitness: 0.8, reason: "not what I wanted" },
    ]);
    expect(
      world.events.filter((e) => e.type === "phase").map((e) => e.type === "phase" && e.phase),
    ).toContain("awaiting_approval");
  });
});

describe("runAutonomousLoop: resumes after Prime restarts in any phase", () => {
  const plans: GenPlan[] = [{ fitness: 0.5 }, { failures: ["tests failed"] }];
  /** What the two-generation run does without any restart. */
  const clean = [
    "reflect",
    "spawn 1",
    "wait 1",
    "verify 1",
    "promote 1",
    "reflect",
    "spawn 2",
    "wait 2",
    "verify 2",
    "rollback 2: verification failed: tests failed",
  ];
  const cases: [Crash, string, string[]][] = [
    // [where Prime dies, the phase saved at that moment, the calls the resumed Prime repeats]
    [{ method: "reflect", when: "after" }, "reflecting", ["reflect"]],
    [{ method: "spawn", when: "before" }, "spawning", []],
    [{ method: "spawn", when: "after" }, "spawning", []],
    [{ method: "waitForLab", when: "after" }, "waiting_lab", ["wait 1"]],
    [{ method: "verify", when: "before" }, "verifying", []],
    [{ method: "verify", when: "after" }, "verifying", []],
    [{ method: "promote", when: "before" }, "promoting", []],
    [{ method: "promote", when: "after" }, "promoting", []],
    [{ method: "rollback", when: "before" }, "rolling_back", []],
    [{ method: "rollback", when: "after" }, "rolling_back", []],
  ];
  for (const [crash, phase, repeated] of cases) {
    it(`killed ${crash.when} ${crash.method}: the saved phase is ${phase} and the next Prime finishes the run`, async () => {
      const dir = await stateDir();
      const world = new FakeSupervisor(plans);
      world.crash = crash;
      const first = await run(world, dir, { maxGenerations: 2 });
      expect(first.stopReason).toBe("suspended");
      const saved = AutonomousState.parse(await readStateFile(dir));
      expect(saved).toMatchObject({ status: "running", phase, stopReason: null });

      const second = await run(world, dir, { maxGenerations: 99 });
      expect(second.stopReason).toBe("max_generations");
      expect(second.state.runId).toBe(saved.runId);
      // The resumed run keeps the options it was started with.
      expect(second.state.options.maxGenerations).toBe(2);
      expect(second.progress.generations.map((g) => [g.generation, g.outcome])).toEqual([
        [1, "promoted"],
        [2, "rolled_back"],
      ]);
      expect(world.lineage.map((r) => r.generation)).toEqual([1, 2]);
      // Every effect happened once; only steps whose effect is invisible in the lineage were redone.
      const expected = [...clean];
      for (const call of repeated) expected.splice(expected.indexOf(call) + 1, 0, call);
      expect(world.calls.filter((c) => !c.startsWith("wait")).join("\n")).toBe(
        expected.filter((c) => !c.startsWith("wait")).join("\n"),
      );
      expect(world.events.some((e) => e.type === "run_started" && e.resumed)).toBe(true);
    });
  }

  it("killed while awaiting a person's approval: the next Prime keeps waiting and books the decision", async () => {
    const dir = await stateDir();
    const world = new FakeSupervisor([{ fitness: 0.7 }]);
    world.crash = { method: "sleep", when: "after" };
    const first = await run(world, dir, { maxGenerations: 1, promoteMode: "manual" });
    expect(first.stopReason).toBe("suspended");
    expect(AutonomousState.parse(await readStateFile(dir))).toMatchObject({
      phase: "awaiting_approval",
      generation: 1,
    });
    world.onSleep = () => world.personPromotes(1);
    const second = await run(world, dir);
    expect(second.stopReason).toBe("max_generations");
    expect(second.progress.generations).toEqual([
      { generation: 1, outcome: "promoted", fitness: 0.7, reason: null },
    ]);
    expect(world.calls.filter((c) => c.startsWith("promote"))).toEqual([]);
    expect(world.calls.filter((c) => c.startsWith("verify"))).toEqual(["verify 1"]);
  });

  it("keeps Prime's token count across the restart (its model's counter starts again at 0)", async () => {
    const dir = await stateDir();
    const world = new FakeSupervisor([{ fitness: 0.5 }, { fitness: 0.6 }]);
    world.crash = { method: "promote", when: "after" };
    await run(world, dir, { maxGenerations: 2 });
    world.prime = 0;
    const second = await run(world, dir);
    expect(second.state.primeTokens).toBe(2 * REFLECT_TOKENS);
    expect(second.progress.labTokens).toBe(2 * LAB_TOKENS);
  });
});

describe("file-backed state", () => {
  it("writes atomically (no temp files left) and rejects a corrupt or foreign file clearly", async () => {
    const dir = await stateDir();
    const world = new FakeSupervisor([{ fitness: 0.5 }]);
    await run(world, dir, { maxGenerations: 1 });
    expect(await readdir(dir)).toEqual(["autonomous.json"]);
    const file = path.join(dir, "autonomous.json");
    const port = fileStatePort(file);
    expect((await port.load())?.stopReason).toBe("max_generations");

    await writeFile(file, '{"version": 1, "runId": ');
    await expect(port.load()).rejects.toMatchObject({
      code: "AUTONOMOUS_STATE_INVALID",
      message: expect.stringMatching(
        /autonomous\.json: not valid JSON .*remove it to start a new autonomous run$/,
      ),
    });
    await writeFile(file, JSON.stringify({ version: 7 }));
    await expect(port.load()).rejects.toThrow(
      /version 7 is not one this Loom reads \(it reads versions 1 and 2\)/,
    );
    await writeFile(file, JSON.stringify({ version: 2, status: "running" }));
    await expect(port.load()).rejects.toThrow(
      /autonomous\.json: not a valid autonomous state: runId: .*; phase: /,
    );
    expect(await fileStatePort(path.join(dir, "none.json")).load()).toBeNull();
  });
});

describe("a state saved by the version that copied the lineage", () => {
  it("is read as version 2: the run's generation numbers kept, its stale copies dropped and read from the lineage", async () => {
    const dir = await stateDir();
    const file = path.join(dir, "autonomous.json");
    const at = "2026-01-01T00:00:00.000Z";
    const v1 = {
      version: 1,
      runId: "run-1",
      status: "running",
      phase: "reflecting",
      generation: null,
      program: null,
      spawnFloor: null,
      reason: null,
      options: {
        maxGenerations: 2,
        tokenBudget: 0,
        plateauWindow: 0,
        maxConsecutiveFailures: 0,
        promoteMode: "auto",
      },
      startedAt: at,
      updatedAt: at,
      // A stale copy: the lineage says generation 1 was promoted since (by a person).
      generations: [{ generation: 1, outcome: "verifying", fitness: 0.7, reason: "held for a person" }],
      bestFitness: 0.1,
      promotedWithoutGain: 5,
      primeTokens: 10,
      labTokens: 999_999,
      stopReason: null,
      stopDetail: null,
    };
    await writeFile(file, JSON.stringify(v1));
    const loaded = await fileStatePort(file).load();
    expect(loaded).toMatchObject({ version: 2, runId: "run-1", generations: [1], primeTokens: 10 });
    expect(loaded).not.toHaveProperty("bestFitness");
    expect(loaded).not.toHaveProperty("labTokens");
    const world = new FakeSupervisor([{ fitness: 0.8 }], [record(1, "promoted", { fitness: 0.7 })]);
    const resumed = await run(world, dir);
    expect(resumed.state.runId).toBe("run-1");
    expect(resumed.stopReason).toBe("max_generations");
    expect(resumed.progress.generations.map((g) => [g.generation, g.outcome, g.fitness])).toEqual([
      [1, "promoted", 0.7],
      [2, "promoted", 0.8],
    ]);
    expect(resumed.progress).toMatchObject({ bestFitness: 0.8, promotedWithoutGain: 0 });
    expect(AutonomousState.parse(await readStateFile(dir)).version).toBe(2);
  });
});

describe("runAutonomousLoop with the real reflect over the scripted model", () => {
  it("spawns the program.md the model proposed and feeds the failed generation's lesson to the next reflect", async () => {
    const contract = (task: string) => ({
      task,
      objective: "Make classify in src/complex.ts readable.",
      files: ["src/complex.ts"],
      acceptanceCriteria: ["existing tests pass"],
      constraints: ["never edit schemas/"],
    });
    const server = await startScriptedModel([
      { tool: "propose_program", input: contract("Split classify") },
      { tool: "propose_program", input: contract("Split classify, keeping a commit") },
    ]);
    cleanups.push(() => server.close());
    const model = createModelClient({
      apiKey: "sk-test",
      baseURL: server.url,
      model: "claude-test",
      timeoutMs: 5_000,
      maxRetries: 0,
    });
    const analysis = await analyzeRepo(fixture);
    const dir = await stateDir();
    const world = new FakeSupervisor([{ lab: "failed" }, { fitness: 0.4 }]);
    const ports = world.ports(fileStatePort(path.join(dir, "autonomous.json")), new AbortController());
    ports.reflect = async (signal) =>
      (await reflectAndPropose({ model, analysis, lineage: await ports.records(signal), signal })).program;
    ports.tokensUsed = () => totalTokens(model.usage);

    const result = await runAutonomousLoop(ports, { maxGenerations: 2 });
    expect(result.stopReason).toBe("max_generations");
    expect(world.programs.map((p) => parseProgram(p).task)).toEqual([
      "Split classify",
      "Split classify, keeping a commit",
    ]);
    expect(world.lineage[0]!.programHash).toBe(createHash("sha256").update(world.programs[0]!).digest("hex"));
    const second = JSON.stringify(server.requests[1]!.body);
    expect(second).toContain("gen 1 failed: Lab stopped: no commit");
    expect(JSON.stringify(server.requests[0]!.body)).toContain("(no failed generations yet)");
    expect(result.state.primeTokens).toBe(totalTokens(model.usage));
    expect(result.state.primeTokens).toBeGreaterThan(0);
  });
});
