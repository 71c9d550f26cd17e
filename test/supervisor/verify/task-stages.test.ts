import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MechanicalVerification, TaskScore } from "../../../schemas/verification.ts";
import { LocalRuntime } from "../../../src/supervisor/runtime/index.ts";
import { verifyMechanical } from "../../../src/supervisor/verify/mechanical.ts";
import type { TaskRunner, TaskStage } from "../../../src/supervisor/verify/task-fitness.ts";
import { mainFiles, makeVerifyFixture, type VerifyFixture } from "../verify-fixture.ts";

/**
 * The cascade's task stages (LOOM_FITNESS=tasks) on a real repository and real verification steps,
 * with a task runner that answers from a table: which tasks main's agent and the candidate's solve is
 * the input here (test/gate/task-fitness.test.ts runs the real agents on real tasks).
 */
const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `t${from + i}`);
const score = (ref: string, solvedTasks: string[], total: number): TaskScore => ({
  ref,
  solved: solvedTasks.length,
  total,
  solvedTasks,
  costUsd: 0.01 * total,
  taskSet: "d".repeat(64),
});

/** What each agent solves, per stage; every call is logged so the order can be checked. */
function tableRunner(solves: (isMain: boolean, stage: TaskStage) => string[]) {
  const calls: string[] = [];
  const runner: TaskRunner = {
    async score(commit, main, stage) {
      const isMain = commit === main;
      calls.push(`${isMain ? "main" : "candidate"} ${stage}`);
      return score(commit, solves(isMain, stage), stage === "screen" ? 6 : 25);
    },
  };
  return { runner, calls };
}

let fx: VerifyFixture;
let runtime: LocalRuntime;
let n = 0;

beforeAll(async () => {
  fx = await makeVerifyFixture(mainFiles);
  runtime = new LocalRuntime({ stateDir: path.join(fx.root, "rt"), sandbox: "none" });
});
afterAll(async () => {
  await fx?.cleanup();
});

async function verify(tasks: TaskRunner, through?: "reachable" | "full", minGain = "0") {
  n += 1;
  await fx.labBranch(n, { [`src/gen-${n}.ts`]: `export const gen = ${n};\n` });
  const config = fx.config({ LOOM_RUNTIME: "local", LOOM_FITNESS: "tasks", LOOM_MIN_GAIN: minGain });
  return verifyMechanical({ runtime, config, image: "unused", tasks }, n, through);
}

const states = (m: MechanicalVerification) =>
  Object.fromEntries((m.stages ?? []).map((s) => [s.name, s.state]));

// Each test runs real agents on staged tasks: 4–14 s alone, over 30 s beside the suite on a slow day.
describe("the cascade's task stages (LOOM_FITNESS=tasks)", { timeout: 120_000 }, () => {
  it("a candidate whose agent solves fewer staged tasks than main's stops after the reachable tests", async () => {
    const { runner, calls } = tableRunner((isMain) => (isMain ? names(0, 5) : names(0, 3)));
    const m = await verify(runner);
    expect(m.passed).toBe(false);
    expect(states(m)).toMatchObject({
      check: "passed",
      tasks_screen: "failed",
      full_tests: "not_run",
      acceptance: "not_run",
      tasks: "not_run",
    });
    expect(m.stages?.map((s) => s.name).slice(-4)).toEqual([
      "tasks_screen",
      "full_tests",
      "acceptance",
      "tasks",
    ]);
    expect(m.failures).toEqual([
      "tasks (staged subset of 6): the candidate's agent solved 3, main's 5: fewer than main",
    ]);
    expect(m.taskFitness).toMatchObject({
      screen: { candidate: { solved: 3 }, main: { solved: 5 } },
      full: null,
    });
    expect(m.tests.passed).toBe(false);
    expect(m.tests.output).toContain("the staged tasks failed");
    const screen = m.stages?.find((s) => s.name === "tasks_screen");
    expect(screen?.detail).toBe(m.failures[0]);
    expect(screen?.durationMs).toBeLessThanOrEqual(m.durationMs);
    // main's agent first (its score is reused by every candidate), and nothing of the full stage.
    expect(calls).toEqual(["main screen", "candidate screen"]);
  });

  it("a real gain on all of main's tasks passes every stage, with the paired result on the record", async () => {
    const { runner, calls } = tableRunner((isMain, stage) =>
      stage === "screen" ? names(0, 4) : isMain ? names(0, 14) : names(0, 20),
    );
    const m = await verify(runner);
    expect(m.passed).toBe(true);
    expect(states(m)).toMatchObject({
      tasks_screen: "passed",
      full_tests: "passed",
      acceptance: "passed",
      tasks: "passed",
    });
    expect(m.taskFitness?.full).toMatchObject({
      candidateOnly: 6,
      mainOnly: 0,
      verdict: "candidate better",
      gain: 0.24,
    });
    const tasks = m.stages?.find((s) => s.name === "tasks");
    expect(tasks?.detail).toContain("solved 20/25, main's 14/25");
    expect(tasks?.durationMs).toBeLessThanOrEqual(m.durationMs);
    expect(m.stages?.find((s) => s.name === "tasks_screen")?.durationMs).toBeLessThanOrEqual(m.durationMs);
    expect(calls).toEqual(["main screen", "candidate screen", "main full", "candidate full"]);
  });

  it("a gain within noise, or below LOOM_MIN_GAIN, fails the last stage", async () => {
    const noise = await verify(
      tableRunner((isMain, stage) =>
        stage === "screen" ? names(0, 4) : isMain ? names(0, 14) : names(0, 16),
      ).runner,
    );
    expect(noise.passed).toBe(false);
    expect(states(noise)).toMatchObject({ acceptance: "passed", tasks: "failed" });
    expect(noise.failures.join()).toContain("within noise, so no gain is shown");
    const small = await verify(
      tableRunner((isMain, stage) =>
        stage === "screen" ? names(0, 4) : isMain ? names(0, 14) : names(0, 20),
      ).runner,
      "full",
      "0.3",
    );
    expect(small.passed).toBe(false);
    expect(small.failures.join()).toContain("a gain of 0.24 is below LOOM_MIN_GAIN=0.3");
  });

  it("through the reachable tests it runs the staged tasks and stops before the expensive stages", async () => {
    const { runner, calls } = tableRunner(() => names(0, 4));
    const m = await verify(runner, "reachable");
    expect(m).toMatchObject({ passed: true, complete: false, taskFitness: { full: null } });
    expect(states(m)).toMatchObject({ tasks_screen: "passed", full_tests: "not_run", tasks: "not_run" });
    expect(calls).toEqual(["main screen", "candidate screen"]);
  });

  it("a task run that cannot run is the verification's error, not a verdict", async () => {
    const broken: TaskRunner = {
      score: async () => {
        throw new Error("main has no tasks/ folder");
      },
    };
    await expect(verify(broken)).rejects.toThrow("main has no tasks/ folder");
  });
});
