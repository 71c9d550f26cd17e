import { isLabInProgress } from "../../../schemas/generation.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { REASON_MAX_CHARS } from "../../../schemas/supervisor.ts";
import type { Verification } from "../../../schemas/verification.ts";
import { totalTokens } from "../../shared/events.ts";

/**
 * The next thing a round of several candidates needs, read from the lineage alone (so a restarted
 * Prime picks up where the records are): its Labs finish; every candidate that reached verification
 * runs the cheap stages (`through: "reachable"`); those that fail them are rolled back; the finalists
 * (best first, `finalists` of them) get the full suite and the review; the passing finalist with the
 * highest fitness is promoted, and every other candidate that passed what it ran is archived as a
 * stepping stone. No stage is skipped for the candidate that is promoted.
 */
export type RoundStep =
  | { readonly kind: "wait"; readonly generation: number }
  /** Every candidate not yet screened: their cheap stages run side by side. */
  | { readonly kind: "screen"; readonly generations: readonly number[] }
  | { readonly kind: "rollback"; readonly generation: number; readonly reason: string }
  | { readonly kind: "archive"; readonly generation: number; readonly reason: string }
  | { readonly kind: "finalist"; readonly generation: number }
  | { readonly kind: "promote"; readonly generation: number }
  | { readonly kind: "done" };

/** Stage 1 through the full suite and stage 2 are on the record: what a promotion requires. */
export const fullyVerified = (r: GenerationRecord): boolean =>
  r.verification?.review != null && r.verification.mechanical.complete !== false;

/** The cheap stages ran (or more): the record has a stage-1 result. */
const screened = (r: GenerationRecord): boolean => r.verification != null;

/** Tests the candidate's reachable-tests stage ran: more of its change exercised ranks it higher. */
function reachableTestsRun(r: GenerationRecord): number {
  const stage = r.verification?.mechanical.stages?.find((s) => s.name === "reachable_tests");
  return stage?.state === "passed" ? (stage.testsRun ?? 0) : 0;
}

/** LOOM_FITNESS=tasks: the share of the staged tasks the candidate's agent solved (0 without it). */
function screenShare(r: GenerationRecord): number {
  const screen = r.verification?.mechanical.taskFitness?.screen?.candidate;
  return screen && screen.total > 0 ? screen.solved / screen.total : 0;
}

/**
 * Best first among candidates that passed the cheap stages: the most staged tasks solved (under
 * LOOM_FITNESS=tasks: what the new agent does comes first), the most reachable tests passed (the
 * change is better exercised), then the fewest Lab tokens (a cheaper change), then the lower number.
 */
export function rankFinalists(candidates: readonly GenerationRecord[]): GenerationRecord[] {
  return [...candidates].sort(
    (a, b) =>
      screenShare(b) - screenShare(a) ||
      reachableTestsRun(b) - reachableTestsRun(a) ||
      totalTokens(a.tokens) - totalTokens(b.tokens) ||
      a.generation - b.generation,
  );
}

const clip = (s: string): string => s.slice(0, REASON_MAX_CHARS);

/** The rollback reason of a failed verification: stage-1 failures, else the review's issues or error. */
export function rollbackReason(v: Verification): string {
  return clip(rollbackReasonText(v));
}

function rollbackReasonText(v: Verification): string {
  if (v.mechanical.failures.length > 0) return `verification failed: ${v.mechanical.failures.join("; ")}`;
  if (!v.mechanical.passed) return "verification failed: stage 1 did not pass";
  const review = v.review;
  if (review?.verdict && !review.verdict.approved) {
    return `review rejected: ${review.verdict.issues.join("; ") || review.verdict.summary}`;
  }
  if (review?.error) return `review rejected: ${review.error}`;
  return "verification did not pass";
}

const fitnessOf = (r: GenerationRecord): number => r.verification?.fitness?.score ?? r.fitness ?? 0;

/**
 * Main's fitness, for LOOM_PARENT=archive, where a candidate is promoted only when it beats it: the
 * latest promoted generation outside `exclude` (0 before any promotion).
 */
