import type { Tool, ToolEffect } from "./tool.ts";
import { baseTools } from "./tools/base.ts";
import { evalTool } from "./tools/eval.ts";

/** Effects a Lab may use: everything but self-modification (Labs cannot spawn, verify or promote). */
export const LAB_EFFECTS: readonly ToolEffect[] = ["read", "edit", "exec"];

/**
 * A Lab's tools around the structural TypeScript tools it is given: base file/shell tools, `ts`, eval,
 * filtered to LAB_EFFECTS. Imports no ts-morph, so the Lab's main thread, whose ts_* tools are
 * worker-thread twins (src/agent/ts/worker/), never loads it.
 */
export function labToolsAround(ts: readonly Tool[]): Tool[] {
  return [...baseTools, ...ts, evalTool].filter((t) => LAB_EFFECTS.includes(t.effect)) as Tool[];
}
