import { z } from "zod";

/** Stage-2 verification: the LLM reviewer's verdict on program.md + diff (also its tool input schema). */
export const ReviewVerdict = z.object({
  approved: z.boolean().describe("true only if the change does what program.md asks and nothing harmful"),
  issues: z.array(z.string()).describe("concrete problems found; empty when there are none"),
  confidence: z.number().min(0).max(1).describe("confidence in the verdict, from 0 to 1"),
  summary: z.string().describe("one or two sentences on what the change does"),
});
export type ReviewVerdict = z.infer<typeof ReviewVerdict>;
