import { describe, expect, it } from "vitest";
import type { MechanicalVerification, ReviewStage } from "../../../schemas/verification.ts";
import { computeFitness, type FitnessInput } from "../../../src/supervisor/verify/fitness.ts";

const step = { passed: true, exitCode: 0, output: "", durationMs: 1000 };
const mechanical: MechanicalVerification = {
  passed: true,
  commit: "a".repeat(40),
  base: "b".repeat(40),
  install: null,
  check: step,
  tests: { ...step, testCount: 10 },
  baselineTestCount: 10,
  schemaFingerprintOk: true,
  acceptance: { present: true, unchanged: true, run: step },
  failures: [],
  durationMs: 3000,
};
const review: ReviewStage = {
  verdict: { approved: true, issues: [], confidence: 0.8, summary: "ok" },
  error: null,
  durationMs: 10,
};
const input = (over: Partial<FitnessInput> = {}): FitnessInput => ({
  mechanical,
  review,
  diff: { insertions: 30, deletions: 10 },
  baselineDurationMs: 1000,
  ...over,
});

describe("computeFitness", () => {
  it("weighs review confidence, diff size, test speed and issues above the gate", () => {
    const f = computeFitness(input());
    expect(f.gated).toBe(false);
    // 0.4·0.8 + 0.3·1/(1+40/400) + 0.2·1 + 0.1·1
    expect(f.score).toBeCloseTo(0.32 + 0.3 / 1.1 + 0.2 + 0.1, 4);
    expect(f.components).toMatchObject({
      review: 0.8,
      speed: 1,
      issues: 1,
      changedLines: 40,
      "gate.review": 1,
    });
  });

  it("is 0 and gated when any gate fails", () => {
    const failing: Partial<MechanicalVerification>[] = [
      { passed: false, check: { ...step, passed: false, exitCode: 2 } },
      { passed: false, tests: { ...step, passed: false, exitCode: 1, testCount: 10 } },
      { passed: false, tests: { ...step, testCount: 9 } },
      { passed: false, schemaFingerprintOk: false },
      { passed: false, acceptance: { present: true, unchanged: false, run: null } },
    ];
    for (const m of failing) {
      const f = computeFitness(input({ mechanical: { ...mechanical, ...m } }));
      expect(f, JSON.stringify(m)).toMatchObject({ score: 0, gated: true });
    }
    expect(computeFitness(input({ review: null }))).toMatchObject({ score: 0, gated: true });
    const rejected = { ...review, verdict: { ...review.verdict!, approved: false } };
    expect(computeFitness(input({ review: rejected }))).toMatchObject({ score: 0, gated: true });
  });

  it("cannot be raised by adding trivial tests: more tests only lengthen the diff", () => {
    const before = computeFitness(input());
    const padded = computeFitness(
      input({
        mechanical: { ...mechanical, tests: { ...mechanical.tests, testCount: 500, durationMs: 1500 } },
        diff: { insertions: 30 + 2000, deletions: 10 },
      }),
    );
    expect(padded.score).toBeLessThan(before.score);
  });

  it("prefers the smaller diff and the faster suite, other things equal", () => {
    const small = computeFitness(input({ diff: { insertions: 5, deletions: 5 } }));
    const large = computeFitness(input({ diff: { insertions: 500, deletions: 300 } }));
    expect(small.score).toBeGreaterThan(large.score);
    const slow = computeFitness(
      input({ mechanical: { ...mechanical, tests: { ...mechanical.tests, durationMs: 4000 } } }),
    );
    expect(slow.components.speed).toBe(0.25);
    expect(slow.score).toBeLessThan(computeFitness(input()).score);
  });

  it("each gate alone zeroes the score, even with stage 1 recorded as passed", () => {
    const cases: [string, Partial<MechanicalVerification>][] = [
      ["gate.check", { check: { ...step, passed: false, exitCode: 2 } }],
      ["gate.tests", { tests: { ...step, passed: false, exitCode: 1, testCount: 10 } }],
      ["gate.testCount", { tests: { ...step, testCount: 9 } }],
      ["gate.schemas", { schemaFingerprintOk: false }],
      [
        "gate.acceptance",
        { acceptance: { present: true, unchanged: true, run: { ...step, passed: false } } },
      ],
      ["gate.acceptance", { acceptance: { present: true, unchanged: true, run: null } }],
      ["gate.acceptance", { acceptance: { present: true, unchanged: false, run: step } }],
    ];
    for (const [gate, m] of cases) {
      const f = computeFitness(input({ mechanical: { ...mechanical, ...m } }));
      expect(f, gate).toMatchObject({ score: 0, gated: true });
      expect(f.components[gate], gate).toBe(0);
    }
    // No acceptance/ on main: nothing frozen, the gate holds.
    const none = computeFitness(
      input({ mechanical: { ...mechanical, acceptance: { present: false, unchanged: true, run: null } } }),
    );
    expect(none.components["gate.acceptance"]).toBe(1);
    expect(none.gated).toBe(false);
  });

  it("speed is 1 without a usable baseline or test time, and never above 1", () => {
    const speed = (baselineDurationMs: number | null, durationMs: number) =>
      computeFitness(
        input({
          baselineDurationMs,
          mechanical: { ...mechanical, tests: { ...mechanical.tests, durationMs } },
        }),
      ).components.speed;
    expect(speed(null, 1000)).toBe(1);
    expect(speed(0, 1000)).toBe(1);
    expect(speed(-5, 1000)).toBe(1);
    expect(speed(1000, -1)).toBe(1);
    expect(speed(2000, 1000)).toBe(1);
    expect(speed(500, 1000)).toBe(0.5);
  });

  it("issues weigh 0.1 as 1/(1 + issues)", () => {
    const withIssues = { ...review, verdict: { ...review.verdict!, issues: ["a", "b"] } };
    const f = computeFitness(input({ review: withIssues }));
    expect(f.components.issues).toBeCloseTo(1 / 3, 4);
    expect(f.score).toBeCloseTo(0.32 + 0.3 / 1.1 + 0.2 + 0.1 / 3, 4);
  });
});
