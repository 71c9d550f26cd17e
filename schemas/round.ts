import { z } from "zod";
import { HINT_MAX_CHARS, MAX_CANDIDATES } from "./round-limits.ts";

export { HINT_MAX_CHARS, MAX_CANDIDATES };

/** Rounds count from 1: every spawn starts one, of 1 to MAX_CANDIDATES generations. */
export const RoundNumber = z.number().int().min(1);
export type RoundNumber = z.infer<typeof RoundNumber>;

export const CandidateCount = z
  .number()
  .int()
  .min(1)
  .max(MAX_CANDIDATES, `expected at most ${MAX_CANDIDATES} candidates`);

export const CandidateHint = z
  .string()
  .max(HINT_MAX_CHARS)
  .refine((s) => s.trim() !== "", "a hint must not be empty or only whitespace");

/**
 * Which candidate of its round a generation is, and what set it apart from its siblings: the model it
 * ran (LOOM_LAB_MODELS, in turn by index), an optional sampling temperature and approach hint.
 */
export const Candidate = z
  .strictObject({
    /** 1-based position in the round. */
    index: z.number().int().min(1).max(MAX_CANDIDATES),
    /** How many candidates the round started. */
    of: CandidateCount,
    model: z.string().min(1).optional(),
    temperature: z.number().min(0).max(1).optional(),
    hint: CandidateHint.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.index > c.of) {
      ctx.addIssue({ code: "custom", path: ["index"], message: `index must be at most of (${c.of})` });
    }
  });
export type Candidate = z.infer<typeof Candidate>;
