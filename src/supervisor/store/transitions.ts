import type { GenerationOutcome } from "../../../schemas/generation.ts";
import { TERMINAL_OUTCOMES } from "../../../schemas/generation.ts";

/**
 * Where each outcome may go next. Terminal outcomes go nowhere: a finished generation is history.
 * Promotion only follows verification; nothing moves backwards.
 */
const NEXT: Readonly<Record<GenerationOutcome, readonly GenerationOutcome[]>> = {
  pending: ["pending", "running", "failed", "aborted", "timed_out"],
  running: ["running", "verifying", "rolled_back", "failed", "aborted", "timed_out"],
  verifying: ["verifying", "promoted", "rolled_back", "failed", "aborted", "timed_out"],
  promoted: [],
  rolled_back: [],
  failed: [],
  aborted: [],
  timed_out: [],
};

export function isTerminal(outcome: GenerationOutcome): boolean {
  return TERMINAL_OUTCOMES.includes(outcome);
}

export function canTransition(from: GenerationOutcome, to: GenerationOutcome): boolean {
  return NEXT[from].includes(to);
}

/** The outcomes reachable from `from`, for error messages. */
export function allowedFrom(from: GenerationOutcome): readonly GenerationOutcome[] {
  return NEXT[from];
}
