import { describe, expect, it } from "vitest";
import type { TaskScore } from "../../../schemas/verification.ts";
import { computeFitness } from "../../../src/supervisor/verify/fitness.ts";
import { judgeFull, judgeScreen } from "../../../src/supervisor/verify/task-fitness.ts";
import { verification } from "../../prime/records.ts";

const score = (solvedTasks: string[], total: number, costUsd: number | null = 0.1): TaskScore => ({
  ref: "c".repeat(40),
  solved: solvedTasks.length,
  total,
  solvedTasks,
  costUsd,
  taskSet: "d".repeat(64),
});
const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `t${from + i}`);

describe("LOOM_FITNESS=tasks: the staged subset", () => {
  it("stops a candidate that solves fewer staged tasks than main; a tie or better goes on", () => {
    expect(judgeScreen(score(names(0, 2), 6), score(names(0, 3), 6))).toEqual({
      passed: false,
      detail: "tasks (staged subset of 6): the candidate's agent solved 2, main's 3: fewer than main",
    });
    expect(judgeScreen(score(names(0, 3), 6), score(names(0, 3), 6)).passed).toBe(true);
    expect(judgeScreen(score(names(0, 4), 6), score(names(0, 3), 6)).passed).toBe(true);
  });
});

describe("LOOM_FITNESS=tasks: all of main's tasks, paired", () => {
  it("passes a gain McNemar's exact test calls real: 6 tasks only the candidate solved, none only main", () => {
    const j = judgeFull(score(names(0, 20), 25), score(names(0, 14), 25), 0);
    expect(j.passed).toBe(true);
    expect(j.full).toMatchObject({ candidateOnly: 6, mainOnly: 0, verdict: "candidate better", gain: 0.24 });
    expect(j.full.pValue).toBeCloseTo(2 * 0.5 ** 6, 10);
    expect(j.detail).toContain("20/25, main's 14/25 (6 only the candidate, 0 only main; p = 0.031");
  });

  it("refuses a difference within noise, saying so, even when the candidate solved more", () => {
    const j = judgeFull(score(names(0, 16), 25), score(names(0, 14), 25), 0);
    expect(j.passed).toBe(false);
    expect(j.full).toMatchObject({ verdict: "within noise", candidateOnly: 2, mainOnly: 0, pValue: 0.5 });
    expect(j.detail).toMatch(/within noise, so no gain is shown$/);
  });

  it("refuses a candidate main is better than, and pairs by task, not by count", () => {
    // Same count, different tasks: 6 only main solved and 6 only the candidate: no gain.
    const same = judgeFull(score(names(6, 20), 25), score(names(0, 14), 25), 0);
    expect(same.full).toMatchObject({ candidateOnly: 6, mainOnly: 6, verdict: "within noise", gain: 0 });
    const worse = judgeFull(score(names(0, 8), 25), score(names(0, 20), 25), 0);
    expect(worse).toMatchObject({ passed: false, full: { verdict: "main better", mainOnly: 12 } });
    expect(worse.detail).toMatch(/main is better, so no gain is shown$/);
  });

  it("says p < 0.001 for a clear gain, passes a gain exactly at LOOM_MIN_GAIN, and scores an empty task set as no gain", () => {
    const clear = judgeFull(score(names(0, 24), 25), score(names(0, 12), 25), 0.48);
    expect(clear).toMatchObject({ passed: true, full: { candidateOnly: 12, gain: 0.48 } });
    expect(clear.detail).toContain("12 only the candidate, 0 only main; p < 0.001, McNemar's exact test)");
    const empty = judgeFull(score([], 0), score([], 0), 0);
    expect(empty).toMatchObject({ passed: false, full: { gain: 0, pValue: 1, verdict: "within noise" } });
    const none = judgeFull(score([], 25), score([], 25), 0);
    expect(none).toMatchObject({
      passed: false,
      full: { candidateOnly: 0, mainOnly: 0, pValue: 1, verdict: "within noise" },
    });
  });

  it("refuses a real gain smaller than LOOM_MIN_GAIN, naming it", () => {
    const j = judgeFull(score(names(0, 20), 25), score(names(0, 14), 25), 0.3);
    expect(j.passed).toBe(false);
    expect(j.full.minGain).toBe(0.3);
    expect(j.detail).toMatch(/a gain of 0.24 is below LOOM_MIN_GAIN=0.3$/);
  });
});

describe("fitness under LOOM_FITNESS=tasks", () => {
  const approved = { approved: true, confidence: 0.9, summary: "fine", issues: [] };
  const withTasks = (passed: boolean) => {
    const v = verification({ verdict: approved, ...(passed ? {} : { failures: ["tasks: within noise"] }) });
    const full = judgeFull(score(names(0, 20), 25), score(names(0, 14), 25), 0).full;
    v.mechanical.taskFitness = { screen: null, full };
    return v;
  };

  it("is the candidate's solved share when every gate holds, with main's share beside it", () => {
    const v = withTasks(true);
    const f = computeFitness({
      mechanical: v.mechanical,
      review: v.review,
      diff: null,
      baselineDurationMs: null,
    });
    expect(f).toMatchObject({ score: 0.8, gated: false });
    expect(f.components).toMatchObject({ "gate.tasks": 1, solvedShare: 0.8, mainSolvedShare: 0.56 });
  });

  it("reads an empty task set as a share of 0 on both sides, not as a division by zero", () => {
    const v = withTasks(true);
    v.mechanical.taskFitness = { screen: null, full: judgeFull(score([], 0), score([], 0), 0).full };
    const f = computeFitness({
      mechanical: v.mechanical,
      review: v.review,
      diff: null,
      baselineDurationMs: null,
    });
    expect(f.components).toMatchObject({ solvedShare: 0, mainSolvedShare: 0 });
    expect(f.score).toBe(0);
  });

  it("is 0 when the task stage failed, and gates on a task stage that never ran", () => {
    const failed = withTasks(false);
    const f = computeFitness({
      mechanical: failed.mechanical,
      review: failed.review,
      diff: null,
      baselineDurationMs: null,
    });
    expect(f).toMatchObject({ score: 0, gated: true });
    const stopped = withTasks(true);
    stopped.mechanical.taskFitness = { screen: null, full: null };
    const g = computeFitness({
      mechanical: stopped.mechanical,
      review: stopped.review,
      diff: null,
      baselineDurationMs: null,
    });
    expect(g).toMatchObject({ score: 0, gated: true, components: { "gate.tasks": 0 } });
  });
});
