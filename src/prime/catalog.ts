import type { Tool, ToolEffect } from "../agent/tool.ts";
import { filterByEffect } from "../agent/tool-registry.ts";
import { readFileTool } from "../agent/tools/read-file.ts";
import { tsTools } from "../agent/ts/index.ts";
import type { PrimeToolDeps } from "./ports.ts";
import { analyzeTool } from "./tools/analyze.ts";
import { asToolError } from "./tools/describe.ts";
import { promoteGenerationTool } from "./tools/promote-generation.ts";
import { reflectAndProposeTool } from "./tools/reflect-and-propose.ts";
import { rollbackGenerationTool } from "./tools/rollback-generation.ts";
import { runAutonomousLoopTool } from "./tools/run-autonomous-loop.ts";
import { spawnLabTool } from "./tools/spawn-lab.ts";
import { verifyGenerationTool } from "./tools/verify-generation.ts";

/**
 * Effects Prime may use: it looks at the repository and drives generations, but never edits files or
 * runs commands itself; changes reach main only through a verified Lab generation.
 */
export const PRIME_EFFECTS: readonly ToolEffect[] = ["read", "self-modify"];

/** The self-modify tools, bound to the Supervisor client and Prime's thinking functions. */
export function selfModifyTools(deps: PrimeToolDeps): Tool[] {
  const tools = [
    spawnLabTool(deps),
    verifyGenerationTool(deps),
    promoteGenerationTool(deps),
    rollbackGenerationTool(deps),
    reflectAndProposeTool(deps),
    runAutonomousLoopTool(deps),
  ] as unknown as Tool[];
  // A Supervisor refusal reaches the model as its code and message, which say what to do instead.
  return tools.map((tool) => ({ ...tool, run: (input, ctx) => tool.run(input, ctx).catch(asToolError) }));
}

/** Prime's catalog: read tools on the repository (read_file, ts_* readers, analyze) plus self-modify. */
export function primeTools(deps: PrimeToolDeps): Tool[] {
  const candidates = [readFileTool, ...tsTools, analyzeTool, ...selfModifyTools(deps)] as Tool[];
  return filterByEffect(candidates, PRIME_EFFECTS);
}
