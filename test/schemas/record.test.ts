import { describe, expect, it } from "vitest";
import { GenerationRecord, TEST_OUTPUT_MAX_CHARS } from "../../schemas/index.ts";

const step = { passed: true, exitCode: 0, output: "ok", durationMs: 900 };
const verification = {
  passed: true,
  mechanical: {
    passed: true,
    commit: "a".repeat(40),
    base: "b".repeat(40),
    install: null,
    check: step,
    tests: { ...step, testCount: 120, output: "120 passed" },
    baselineTestCount: 118,
    schemaFingerprintOk: true,
    acceptance: { present: true, unchanged: true, run: step },
    failures: [],
    durationMs: 4200,
  },
  review: {
    verdict: { approved: true, issues: [], confidence: 0.8, summary: "small, focused change" },
    error: null,
    durationMs: 1500,
  },
  fitness: { score: 0.75, gated: false, components: { tests: 1 } },
};

const running = {
  version: 1,
  generation: 2,
  parent: 1,
  branch: "lab/gen-2",
  programHash: "0".repeat(64),
  outcome: "running",
  reason: null,
  createdAt: "2026-01-01T10:00:00.000Z",
  finishedAt: null,
  containerId: "c0ffee",
  tokens: { input: 10, output: 20, cacheRead: 0, cacheWrite: 0 },
  fitness: null,
  verification: null,
};

const issuesOf = (value: unknown) =>
  (GenerationRecord.safeParse(value).error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.code}`);

describe("GenerationRecord", () => {
  it("accepts a running record and a promoted one with verification", () => {
    expect(issuesOf(running)).toEqual([]);
    const promoted = {
      ...running,
      outcome: "promoted",
      finishedAt: "2026-01-01T10:05:00.000Z",
      fitness: 0.75,
      containerId: null,
      verification,
    };
    expect(issuesOf(promoted)).toEqual([]);
    expect(issuesOf({ ...running, parent: null, generation: 1, branch: "lab/gen-1" })).toEqual([]);
    const killed = {
      ...verification,
      passed: false,
      mechanical: {
        ...verification.mechanical,
        passed: false,
        tests: { ...verification.mechanical.tests, passed: false, exitCode: null },
        failures: ["npm test was killed after 600000 ms"],
      },
      review: null,
      fitness: null,
    };
    expect(
      issuesOf({ ...promoted, outcome: "failed", reason: "tests timed out", verification: killed }),
    ).toEqual([]);
  });

  it("rejects another version, unknown fields, a bad hash and a wrong outcome", () => {
    expect(issuesOf({ ...running, version: 2 })).toEqual(["version: invalid_value"]);
    expect(issuesOf({ ...running, lesson: "x" })).toEqual([": unrecognized_keys"]);
    expect(issuesOf({ ...running, programHash: "ABC" })).toEqual(["programHash: invalid_format"]);
    expect(issuesOf({ ...running, outcome: "merged" })).toEqual(["outcome: invalid_value"]);
    expect(issuesOf({ ...running, createdAt: "yesterday" })).toEqual(["createdAt: invalid_format"]);
    expect(issuesOf({ ...running, tokens: { ...running.tokens, input: -1 } })).toEqual([
      "tokens.input: too_small",
    ]);
  });

  it("keeps branch, parent, finishedAt and reason consistent with the rest", () => {
    expect(issuesOf({ ...running, branch: "lab/gen-3" })).toEqual(["branch: custom"]);
    expect(issuesOf({ ...running, parent: 2 })).toEqual(["parent: custom"]);
    expect(issuesOf({ ...running, outcome: "promoted" })).toEqual(["finishedAt: custom"]);
    const finished = { ...running, finishedAt: "2026-01-01T10:05:00.000Z" };
    for (const outcome of ["failed", "aborted", "timed_out", "rolled_back"]) {
      expect(issuesOf({ ...finished, outcome })).toEqual(["reason: custom"]);
      expect(issuesOf({ ...finished, outcome, reason: "  " })).toEqual(["reason: custom"]);
      expect(issuesOf({ ...finished, outcome, reason: "lab crashed" })).toEqual([]);
    }
  });

  it("bounds test output and checks the review verdict inside verification", () => {
    const long = { ...verification, mechanical: { ...verification.mechanical } };
    long.mechanical.tests = {
      ...verification.mechanical.tests,
      output: "x".repeat(TEST_OUTPUT_MAX_CHARS + 1),
    };
    expect(issuesOf({ ...running, verification: long })).toEqual([
      "verification.mechanical.tests.output: too_big",
    ]);
    const overconfident = {
      ...verification,
      review: { ...verification.review, verdict: { ...verification.review.verdict, confidence: 2 } },
    };
    expect(issuesOf({ ...running, verification: overconfident })).toEqual([
      "verification.review.verdict.confidence: too_big",
    ]);
  });
});
