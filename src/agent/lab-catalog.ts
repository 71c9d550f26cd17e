import type { Tool, ToolEffect } from "./tool.ts";
import { toolsFor } from "./tool-manifest.ts";
import { offeredTo } from "./tool-policy.ts";

/** Effects a Lab may use: everything but self-modification (Labs cannot spawn, verify or promote). */
export const LAB_EFFECTS: readonly ToolEffect[] = ["read", "edit", "exec"];

/** The Lab's catalog: the manifest's tools offered to the Lab whose effect a Lab may use. */
export function labCatalog(manifest?: readonly Tool[]): Tool[] {
  return toolsFor("lab", manifest).filter((tool) => LAB_EFFECTS.includes(tool.effect));
}

/**
 * The Lab's catalog with the worker-hosted tools (ts_*) replaced by `hosted`, their twins in the
 * TypeScript worker thread (src/agent/ts/worker/), filtered the same way. Imports no ts-morph, so the
 * Lab's main thread never loads it.
 */
export function labToolsAround(hosted: readonly Tool[], manifest?: readonly Tool[]): Tool[] {
  const here = toolsFor("lab", manifest).filter((tool) => !offeredTo(tool, "worker"));
  return labCatalog([...here, ...hosted]);
}
