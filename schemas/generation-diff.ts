import { z } from "zod";
import { GenerationNumber } from "./generation.ts";
import { CommitSha } from "./supervisor.ts";

/** One declaration a generation added, changed or removed, named by its symbol path (`src/x.ts#A.b`). */
export const DeclarationChange = z.object({
  path: z.string().min(1),
  /** ts_outline's kind: function, class, method, interface, type, variable, ... */
  kind: z.string().min(1),
  change: z.enum(["added", "changed", "removed"]),
  linesBefore: z.number().int().nonnegative(),
  linesAfter: z.number().int().nonnegative(),
});
export type DeclarationChange = z.infer<typeof DeclarationChange>;

/** The AST-level view of a diff: what the reviewer and the dashboard read before the raw lines. */
export const DeclarationSummary = z.object({
  changes: z.array(DeclarationChange),
  /** TypeScript files that appeared or disappeared as a whole. */
  filesAdded: z.array(z.string()),
  filesRemoved: z.array(z.string()),
  /** Changed files that are not TypeScript (summarised by line counts only). */
  otherFiles: z.array(z.string()),
});
export type DeclarationSummary = z.infer<typeof DeclarationSummary>;

export const DIFF_MAX_CHARS = 2_000_000;

/** `GET /generations/:n/diff`: lab/gen-N against the main it branched from. */
export const GenerationDiff = z.object({
  generation: GenerationNumber,
  base: CommitSha,
  head: CommitSha,
  /** program.md as committed on the branch. */
  program: z.string(),
  stat: z.object({
    files: z.number().int().nonnegative(),
    insertions: z.number().int().nonnegative(),
    deletions: z.number().int().nonnegative(),
  }),
  /** The unified diff, cut at DIFF_MAX_CHARS only with `truncated` set (consumers must say so). */
  diff: z.string(),
  truncated: z.boolean(),
  declarations: DeclarationSummary,
});
export type GenerationDiff = z.infer<typeof GenerationDiff>;
