import { describe, expect, it } from "vitest";
import type { MechanicalVerification, ReviewStage } from "../schemas/verification.ts";
import { computeFitness, type FitnessInput } from "../src/supervisor/verify/fitness.ts";

/**
 * The gate's contract for fitness, pinned on the candidate's own code: each gate component alone —
 * with every other signal good, stage 1 included — zeroes the score. A candidate that weakens one
 * component (and adjusts its unit tests to match) fails here, in a suite it cannot change.
 */
const step = { passed: true, exitCode: 0, output: "", durationMs: 1000 };
const good: MechanicalVerification = {
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
const approved: ReviewStage = {
  verdict: { approved: true, issues: [], confidence: 0.9, summary: "ok" },
  error: null,
  durationMs: 10,
};
const input = (
  mechanical: Partial<MechanicalVerification>,
  review: ReviewStage | null = approved,
): FitnessInput => ({
  mechanical: { ...good, ...mechanical },
  review,
  diff: { insertions: 10, deletions: 0 },
  baselineDurationMs: 1000,
});

describe("fitness: every gate component zeroes the score when it fails", () => {
  it("all gates holding: a positive score, not gated, each gate component 1", () => {
    const f = computeFitness(input({}));
    expect(f.gated).toBe(false);
    expect(f.score).toBeGreaterThan(0);
    for (const gate of ["check", "tests", "testCount", "schemas", "acceptance", "review"]) {
      expect(f.components[`gate.${gate}`], gate).toBe(1);
    }
  });

  const cases: [string, FitnessInput][] = [
    ["gate.check", input({ check: { ...step, passed: false, exitCode: 2 } })],
    ["gate.tests", input({ tests: { ...step, passed: false, exitCode: 1, testCount: 10 } })],
    ["gate.testCount", input({ tests: { ...step, testCount: 9 } })],
    ["gate.testCount", input({ tests: { ...step, testCount: 0 }, baselineTestCount: 1 })],
    ["gate.schemas", input({ schemaFingerprintOk: false })],
    [
      "gate.acceptance",
      input({ acceptance: { present: true, unchanged: true, run: { ...step, passed: false, exitCode: 1 } } }),
    ],
    ["gate.acceptance", input({ acceptance: { present: true, unchanged: true, run: null } })],
    ["gate.acceptance", input({ acceptance: { present: true, unchanged: false, run: step } })],
    ["gate.review", input({}, null)],
    ["gate.review", input({}, { ...approved, verdict: { ...approved.verdict!, approved: false } })],
  ];
  for (const [gate, given] of cases) {
    it(`${gate} failing alone (stage 1 otherwise passed): score 0, gated, ${gate} = 0`, () => {
      const f = computeFitness(given);
      expect(f.score).toBe(0);
      expect(f.gated).toBe(true);
      expect(f.components[gate]).toBe(0);
    });
  }

  it("a test count equal to main's holds the gate; one fewer does not", () => {
    expect(computeFitness(input({ tests: { ...step, testCount: 10 } })).components["gate.testCount"]).toBe(1);
    expect(computeFitness(input({ tests: { ...step, testCount: 11 } })).components["gate.testCount"]).toBe(1);
    expect(computeFitness(input({ tests: { ...step, testCount: 9 } })).components["gate.testCount"]).toBe(0);
  });

  it("stage 1 not passed zeroes the score even when every component holds", () => {
    expect(computeFitness(input({ passed: false }))).toMatchObject({ score: 0, gated: true });
  });
});
