import type { Tool, ToolEffect } from "./tool.ts";
import { baseTools } from "./tools/base.ts";
import { evalTool } from "./tools/eval.ts";
import { tsTools } from "./ts/index.ts";

/** Effects a Lab may use: everything but self-modification (Labs cannot spawn, verify or promote). */
export const LAB_EFFECTS: readonly ToolEffect[] = ["read", "edit", "exec"];

/**
 * The tools a Lab agent gets: base file/shell tools, the structural TypeScript tools and eval. `ts`
 * stands in for the in-process ts tools (the Lab passes their worker-thread twins, src/agent/ts/worker/).
 */
export function labTools(options: { readonly ts?: readonly Tool[] } = {}): Tool[] {
  const tools = options.ts ? [...baseTools, ...options.ts, evalTool] : allTools();
  return tools.filter((t) => LAB_EFFECTS.includes(t.effect)) as Tool[];
}

/** Every tool this build of Loom has, for `loom tool` and docs. */
export function allTools(): Tool[] {
  return [...baseTools, ...tsTools, evalTool] as Tool[];
}
