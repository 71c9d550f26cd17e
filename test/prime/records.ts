import { GenerationRecord } from "../../schemas/generation-record.ts";
import type { ReviewVerdict } from "../../schemas/review.ts";
import type { Verification } from "../../schemas/verification.ts";

const SHA = "a".repeat(40);
const step = (passed: boolean, output = "") => ({ passed, exitCode: passed ? 0 : 1, output, durationMs: 5 });

/** A stage-1 + stage-2 verification as the Supervisor stores it, with the given results. */
export function verification(
  opts: {
    failures?: string[];
    testsOutput?: string;
    verdict?: ReviewVerdict | null;
    reviewError?: string | null;
    score?: number | null;
  } = {},
): Verification {
  const failures = opts.failures ?? [];
  const mechanicalPassed = failures.length === 0;
  const verdict = opts.verdict === undefined ? null : opts.verdict;
  const review =
    verdict === null && opts.reviewError === undefined
      ? null
      : { verdict, error: opts.reviewError ?? null, durationMs: 10 };
  const passed = mechanicalPassed && verdict?.approved === true;
  return {
    passed,
    mechanical: {
      passed: mechanicalPassed,
      commit: SHA,
      base: "b".repeat(40),
      install: null,
      check: step(true),
      tests: { ...step(mechanicalPassed, opts.testsOutput ?? ""), testCount: 12 },
      baselineTestCount: 12,
      schemaFingerprintOk: true,
      acceptance: { present: false, unchanged: true, run: null },
      failures,
      durationMs: 100,
    },
    review,
    fitness:
      opts.score === undefined || opts.score === null
        ? null
        : { score: opts.score, gated: passed, components: { tests: opts.score } },
  };
}

/** A schema-valid GenerationRecord. */
export function record(
  generation: number,
  outcome: GenerationRecord["outcome"],
  extra: Partial<
    Pick<
      GenerationRecord,
      "reason" | "fitness" | "verification" | "parent" | "programHash" | "tokens" | "round" | "candidate"
    >
  > = {},
): GenerationRecord {
  const terminal = !["pending", "running", "verifying"].includes(outcome);
  return GenerationRecord.parse({
    version: 1,
    generation,
    parent: generation > 1 ? generation - 1 : null,
    branch: `lab/gen-${generation}`,
    programHash: "c".repeat(64),
    outcome,
    reason: ["rolled_back", "failed", "aborted", "timed_out"].includes(outcome) ? "it failed" : null,
    createdAt: "2026-01-01T00:00:00.000Z",
    finishedAt: terminal ? "2026-01-01T00:10:00.000Z" : null,
    containerId: null,
    tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    fitness: null,
    verification: null,
    ...extra,
  });
}
