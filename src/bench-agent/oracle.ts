import { z } from "zod";

/**
 * tasks/<name>/oracle.json: the task's known fix as Lab tool calls, played by a scripted model to
 * check the task and the harness end to end. Never shown to the agent.
 */
export const Oracle = z.strictObject({
  steps: z
    .array(
      z.strictObject({
        /** A Lab tool's name: read_file, edit_file, write_file, bash, ts_*. */
        tool: z.string().min(1),
        input: z.record(z.string(), z.unknown()),
      }),
    )
    .min(1),
  /** What the agent says when it is done. */
  summary: z.string().trim().min(1),
});
export type Oracle = z.infer<typeof Oracle>;
