import { LAB_EFFECTS, labCatalog, labToolsAround } from "./lab-catalog.ts";
import type { Tool } from "./tool.ts";
import { toolManifest } from "./tool-manifest.ts";

export { LAB_EFFECTS };

/**
 * The tools a Lab agent gets (the manifest filtered to the Lab). `ts` stands in for the structural
 * TypeScript tools (the Lab passes their worker-thread twins, src/agent/ts/worker/); without it they run
 * in this thread, ts-morph loaded on their first call.
 */
export function labTools(options: { readonly ts?: readonly Tool[] } = {}): Tool[] {
  return options.ts ? labToolsAround(options.ts) : labCatalog();
}

/** Every agent tool this build has (the whole manifest), for `loom tool` and docs. */
export function allTools(): Tool[] {
  return [...toolManifest];
}
