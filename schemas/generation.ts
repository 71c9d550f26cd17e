import { z } from "zod";

/** Generation numbers start at 1; main before any promotion has no generation. */
export const GenerationNumber = z.number().int().min(1);
export type GenerationNumber = z.infer<typeof GenerationNumber>;

/** A Lab's branch: `lab/gen-N`. */
export const LabBranch = z.string().regex(/^lab\/gen-[1-9][0-9]*$/, "expected a branch named lab/gen-N");
export type LabBranch = z.infer<typeof LabBranch>;

/** Where a generation is in its life; the last six are terminal. */
export const GenerationOutcome = z.enum([
  "pending",
  "running",
  "verifying",
  /**
   * Passed a round's cheap stages but was not a finalist: `lab/gen-N` is kept, and the candidate may
   * still be drawn as a parent (LOOM_PARENT=archive), which first finishes its verification.
   */
  "screened",
  "promoted",
  "rolled_back",
  /** Passed every stage of verification but was not promoted: kept as refs/loom/archive/gen-N. */
  "archived",
  "failed",
  "aborted",
  "timed_out",
]);
export type GenerationOutcome = z.infer<typeof GenerationOutcome>;

/**
 * What each outcome means for whoever waits on a generation: its Lab still works (`lab`), it waits for
 * verification and a decision (`decision`), or it is over (`final`). Every predicate and list below is
 * derived from this one table.
 */
const PHASE_OF_OUTCOME = {
  pending: "lab",
  running: "lab",
  verifying: "decision",
  screened: "decision",
  promoted: "final",
  rolled_back: "final",
  archived: "final",
  failed: "final",
  aborted: "final",
  timed_out: "final",
} as const satisfies Record<GenerationOutcome, "lab" | "decision" | "final">;

/** Its Lab has not finished: the record will still change by itself. */
export const isLabInProgress = (outcome: GenerationOutcome): boolean => PHASE_OF_OUTCOME[outcome] === "lab";

/** Nothing changes a generation with this outcome any more. */
export const isTerminalOutcome = (outcome: GenerationOutcome): boolean =>
  PHASE_OF_OUTCOME[outcome] === "final";

export const TERMINAL_OUTCOMES: readonly GenerationOutcome[] =
  GenerationOutcome.options.filter(isTerminalOutcome);

/** Outcomes that must carry a reason, because the next reflect turns it into a lesson. */
export const OUTCOMES_NEEDING_REASON: readonly GenerationOutcome[] = GenerationOutcome.options.filter(
  (o) => isTerminalOutcome(o) && o !== "promoted",
);
