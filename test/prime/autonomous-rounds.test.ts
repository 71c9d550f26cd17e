import { afterEach, describe, expect, it } from "vitest";
import { AutonomousState } from "../../schemas/autonomous.ts";
import { nextRoundStep, rankFinalists } from "../../src/prime/autonomous/index.ts";
import { tempWorkspace } from "../helpers/workspace.ts";
import { type Crash, FakeSupervisor, type GenPlan, readStateFile, runLoop } from "./fake-supervisor.ts";
import { record } from "./records.ts";

/**
 * Rounds of several candidates in the autonomous loop: every candidate's Lab, the cheap stages for
 * each, the finalists best first through the full suite and the review, the others rolled back saying
 * why — all decided from the lineage, so a restarted Prime finishes a round where it was left.
 */
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

const reject = { approved: false, issues: ["drops a check"], confidence: 0.8, summary: "bad" };
const breaksTest = "reachable tests: `npx vitest related --run src/a.ts` exited with code 1";

/** One round of three: a candidate that breaks a test, a well-tested one, a less-tested one. */
const roundOfThree: GenPlan[] = [
  { cheapFailures: [breaksTest] },
  { reachableTests: 5, fitness: 0.7 },
  { reachableTests: 2, fitness: 0.9 },
];

describe("the autonomous loop over rounds of several candidates", () => {
  it("screens every candidate, rolls back the one that fails, verifies the best finalist in full, promotes it and archives the rest", async () => {
    const world = new FakeSupervisor(roundOfThree);
    const result = await run(world, await stateDir(), { maxGenerations: 3, candidates: 3 });
    expect(world.calls).toEqual([
      "reflect",
      "spawn 1,2,3",
      "wait 1",
      "wait 2",
      "wait 3",
      "screen 1",
      "screen 2",
      "screen 3",
      `rollback 1: verification failed: ${breaksTest}`,
      // Best first: gen-2's change is exercised by more tests than gen-3's.
      "verify 2",
      "promote 2",
      "archive 3: not promoted: round 1 promoted gen-2; it passed the cheap stages (fixed_points, check, reachable_tests); not a finalist (LOOM_FINALISTS=1)",
    ]);
    expect(world.candidates).toEqual([3]);
    // Only the promoted candidate ran the full suite and the review; the losers never did.
    expect(world.get(1).verification?.mechanical.complete).toBe(false);
    expect(world.get(3).verification?.review).toBeNull();
    expect(result.stopReason).toBe("max_generations");
    expect(result.state.generations).toEqual([1, 2, 3]);
    expect(result.progress.generations.map((g) => [g.generation, g.outcome, g.round])).toEqual([
      [1, "rolled_back", 1],
      [2, "promoted", 1],
      [3, "archived", 1],
    ]);
    expect(world.events.filter((e) => e.type === "generation_done")).toHaveLength(3);
  });

  it("tries the next finalist when the first fails its full verification, up to LOOM_FINALISTS", async () => {
    const plans: GenPlan[] = [
      { reachableTests: 5, verdict: reject },
      { reachableTests: 2, fitness: 0.6 },
    ];
    const two = new FakeSupervisor(plans);
    await run(two, await stateDir(), { maxGenerations: 2, candidates: 2, finalists: 2 });
    expect(two.calls.slice(2)).toEqual([
      "wait 1",
      "wait 2",
      "screen 1",
      "screen 2",
      "verify 1",
      "rollback 1: review rejected: drops a check",
      "verify 2",
      "promote 2",
    ]);

    const one = new FakeSupervisor(plans);
    await run(one, await stateDir(), { maxGenerations: 2, candidates: 2, finalists: 1 });
    expect(one.calls.at(-1)).toBe(
      "archive 2: not promoted: none of round 1's finalists (gen-1) passed; it passed the cheap stages (fixed_points, check, reachable_tests); not a finalist (LOOM_FINALISTS=1)",
    );
    expect(one.calls).not.toContain("verify 2");
  });

  it("verifies every finalist in full and promotes the fittest, archiving the other", async () => {
    const world = new FakeSupervisor([
      { reachableTests: 5, fitness: 0.6 },
      { reachableTests: 2, fitness: 0.9 },
    ]);
    await run(world, await stateDir(), { maxGenerations: 2, candidates: 2, finalists: 2 });
    expect(world.calls.slice(4)).toEqual([
      "screen 1",
      "screen 2",
      "verify 1",
      "verify 2",
      "promote 2",
      "archive 1: not promoted: round 1 promoted gen-2 (fitness 0.9 over this one's 0.6); it passed every stage",
    ]);
  });

  it("leaves a fittest finalist that changes the gate for a person, archiving the others", async () => {
    const world = new FakeSupervisor([
      { reachableTests: 5, fitness: 0.9, gate: true },
      { reachableTests: 2 },
    ]);
    const result = await run(world, await stateDir(), { maxGenerations: 2, candidates: 2, finalists: 1 });
    expect(world.calls).not.toContain("promote 1");
    expect(world.get(1).outcome).toBe("verifying");
    expect(world.calls.at(-1)).toMatch(
      /^archive 2: not promoted: round 1 left for a person's decision on gen-1;/,
    );
    expect(result.stopReason).toBe("max_generations");
  });

  it("skips the cheap stages for a candidate whose Lab failed, and a round that promotes none counts once", async () => {
    const world = new FakeSupervisor([
      { lab: "failed" },
      { cheapFailures: [breaksTest] },
      { lab: "timed_out" },
      { cheapFailures: [breaksTest] },
    ]);
    const result = await run(world, await stateDir(), {
      maxGenerations: 0,
      candidates: 2,
      maxConsecutiveFailures: 2,
    });
    expect(world.calls).toEqual([
      "reflect",
      "spawn 1,2",
      "wait 1",
      "wait 2",
      "screen 2",
      `rollback 2: verification failed: ${breaksTest}`,
      "reflect",
      "spawn 3,4",
      "wait 3",
      "wait 4",
      "screen 4",
      `rollback 4: verification failed: ${breaksTest}`,
    ]);
    expect(result.stopReason).toBe("consecutive_failures");
    expect(result.state.stopDetail).toBe("the last 2 rounds were not promoted");
  });

  it("never starts more generations than maxGenerations: the last round is smaller", async () => {
    const world = new FakeSupervisor([{}, {}, {}, { fitness: 0.5 }]);
    await run(world, await stateDir(), { maxGenerations: 4, candidates: 3 });
    expect(world.candidates).toEqual([3, 1]);
    // A round of one is the original path: no cheap stages, the full verification straight away.
    expect(world.calls.slice(-3)).toEqual(["wait 4", "verify 4", "promote 4"]);
  });

  const crashes: Crash[] = [
    { method: "spawn", when: "after" },
    { method: "screen", when: "after" },
    { method: "verify", when: "before" },
    { method: "promote", when: "after" },
    { method: "rollback", when: "after" },
    { method: "archive", when: "before" },
  ];
  for (const crash of crashes) {
    it(`killed ${crash.when} ${crash.method} mid-round: the next Prime finishes the round from the lineage`, async () => {
      const world = new FakeSupervisor(roundOfThree);
      world.crash = crash;
      const dir = await stateDir();
      const first = await run(world, dir, { maxGenerations: 3, candidates: 3 });
      expect(first.stopReason).toBe("suspended");
      const saved = AutonomousState.parse(await readStateFile(dir));
      expect(saved.status).toBe("running");
      const second = await run(world, dir);
      expect(second.stopReason).toBe("max_generations");
      expect(world.lineage.map((r) => r.outcome)).toEqual(["rolled_back", "promoted", "archived"]);
      // Nothing was done twice: one spawn, one screen and one decision per candidate.
      const count = (prefix: string) => world.calls.filter((c) => c.startsWith(prefix)).length;
      expect(count("spawn")).toBe(1);
      expect(count("screen")).toBe(3);
      expect(count("promote")).toBe(1);
      expect(count("rollback")).toBe(1);
      expect(count("archive")).toBe(1);
      expect(second.state.round ?? null).toBeNull();
    });
  }

  it("LOOM_PARENT=archive: a candidate is promoted only when it beats main's fitness; otherwise kept in the archive", async () => {
    const main = record(1, "promoted", { parent: null, fitness: 0.8 });
    const round = new FakeSupervisor(
      [
        { reachableTests: 4, fitness: 0.6 },
        { reachableTests: 3, fitness: 0.7 },
      ],
      [main],
    );
    await run(round, await stateDir(), { maxGenerations: 2, candidates: 2, finalists: 2, parent: "archive" });
    expect(round.calls).not.toContain("promote 2");
    expect(round.calls).not.toContain("promote 3");
    expect(round.calls.slice(-2)).toEqual([
      "archive 2: not promoted: none of round 1's finalists (gen-2, gen-3) beat main's fitness 0.8 (LOOM_PARENT=archive); it passed every stage",
      "archive 3: not promoted: none of round 1's finalists (gen-2, gen-3) beat main's fitness 0.8 (LOOM_PARENT=archive); it passed every stage",
    ]);

    const one = new FakeSupervisor([{ fitness: 0.5 }, { fitness: 0.9 }], [main]);
    await run(one, await stateDir(), { maxGenerations: 2, parent: "archive" });
    expect(one.calls).toContain(
      "archive 2: not promoted: its fitness 0.5 does not beat main's 0.8 (LOOM_PARENT=archive); it passed every stage",
    );
    expect(one.calls.at(-1)).toBe("promote 3");
  });

  it("refuses a bad finalists option naming it", async () => {
    const world = new FakeSupervisor([]);
    await expect(run(world, await stateDir(), { finalists: 0 })).rejects.toMatchObject({
      code: "AUTONOMOUS_BAD_OPTION",
      message: expect.stringMatching(/finalists.*candidates and finalists \(whole numbers from 1 to 16\)/s),
    });
  });
});