export function mainFitness(lineage: readonly GenerationRecord[], exclude: readonly number[] = []): number {
  const main = lineage.filter((r) => r.outcome === "promoted" && !exclude.includes(r.generation)).at(-1);
  return main ? fitnessOf(main) : 0;
}

export function nextRoundStep(
  round: readonly number[],
  lineage: readonly GenerationRecord[],
  finalists: number,
  options: { readonly requireGain?: boolean } = {},
): RoundStep {
  const byNumber = new Map(lineage.map((r) => [r.generation, r]));
  // A candidate missing from the lineage (its state folder replaced) has nothing left to do.
  const records = round.flatMap((n) => byNumber.get(n) ?? []);
  const label = records[0]?.round !== undefined ? `round ${records[0].round}` : "the round";
  const inLab = records.find((r) => isLabInProgress(r.outcome));
  if (inLab) return { kind: "wait", generation: inLab.generation };
  const open = records.filter((r) => r.outcome === "verifying");
  const unscreened = open.filter((r) => !screened(r)).map((r) => r.generation);
  if (unscreened.length > 0) return { kind: "screen", generations: unscreened };
  const failed = open.find(
    (r) =>
      r.verification && !r.verification.passed && (fullyVerified(r) || !r.verification.mechanical.passed),
  );
  if (failed?.verification) {
    return { kind: "rollback", generation: failed.generation, reason: rollbackReason(failed.verification) };
  }
  // Finalists, best first, one at a time, until `finalists` have been verified in full.
  const tried = records.filter(fullyVerified);
  const next = rankFinalists(open.filter((r) => !fullyVerified(r)))[0];
  const winner = records.find((r) => r.outcome === "promoted");
  if (!winner && next && tried.length < finalists) return { kind: "finalist", generation: next.generation };
  // Every finalist verified: the passing one with the highest fitness wins (the lower number at a tie).
  // LOOM_PARENT=archive: a candidate may build on a stepping stone, so it must beat main to replace it.
  const bar = options.requireGain ? mainFitness(lineage, round) : Number.NEGATIVE_INFINITY;
  const passed = open
    .filter((r) => fullyVerified(r) && r.verification?.passed === true && fitnessOf(r) > bar)
    .sort((a, b) => fitnessOf(b) - fitnessOf(a) || a.generation - b.generation);
  const best = winner ?? passed[0];
  // A gate change is never promoted by the loop: it stays verifying for a person, and still wins.
  if (best && best.outcome === "verifying" && !best.verification?.mechanical.gate?.touched) {
    return { kind: "promote", generation: best.generation };
  }
  const rest = open.find((r) => r !== best);
  if (!rest) return { kind: "done" };
  const why = best
    ? `${label} ${best.outcome === "promoted" ? "promoted" : "left for a person's decision on"} gen-${best.generation}` +
      (fullyVerified(rest) ? ` (fitness ${fitnessOf(best)} over this one's ${fitnessOf(rest)})` : "")
    : options.requireGain && tried.some((r) => r.verification?.passed)
      ? `none of ${label}'s finalists (${tried.map((r) => `gen-${r.generation}`).join(", ")}) beat main's fitness ${bar} (LOOM_PARENT=archive)`
      : `none of ${label}'s finalists (${tried.map((r) => `gen-${r.generation}`).join(", ")}) passed`;
  const what = fullyVerified(rest)
    ? "passed every stage"
    : `passed the cheap stages (${stagesRun(rest)}); not a finalist (LOOM_FINALISTS=${finalists})`;
  return { kind: "archive", generation: rest.generation, reason: clip(`not promoted: ${why}; it ${what}`) };
}

/** "fixed_points, check, reachable_tests": the stages a candidate passed, for its reason. */
function stagesRun(r: GenerationRecord): string {
  const passed = r.verification?.mechanical.stages?.filter((s) => s.state === "passed").map((s) => s.name);
  return passed && passed.length > 0 ? passed.join(", ") : "stage 1";
}
