import type { AutonomousGeneration, AutonomousState } from "../../../schemas/autonomous.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { REASON_MAX_CHARS } from "../../../schemas/supervisor.ts";
import { totalTokens } from "../../shared/events.ts";

/**
 * What a run has done so far, read from the lineage: the run keeps only the numbers of its
 * generations, so an outcome a person decides later (a held generation promoted by hand) or a
 * promotion reverted by the Supervisor is counted as the lineage says, never as a stale copy.
 */
export interface RunProgress {
  readonly generations: readonly AutonomousGeneration[];
  /** Best fitness of a promoted generation in the lineage. */
  readonly bestFitness: number | null;
  /** This run's promoted generations since the best fitness last improved. */
  readonly promotedWithoutGain: number;
  /** Tokens the run's Labs used, from their records. */
  readonly labTokens: number;
}

/** Why a generation was left for a person; it stays `verifying` until someone promotes or rolls it back. */
export function heldReason(files: readonly string[]): string {
  return `held for a person: it changes the gate (${files.join(", ")}); POST /promote with approveGateChange or roll it back`.slice(
    0,
    REASON_MAX_CHARS,
  );
}

const fitnessOf = (r: GenerationRecord): number | null => r.fitness ?? r.verification?.fitness?.score ?? null;

function reasonOf(r: GenerationRecord): string | null {
  if (r.outcome === "promoted") return null;
  if (r.reason) return r.reason;
  const v = r.verification;
  if (r.outcome === "verifying" && v?.passed && v.mechanical.gate?.touched)
    return heldReason(v.mechanical.gate.files);
  return null;
}

export function runProgress(
  state: Pick<AutonomousState, "generations">,
  lineage: readonly GenerationRecord[],
): RunProgress {
  const byNumber = new Map(lineage.map((r) => [r.generation, r]));
  const mine = new Set(state.generations);
  let bestFitness: number | null = null;
  for (const r of lineage) {
    const f = fitnessOf(r);
    if (
      !mine.has(r.generation) &&
      r.outcome === "promoted" &&
      f !== null &&
      (bestFitness === null || f > bestFitness)
    )
      bestFitness = f;
  }
  let promotedWithoutGain = 0;
  let labTokens = 0;
  const generations: AutonomousGeneration[] = [];
  for (const n of state.generations) {
    const r = byNumber.get(n);
    // Not in this lineage (its state dir was replaced): it still counts as started, but has no outcome.
    if (!r) continue;
    const fitness = fitnessOf(r);
    if (r.outcome === "promoted") {
      if (fitness !== null && (bestFitness === null || fitness > bestFitness)) {
        bestFitness = fitness;
        promotedWithoutGain = 0;
      } else promotedWithoutGain++;
    }
    labTokens += totalTokens(r.tokens);
    generations.push({
      generation: n,
      outcome: r.outcome,
      fitness,
      reason: reasonOf(r),
      ...(r.round !== undefined ? { round: r.round } : {}),
    });
  }
  return { generations, bestFitness, promotedWithoutGain, labTokens };
}
