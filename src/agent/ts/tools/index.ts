import type { Tool, ToolRun } from "../../tool.ts";
import { exclusive } from "../project/project-cache.ts";

/**
 * The structural TypeScript tools' code, loaded in this thread (ts-morph with it): what their manifest
 * entries (tool-specs.ts) load on a first call, in-process or in the TypeScript worker thread.
 */
export { tsAddImport } from "./add-import.ts";
export { tsRemoveDeclaration, tsReplaceDeclaration } from "./declaration.ts";
export { tsInsertMember } from "./insert-member.ts";
export { tsOutline, tsRead } from "./read.ts";
export { tsRename } from "./rename.ts";
export { tsReplaceBody } from "./replace-body.ts";
export { tsToolSpecs as tsTools } from "./tool-specs.ts";

/**
 * A tool's code as run in this thread: calls on one workspace take turns in the Project cache's own
 * queue, which also orders the worker thread's warm-ups, and holds for callers that bypass the registry.
 */
export function inProcess<I>(tool: Tool<I>): ToolRun<I> {
  return (input, ctx) => exclusive(ctx.workspace, () => tool.run(input, ctx));
}

export { disposeProjects, getProject } from "../project/project-cache.ts";
export { unifiedDiff } from "../syntax/unified-diff.ts";