describe("nextRoundStep and rankFinalists, on records", () => {
  const screened = (n: number, tests: number, tokens: number) =>
    record(n, "verifying", {
      round: 4,
      candidate: { index: n, of: 3 },
      tokens: { input: tokens, output: 0, cacheRead: 0, cacheWrite: 0 },
      verification: {
        passed: true,
        review: null,
        fitness: null,
        mechanical: {
          passed: true,
          complete: false,
          commit: "a".repeat(40),
          base: "b".repeat(40),
          install: null,
          check: { passed: true, exitCode: 0, output: "", durationMs: 1 },
          tests: { passed: true, exitCode: 0, output: "", durationMs: 1, testCount: tests },
          baselineTestCount: 0,
          schemaFingerprintOk: true,
          acceptance: { present: false, unchanged: true, run: null },
          failures: [],
          durationMs: 3,
          stages: [{ name: "reachable_tests", state: "passed", durationMs: 1, testsRun: tests }],
        },
      },
    });

  it("ranks by reachable tests run, then fewer Lab tokens, then the lower number", () => {
    const order = rankFinalists([screened(1, 2, 10), screened(2, 5, 900), screened(3, 5, 100)]);
    expect(order.map((r) => r.generation)).toEqual([3, 2, 1]);
  });

  it("waits for a Lab still running, and is done once every candidate is settled", () => {
    const running = record(2, "running", { round: 4, candidate: { index: 2, of: 2 } });
    expect(nextRoundStep([1, 2], [screened(1, 1, 1), running], 1)).toEqual({ kind: "wait", generation: 2 });
    const settled = [record(1, "archived", { reason: "not promoted" }), record(2, "promoted")];
    expect(nextRoundStep([1, 2], settled, 1)).toEqual({ kind: "done" });
    // A candidate missing from the lineage (its state folder replaced) has nothing left to do.
    expect(nextRoundStep([1, 9], settled, 1)).toEqual({ kind: "done" });
  });
});
