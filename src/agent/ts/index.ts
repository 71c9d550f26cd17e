import type { Tool, ToolContext } from "../tool.ts";
import { exclusive } from "./project-cache.ts";
import { tsAddImport } from "./tool-add-import.ts";
import { tsInsertMember } from "./tool-insert-member.ts";
import { tsRename } from "./tool-rename.ts";
import { tsReplaceBody } from "./tool-replace-body.ts";
import { TS_TOOL_TIMEOUT_MS } from "./tool-specs.ts";
import { tsRemoveDeclaration, tsReplaceDeclaration } from "./tools-declaration.ts";
import { tsOutline, tsRead } from "./tools-read.ts";

/** Structural TypeScript tools: code addressed by symbol path, every edit checked before it is written. */
export const tsTools: readonly Tool[] = (
  [
    tsOutline,
    tsRead,
    tsReplaceBody,
    tsInsertMember,
    tsReplaceDeclaration,
    tsRemoveDeclaration,
    tsAddImport,
    tsRename,
  ] as unknown as readonly Tool[]
).map((tool) => ({
  ...tool,
  timeoutMs: tool.timeoutMs ?? TS_TOOL_TIMEOUT_MS,
  // One call at a time per workspace: the Project is shared state.
  run: (input: unknown, ctx: ToolContext) => exclusive(ctx.workspace, () => tool.run(input, ctx)),
}));

export { disposeProjects, getProject } from "./project-cache.ts";
export { unifiedDiff } from "./unified-diff.ts";
