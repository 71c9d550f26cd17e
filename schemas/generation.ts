import { z } from "zod";

/** Generation numbers start at 1; main before any promotion has no generation. */
export const GenerationNumber = z.number().int().min(1);
export type GenerationNumber = z.infer<typeof GenerationNumber>;

/** A Lab's branch: `lab/gen-N`. */
export const LabBranch = z.string().regex(/^lab\/gen-[1-9][0-9]*$/, "expected a branch named lab/gen-N");
export type LabBranch = z.infer<typeof LabBranch>;

/** Where a generation is in its life; the last five are terminal. */
export const GenerationOutcome = z.enum([
  "pending",
  "running",
  "verifying",
  "promoted",
  "rolled_back",
  "failed",
  "aborted",
  "timed_out",
]);
export type GenerationOutcome = z.infer<typeof GenerationOutcome>;

export const TERMINAL_OUTCOMES: readonly GenerationOutcome[] = [
  "promoted",
  "rolled_back",
  "failed",
  "aborted",
  "timed_out",
];

/** Outcomes that must carry a reason, because the next reflect turns it into a lesson. */
export const OUTCOMES_NEEDING_REASON: readonly GenerationOutcome[] = [
  "rolled_back",
  "failed",
  "aborted",
  "timed_out",
];
