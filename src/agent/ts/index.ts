import type { Tool, ToolContext } from "../tool.ts";
import { exclusive } from "./project-cache.ts";
import { tsAddImport } from "./tool-add-import.ts";
import { tsInsertMember } from "./tool-insert-member.ts";
import { tsRename } from "./tool-rename.ts";
import { tsReplaceBody } from "./tool-replace-body.ts";
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
  // The first call on a workspace loads its whole Project (seconds on a big one).
  timeoutMs: tool.timeoutMs ?? 60_000,
  // One call at a time per workspace: the Project is shared state.
  run: (input: unknown, ctx: ToolContext) => exclusive(ctx.workspace, () => tool.run(input, ctx)),
}));

export { disposeProjects, getProject } from "./project-cache.ts";
export { unifiedDiff } from "./unified-diff.ts";
