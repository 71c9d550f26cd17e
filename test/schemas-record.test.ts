import { describe, expect, it } from "vitest";
import { GenerationRecord, TEST_OUTPUT_MAX_CHARS } from "../schemas/index.ts";

const verification = {
  passed: true,
  stages: {
    tests: { passed: true, exitCode: 0, testCount: 120, output: "120 passed" },
    schemaFingerprintOk: true,
    acceptanceOk: true,
    review: { approved: true, issues: [], confidence: 0.8, summary: "small, focused change" },
  },
  durationMs: 4200,
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
      stages: {
        ...verification.stages,
        tests: { ...verification.stages.tests, exitCode: null },
        review: null,
      },
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
    const long = { ...verification, stages: { ...verification.stages } };
    long.stages.tests = { ...verification.stages.tests, output: "x".repeat(TEST_OUTPUT_MAX_CHARS + 1) };
    expect(issuesOf({ ...running, verification: long })).toEqual([
      "verification.stages.tests.output: too_big",
    ]);
    const overconfident = { ...verification, stages: { ...verification.stages } };
    overconfident.stages.review = { ...verification.stages.review, confidence: 2 };
    expect(issuesOf({ ...running, verification: overconfident })).toEqual([
      "verification.stages.review.confidence: too_big",
    ]);
  });
});
