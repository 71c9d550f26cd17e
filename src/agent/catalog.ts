import { LAB_EFFECTS, labToolsAround } from "./lab-catalog.ts";
import type { Tool } from "./tool.ts";
import { baseTools } from "./tools/base.ts";
import { evalTool } from "./tools/eval.ts";
import { tsTools } from "./ts/index.ts";

export { LAB_EFFECTS };

/**
 * The tools a Lab agent gets: base file/shell tools, the structural TypeScript tools and eval. `ts`
 * stands in for the in-process ts tools (the Lab passes their worker-thread twins, src/agent/ts/worker/).
 */
export function labTools(options: { readonly ts?: readonly Tool[] } = {}): Tool[] {
  return labToolsAround(options.ts ?? tsTools);
}

/** Every tool this build of Loom has, for `loom tool` and docs. */
export function allTools(): Tool[] {
  return [...baseTools, ...tsTools, evalTool] as Tool[];
}
