import { z } from "zod";

const text = z.string().min(1);
const items = z.array(text).min(1);

/**
 * The program.md contract that steers one generation. Markdown form: `# Task`, `## Objective`,
 * `## Files`, `## Acceptance criteria`, `## Constraints` (the last three as lists).
 */
export const ProgramContract = z.object({
  task: text,
  objective: text,
  files: items,
  acceptanceCriteria: items,
  constraints: items,
});
export type ProgramContract = z.infer<typeof ProgramContract>;
