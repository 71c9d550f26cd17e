import { promises as fs } from "node:fs";
import path from "node:path";
import { ToolError } from "../tool.ts";

/**
 * Confines file tools to the workspace. Paths are workspace-relative (absolute paths inside the workspace
 * are accepted too); `../` escapes and symlinks resolving outside are refused. The symlink check uses the
 * realpath of the nearest existing ancestor, so creating a new file through a symlinked directory that
 * points outside is caught as well.
 */

export const SCHEMAS_REFUSAL =
  "schemas/ holds Loom's fixed-point protocol schemas and cannot be changed by the agent";

export interface WorkspacePath {
  /** Real absolute path to operate on (symlinks inside the workspace resolved). */
  readonly absolute: string;
  /** Workspace-relative path with forward slashes, for messages. */
  readonly relative: string;
}

export async function resolveInWorkspace(
  workspace: string,
  input: string,
  access: "read" | "write",
): Promise<WorkspacePath> {
  if (input.trim() === "")
    throw new ToolError("PATH_INVALID", "path is empty; give a path relative to the workspace");
  if (input.includes("\0"))
    throw new ToolError("PATH_INVALID", `path ${JSON.stringify(input)} contains a NUL byte`);
  const root = path.resolve(workspace);
  const realRoot = await fs.realpath(root).catch(() => {
    throw new ToolError("WORKSPACE_MISSING", `the workspace ${root} does not exist`);
  });
  const lexical = path.resolve(root, input);
  // An absolute path may name the workspace through its real path (e.g. /private/tmp vs /tmp).
  const rel = inside(root, lexical) ?? inside(realRoot, lexical);
  if (rel === undefined) {
    throw new ToolError(
      "PATH_OUTSIDE_WORKSPACE",
      `path ${input} is outside the workspace; use a path relative to the workspace root (${root})`,
    );
  }
  const real = await realpathOfNearest(path.join(realRoot, rel), input);
  const realRel = inside(realRoot, real);
  if (realRel === undefined) {
    throw new ToolError(
      "PATH_OUTSIDE_WORKSPACE",
      `path ${input} goes through a symlink that resolves outside the workspace (to ${real}); only files inside the workspace can be used`,
    );
  }
  const relative = realRel.split(path.sep).join("/");
  if (access === "write" && (isUnderSchemas(relative) || isUnderSchemas(rel.split(path.sep).join("/")))) {
    throw new ToolError("PATH_PROTECTED", `${input}: ${SCHEMAS_REFUSAL}`);
  }
  return { absolute: real, relative: relative === "" ? "." : relative };
}

/** The relative path of `target` under `root`, or undefined if it is not inside. */
function inside(root: string, target: string): string | undefined {
  const rel = path.relative(root, target);
  if (rel === "") return "";
  if (rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
  return rel;
}

/** Case-insensitive: on a case-insensitive file system (macOS, Windows) `Schemas/x.ts` is `schemas/x.ts`. */
export function isUnderSchemas(relative: string): boolean {
  const lower = relative.toLowerCase();
  return lower === "schemas" || lower.startsWith("schemas/");
}

/** Real path of `target`: realpath of its nearest existing ancestor plus the not-yet-existing rest. */
async function realpathOfNearest(target: string, input: string): Promise<string> {
  const rest: string[] = [];
  let current = target;
  for (;;) {
    try {
      const real = await fs.realpath(current);
      return path.join(real, ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR") {
        throw new ToolError(
          "PATH_NOT_DIRECTORY",
          `path ${input} goes through a file as if it were a directory`,
        );
      }
      if (code !== "ENOENT") throw err;
      // A dangling symlink could point anywhere, including outside: writing through it would escape.
      const link = await fs.lstat(current).catch(() => undefined);
      if (link?.isSymbolicLink()) {
        throw new ToolError(
          "PATH_DANGLING_SYMLINK",
          `path ${input} goes through a symlink whose target does not exist (${current}); use a real path`,
        );
      }
      const parent = path.dirname(current);
      if (parent === current) return target;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}
