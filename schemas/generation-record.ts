import { z } from "zod";
import {
  GenerationNumber,
  GenerationOutcome,
  LabBranch,
  OUTCOMES_NEEDING_REASON,
  TERMINAL_OUTCOMES,
} from "./generation.ts";
import { Candidate, RoundNumber } from "./round.ts";
import { ModelUsage, Usage } from "./usage.ts";
import { Verification, VerificationRun } from "./verification.ts";

/**
 * One generation in the lineage. Versioned so older records migrate stepwise; strict so a record
 * from a newer Loom (or a corrupted one) fails loudly instead of losing fields on rewrite.
 */
export const GenerationRecord = z
  .strictObject({
    version: z.literal(1),
    generation: GenerationNumber,
    parent: GenerationNumber.nullable(),
    /** The round (one spawn) this generation was a candidate of; absent in records from before rounds. */
    round: RoundNumber.optional(),
    /** Its place in the round and what set it apart (model, temperature, hint); absent before rounds. */
    candidate: Candidate.optional(),
    branch: LabBranch,
    programHash: z.string().regex(/^[0-9a-f]{64}$/, "expected a lowercase sha256 hex digest"),
    outcome: GenerationOutcome,
    reason: z.string().nullable(),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    containerId: z.string().min(1).nullable(),
    tokens: Usage,
    /** How `tokens` were counted, and the cost; absent in records from before the model proxy. */
    modelUsage: ModelUsage.optional(),
    fitness: z.number().nullable(),
    verification: Verification.nullable(),
    /** The last stage-1 run started by POST /verify; absent before the first. */
    verificationRun: VerificationRun.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.branch !== `lab/gen-${r.generation}`) {
      ctx.addIssue({ code: "custom", path: ["branch"], message: `branch must be lab/gen-${r.generation}` });
    }
    if (r.parent !== null && r.parent >= r.generation) {
      ctx.addIssue({ code: "custom", path: ["parent"], message: "parent must be an earlier generation" });
    }
    if ((r.round === undefined) !== (r.candidate === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [r.round === undefined ? "round" : "candidate"],
        message: "round and candidate go together: a generation of a round has both",
      });
    }
    if (TERMINAL_OUTCOMES.includes(r.outcome) && r.finishedAt === null) {
      ctx.addIssue({
        code: "custom",
        path: ["finishedAt"],
        message: `a ${r.outcome} generation needs finishedAt`,
      });
    }
    if (OUTCOMES_NEEDING_REASON.includes(r.outcome) && !r.reason?.trim()) {
      ctx.addIssue({ code: "custom", path: ["reason"], message: `a ${r.outcome} generation needs a reason` });
    }
  });
export type GenerationRecord = z.infer<typeof GenerationRecord>;
