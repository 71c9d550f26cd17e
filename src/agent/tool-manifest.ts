import { lazyTool, runOf, type Tool, type ToolRole } from "./tool.ts";
import { offeredTo } from "./tool-policy.ts";
import { baseTools } from "./tools/base.ts";
import { evalSpec } from "./tools/eval-spec.ts";
import { tsToolSpecs } from "./ts/tools/tool-specs.ts";

/** eval: the Lab's probe; its engine (esbuild, the evaluator process) loads on the first call. */
export const evalEntry = lazyTool({
  ...evalSpec,
  roles: ["lab"],
  load: () => import("./tools/eval.ts").then((m) => runOf(m.evalTool)),
});

/**
 * Every agent tool of this build, listed once: its spec, its declared properties (effect, roles,
 * confinement, exclusivity) and its code, loaded lazily where that is heavy. The Lab's catalog, the
 * TypeScript worker's and `loom tool`'s are filters of it; Prime's adds its own self-modify tools
 * (src/prime/catalog.ts), which a Lab's code must never import.
 */
export const toolManifest: readonly Tool[] = [...baseTools, ...tsToolSpecs, evalEntry];

/** The tools of `manifest` offered to `role`, in manifest order. */
export function toolsFor(role: ToolRole, manifest: readonly Tool[] = toolManifest): Tool[] {
  return manifest.filter((tool) => offeredTo(tool, role));
}
