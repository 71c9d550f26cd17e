import { type Candidate, CandidateCount, MAX_CANDIDATES } from "../../../schemas/round.ts";
import type { Config } from "../../shared/config.ts";
import { InvalidInputError } from "../errors.ts";

export interface RoundRequest {
  /** Labs to start at once; absent: LOOM_CANDIDATES. */
  readonly candidates?: number;
  /** hints[i] steers candidate i+1; at most one per candidate. */
  readonly hints?: readonly string[];
  /** What every candidate builds on (a generation); absent: LOOM_PARENT decides. */
  readonly parent?: number;
}

/**
 * The candidates of a new round, in index order: candidate i runs LOOM_LAB_MODELS[(i - 1) % length]
 * (LOOM_LAB_MODEL when that list is unset) and carries hints[i - 1] when given. Refuses a size outside
 * 1..MAX_CANDIDATES and more hints than candidates, naming the value and what is accepted.
 */
export function planRound(
  config: Pick<Config, "candidates" | "labModels">,
  request: RoundRequest,
): Candidate[] {
  const k = request.candidates ?? config.candidates;
  const size = CandidateCount.safeParse(k);
  if (!size.success) {
    throw new InvalidInputError(
      "INVALID_SPAWN",
      `candidates ${JSON.stringify(k)} is not accepted; expected a whole number from 1 to ${MAX_CANDIDATES} (LOOM_CANDIDATES when absent)`,
    );
  }
  const hints = request.hints ?? [];
  if (hints.length > size.data) {
    throw new InvalidInputError(
      "INVALID_SPAWN",
      `${hints.length} hints for ${size.data} candidate${size.data === 1 ? "" : "s"}: give at most one hint per candidate (hints[i] steers candidate i+1)`,
    );
  }
  return Array.from({ length: size.data }, (_, i) => {
    const hint = hints[i];
    return {
      index: i + 1,
      of: size.data,
      model: config.labModels[i % config.labModels.length] as string,
      ...(hint === undefined ? {} : { hint: hint.trim() }),
    };
  });
}

/** The program.md a candidate's Lab reads: the round's program, and its hint as a last section. */
export function candidateProgram(program: string, candidate: Pick<Candidate, "hint">): string {
  return candidate.hint === undefined
    ? program
    : `${program.trimEnd()}\n\n## Approach hint\n\n${candidate.hint}\n`;
}
