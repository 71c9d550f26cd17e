import { describe, expect, it } from "vitest";
import {
  GenerationDiff,
  GenerationRecord,
  ReviewRequest,
  SpawnRequest,
  Verification,
  VerifyRequest,
} from "../schemas/index.ts";

const sha = (c: string) => c.repeat(40);
const step = { passed: true, exitCode: 0, output: "ok", durationMs: 12 };
const verification = {
  passed: true,
  mechanical: {
    passed: true,
    commit: sha("a"),
    base: sha("b"),
    install: null,
    check: step,
    tests: { ...step, testCount: 7 },
    baselineTestCount: 6,
    schemaFingerprintOk: true,
    acceptance: { present: true, unchanged: true, run: step },
    failures: [],
    durationMs: 900,
  },
  review: {
    verdict: { approved: true, issues: [], confidence: 0.8, summary: "renames a helper" },
    error: null,
    durationMs: 3000,
  },
  fitness: { score: 0.71, gated: false, components: { review: 0.8 } },
};
const record = {
  version: 1,
  generation: 3,
  parent: 2,
  branch: "lab/gen-3",
  programHash: "c".repeat(64),
  outcome: "promoted",
  reason: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:10:00.000Z",
  containerId: "abc123",
  tokens: { input: 100, output: 20, cacheRead: 0, cacheWrite: 0 },
  fitness: 0.71,
  verification,
};

describe("the fixed points parse what Loom writes and refuse what it must not", () => {
  it("a promoted generation record with both stages of verification", () => {
    expect(GenerationRecord.parse(record)).toEqual(record);
    expect(Verification.parse(verification)).toEqual(verification);
  });

  it("refuses a record whose branch is not its generation's, or a failure without a reason", () => {
    expect(GenerationRecord.safeParse({ ...record, branch: "lab/gen-4" }).success).toBe(false);
    expect(GenerationRecord.safeParse({ ...record, outcome: "failed", reason: null }).success).toBe(false);
  });

  it("request bodies: strict, with the documented fields", () => {
    expect(SpawnRequest.parse({ program: "# Task\n" })).toEqual({ program: "# Task\n" });
    expect(SpawnRequest.safeParse({ program: "   " }).success).toBe(false);
    expect(VerifyRequest.safeParse({ generation: 1, extra: true }).success).toBe(false);
    expect(
      ReviewRequest.parse({ generation: 2, verdict: null, error: "no verdict", durationMs: 5 }),
    ).toMatchObject({ generation: 2, verdict: null });
  });

  it("a generation diff", () => {
    const diff = {
      generation: 3,
      base: sha("b"),
      head: sha("a"),
      program: "# Task\n",
      stat: { files: 1, insertions: 2, deletions: 1 },
      diff: "diff --git a/src/x.ts b/src/x.ts\n",
      truncated: false,
      declarations: {
        changes: [{ path: "src/x.ts#f", kind: "function", change: "changed", linesBefore: 3, linesAfter: 4 }],
        filesAdded: [],
        filesRemoved: [],
        otherFiles: [],
      },
    };
    expect(GenerationDiff.parse(diff)).toEqual(diff);
  });
});
