import type { GenerationOutcome } from "../../../schemas/generation.ts";
import { TERMINAL_OUTCOMES } from "../../../schemas/generation.ts";

/**
 * Where each outcome may go next. Terminal outcomes go nowhere: a finished generation is history.
 * Promotion only follows verification; nothing moves backwards (except PROMOTION_REVERT below).
 */
const NEXT: Readonly<Record<GenerationOutcome, readonly GenerationOutcome[]>> = {
  pending: ["pending", "running", "failed", "aborted", "timed_out"],
  running: ["running", "verifying", "rolled_back", "failed", "aborted", "timed_out"],
  verifying: [
    "verifying",
    "screened",
    "promoted",
    "rolled_back",
    "archived",
    "failed",
    "aborted",
    "timed_out",
  ],
  // Drawn as a parent, a screened candidate is verified in full where it is, then archived or rolled back.
  screened: ["screened", "archived", "rolled_back"],
  promoted: [],
  rolled_back: [],
  archived: [],
  failed: [],
  aborted: [],
  timed_out: [],
};

/**
 * The one way out of a final outcome, never reachable through `update`: a promotion is undone
 * (promoted → rolled_back) when Prime, restarted on the new main, fails its health check and main is
 * reset to the commit before it. Only GenerationStore.revertPromotion takes it, with the reason.
 */
export const PROMOTION_REVERT = { from: "promoted", to: "rolled_back" } as const;

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
