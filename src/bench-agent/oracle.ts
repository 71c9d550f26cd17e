import { z } from "zod";
import { LoomError } from "../shared/errors.ts";
import type { ScriptTurnInput } from "../shared/scripted-model/script.ts";
import type { Task } from "./tasks.ts";

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

/**
 * A line that marks one task's program.md, and so every request of its Lab (the program is the first
 * user message, which context trimming keeps). Bracketed so no task's marker contains another's
 * (`mime-path` and `mime-path-without-extension`).
 */
export const taskMarker = (name: string): string => `[loom bench task: ${name}]`;

/**
 * The task's oracle as scripted-model turns for its Lab alone: each step one tool call, in order, then
 * the summary as the final text. Every turn matches only requests whose user text carries `marker`,
 * so one server can play every task's oracle to Labs running side by side: the server plays the first
 * unplayed turn that matches, which is this task's next step. A step that fails (a broken tool) does
 * not stop the script: the oracle plays on, and the hidden tests decide.
 */
export function oracleScript(task: Pick<Task, "name" | "oracle">, marker: string): ScriptTurnInput[] {
  if (!task.oracle) {
    throw new LoomError(
      "ORACLE_MISSING",
      `task ${task.name} has no oracle.json; a scripted run needs the known fix`,
    );
  }
  if (marker.trim() === "") {
    throw new LoomError(
      "ORACLE_MARKER",
      `task ${task.name}: the marker must be non-empty text of its program.md`,
    );
  }
  const when = { anyUserTextIncludes: marker };
  return [
    ...task.oracle.steps.map((step) => ({ when, tool: step.tool, input: step.input })),
    { when, text: task.oracle.summary },
  ];
}
