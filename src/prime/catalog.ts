import { type Tool, type ToolEffect, type ToolProperties, withProperties } from "../agent/tool.ts";
import { toolManifest, toolsFor } from "../agent/tool-manifest.ts";
import { filterByEffect } from "../agent/tool-registry.ts";
import type { PrimeToolDeps } from "./ports.ts";
import { analyzeTool } from "./tools/analyze.ts";
import { supervisorRefusal } from "./tools/describe.ts";
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

/** Prime's only; a Supervisor refusal reaches the model as its code and message, which say what to do instead. */
const SELF_MODIFY: ToolProperties = { roles: ["prime"], shapeError: supervisorRefusal };

/** The self-modify tools, bound to the Supervisor client and Prime's thinking functions. */
export function selfModifyTools(deps: PrimeToolDeps): Tool[] {
  return [
    withProperties(spawnLabTool(deps), SELF_MODIFY),
    withProperties(verifyGenerationTool(deps), SELF_MODIFY),
    withProperties(promoteGenerationTool(deps), SELF_MODIFY),
    withProperties(rollbackGenerationTool(deps), SELF_MODIFY),
    withProperties(reflectAndProposeTool(deps), SELF_MODIFY),
    withProperties(runAutonomousLoopTool(deps), SELF_MODIFY),
  ];
}

/**
 * The tool manifest as Prime's process has it: the agent tools (src/agent/tool-manifest.ts) plus
 * Prime's own, which live here so that no Lab code can reach them.
 */
export function primeManifest(deps: PrimeToolDeps): Tool[] {
  return [...toolManifest, analyzeTool, ...selfModifyTools(deps)];
}

/** Prime's catalog: the manifest's tools offered to Prime (read_file, ts_* readers, analyze, self-modify). */
export function primeTools(deps: PrimeToolDeps, manifest: readonly Tool[] = primeManifest(deps)): Tool[] {
  return filterByEffect(toolsFor("prime", manifest), PRIME_EFFECTS);
}
