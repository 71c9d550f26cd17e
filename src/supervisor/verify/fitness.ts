import type { Fitness, MechanicalVerification, ReviewStage } from "../../../schemas/verification.ts";

/** What fitness is computed from; everything here is measured by the Supervisor or judged by the reviewer. */
export interface FitnessInput {
  readonly mechanical: MechanicalVerification;
  readonly review: ReviewStage | null;
  /** Lines the generation changed against its base; null when unknown (counted as no penalty). */
  readonly diff: { readonly insertions: number; readonly deletions: number } | null;
  /** How long main's tests took at the base; null when unknown (counted as no penalty). */
  readonly baselineDurationMs: number | null;
}

/** Weights of the components above the gate; they sum to 1, so a score is within [0, 1]. */
export const FITNESS_WEIGHTS = { review: 0.4, size: 0.3, speed: 0.2, issues: 0.1 } as const;
/** A diff of this many changed lines scores 0.5 on size; smaller diffs score higher. */
export const SIZE_HALF_LINES = 400;

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

/**
 * Fitness of a verified generation, pure.
 *
 * Gates (each 0 or 1 in `components`, as `gate.*`): check passed, tests passed, test count ≥ baseline,
 * schemas unchanged, acceptance unchanged and passing (when main has one), review approved. If any is 0
 * the score is 0 and `gated` is true.
 *
 * Above the gate: score = 0.4·review + 0.3·size + 0.2·speed + 0.1·issues, where
 * - review = the reviewer's confidence (0..1);
 * - size = 1 / (1 + changedLines / 400): small, reviewable diffs win;
 * - speed = min(1, baselineTestMs / testMs): a generation that slows the suite loses, no reward beyond main;
 * - issues = 1 / (1 + issues the reviewer listed).
 * None of them grows with the number of tests, so adding trivial tests cannot raise it (they only
 * lengthen the diff and the test run).
 *
 * Under LOOM_FITNESS=tasks (the record has `taskFitness`) one more gate holds only when the task stage
 * ran and passed, and the score is the candidate's solved share of main's tasks instead.
 */
export function computeFitness(input: FitnessInput): Fitness {
  const m = input.mechanical;
  const verdict = input.review?.verdict ?? null;
  const gates = {
    "gate.check": m.check.passed,
    "gate.tests": m.tests.passed,
    "gate.testCount": m.tests.testCount >= m.baselineTestCount,
    "gate.schemas": m.schemaFingerprintOk,
    "gate.acceptance": !m.acceptance.present || (m.acceptance.unchanged && m.acceptance.run?.passed === true),
    "gate.review": verdict?.approved === true,
    // LOOM_FITNESS=tasks: the task stage ran and passed (a gain over main the paired test calls real).
    ...(m.taskFitness ? { "gate.tasks": m.taskFitness.full !== null && m.passed } : {}),
  };
  const gated = !m.passed || Object.values(gates).some((ok) => !ok);
  const changed = input.diff ? input.diff.insertions + input.diff.deletions : 0;
  const testMs = m.tests.durationMs;
  const parts = {
    review: verdict ? Math.min(1, Math.max(0, verdict.confidence)) : 0,
    size: 1 / (1 + changed / SIZE_HALF_LINES),
    speed:
      input.baselineDurationMs === null || input.baselineDurationMs <= 0 || testMs <= 0
        ? 1
        : Math.min(1, input.baselineDurationMs / testMs),
    issues: 1 / (1 + (verdict?.issues.length ?? 0)),
  };
  const weighted =
    FITNESS_WEIGHTS.review * parts.review +
    FITNESS_WEIGHTS.size * parts.size +
    FITNESS_WEIGHTS.speed * parts.speed +
    FITNESS_WEIGHTS.issues * parts.issues;
  const components: Record<string, number> = {};
  for (const [k, ok] of Object.entries(gates)) components[k] = ok ? 1 : 0;
  for (const [k, v] of Object.entries(parts)) components[k] = round(v);
  components.changedLines = changed;
  const full = m.taskFitness?.full;
  if (full) {
    // Under LOOM_FITNESS=tasks the score is what the candidate's agent does: its solved share.
    const solvedShare = full.candidate.total === 0 ? 0 : full.candidate.solved / full.candidate.total;
    components.solvedShare = round(solvedShare);
    components.mainSolvedShare = round(full.main.total === 0 ? 0 : full.main.solved / full.main.total);
    return { score: gated ? 0 : round(solvedShare), gated, components };
  }
  return { score: gated ? 0 : round(weighted), gated, components };
}
