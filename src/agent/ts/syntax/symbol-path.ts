import { realpathSync, statSync } from "node:fs";
import path from "node:path";
import { Node, type SourceFile } from "ts-morph";
import { editDistance } from "../../../shared/edit-distance.ts";
import { ToolError } from "../../tool.ts";
import { isUnderSchemas } from "../../tools/paths.ts";
import { recordWritten, type WorkspaceProject } from "../project/project-cache.ts";
import { collectDeclarations, type Decl, findDeclarations } from "./declarations.ts";

/**
 * Symbol paths: `path/to/file.ts#name`, `#Class.member`, `#Namespace.fn`, `#default`, `#config.load`.
 * Code is addressed by name, never by line number: names survive edits, line numbers do not.
 */

export interface ParsedPath {
  /** Absolute file or folder path inside the workspace. */
  readonly file: string;
  /** Workspace-relative, posix separators: how paths are shown to the model. */
  readonly rel: string;
  /** Symbol path after `#`, or undefined when the input names a whole file. */
  readonly symbol: string | undefined;
}

export function parseSymbolPath(root: string, input: string): ParsedPath {
  const hash = input.indexOf("#");
  const filePart = (hash < 0 ? input : input.slice(0, hash)).trim();
  const symbol = hash < 0 ? undefined : input.slice(hash + 1).trim();
  if (filePart === "") {
    throw new ToolError(
      "TS_BAD_PATH",
      `path "${input}" names no file: expected "path/to/file.ts#Symbol.member"`,
    );
  }
  if (symbol !== undefined && !/^[^\s.:][^\s]*$/.test(symbol)) {
    throw new ToolError(
      "TS_BAD_PATH",
      `path "${input}" has an empty or malformed symbol after "#": expected e.g. "#parse", "#Class.method", "#config.load"`,
    );
  }
  const file = path.resolve(root, filePart);
  const rel = path.relative(root, file);
  if (rel.startsWith("..") || path.isAbsolute(rel)) {
    throw new ToolError("TS_OUTSIDE_WORKSPACE", `path "${filePart}" is outside the workspace ${root}`);
  }
  return { file, rel: rel.split(path.sep).join("/") || ".", symbol };
}

/** The `limit` candidates closest to `wanted` (case-insensitive; a shared last segment counts). */
export function nearest(wanted: string, candidates: readonly string[], limit = 5): string[] {
  // The last segment (member name, or file name without extension) counts on its own.
  const lastOf = (s: string): string =>
    s
      .replace(/\.(ts|tsx|mts|cts)$/, "")
      .split(/[./]/)
      .pop() ?? s;
  const w = wanted.toLowerCase();
  const wLast = lastOf(w);
  return [...new Set(candidates)]
    .map((c) => {
      const lc = c.toLowerCase();
      const last = lastOf(lc);
      return { c, d: Math.min(editDistance(w, lc), editDistance(wLast, last) + 1) };
    })
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, limit)
    .map((x) => x.c);
}

export function relPath(wp: WorkspaceProject, file: string): string {
  return path.relative(wp.root, file).split(path.sep).join("/");
}

const TS_FILE = /\.(ts|tsx|mts|cts)$/;

/** The source file at a path, added to the Project if it exists on disk but was not known yet. */
export function requireSourceFile(wp: WorkspaceProject, p: ParsedPath): SourceFile {
  const known = wp.project.getSourceFile(p.file);
  if (known) return known;
  let isFile = false;
  try {
    isFile = statSync(p.file).isFile();
  } catch {}
  if (isFile && TS_FILE.test(p.file)) {
    const sf = wp.project.addSourceFileAtPath(p.file);
    recordWritten(wp, p.file);
    return sf;
  }
  if (isFile) {
    throw new ToolError(
      "TS_NOT_TYPESCRIPT",
      `${p.rel} is not a TypeScript file: ts_* tools accept .ts, .tsx, .mts, .cts`,
    );
  }
  const files = [...wp.files.keys()].map((f) => relPath(wp, f));
  const near = nearest(p.rel, files);
  throw new ToolError(
    "TS_NO_FILE",
    `no TypeScript file ${p.rel} in the workspace.${near.length ? ` Nearest files: ${near.join(", ")}` : ""}`,
  );
}

export interface Resolved {
  readonly sf: SourceFile;
  readonly decls: Decl[];
  readonly decl: Decl;
  /** All declarations sharing the path (overloads, get/set pairs); `decl` is the preferred one. */
  readonly all: Decl[];
}

/**
 * Finds the declaration a symbol path names. With several (overloads, get/set), `prefer` picks one
 * (e.g. the one with a body); otherwise the first in source order.
 */
export function resolveSymbol(
  wp: WorkspaceProject,
  input: string,
  prefer?: (d: Decl) => boolean,
): Resolved & { parsed: ParsedPath } {
  const parsed = parseSymbolPath(wp.root, input);
  if (parsed.symbol === undefined) {
    throw new ToolError(
      "TS_BAD_PATH",
      `path "${input}" names a file but no symbol: append "#name", e.g. "${parsed.rel}#main" (ts_outline lists the names)`,
    );
  }
  const sf = requireSourceFile(wp, parsed);
  const decls = collectDeclarations(sf);
  // "#Class.size:set" picks the setter of a get/set pair ("#Class.size" alone prefers the getter).
  const accessor = /:(get|set)$/.exec(parsed.symbol)?.[1];
  const symbol = accessor ? parsed.symbol.slice(0, -4) : parsed.symbol;
  const all = findDeclarations(decls, defaultAlias(decls, symbol)).filter(
    (d) => !accessor || d.kind === (accessor === "get" ? "getter" : "setter"),
  );
  if (all.length === 0) {
    const near = nearest(
      parsed.symbol,
      decls.map((d) => d.path),
    );
    throw new ToolError(
      "TS_NO_SYMBOL",
      `no declaration \`${parsed.symbol}\` in ${parsed.rel}.` +
        (near.length
          ? ` Nearest names: ${near.map((n) => `#${n}`).join(", ")}`
          : " The file declares nothing addressable."),
    );
  }
  const decl = (prefer && all.find(prefer)) || all[0]!;
  return { sf, decls, decl, all, parsed };
}

/**
 * `#default` (and `#default.member`) also names `export default function main` and `export default main;`,
 * so a default export can be addressed without knowing its local name.
 */
function defaultAlias(decls: readonly Decl[], symbol: string): string {
  if (symbol !== "default" && !symbol.startsWith("default.")) return symbol;
  const rest = symbol.slice("default".length);
  const top = decls.filter((d) => d.depth === 0);
  const assignment = top.find((d) => d.kind === "default");
  if (assignment && Node.isExportAssignment(assignment.node)) {
    const expr = assignment.node.getExpression();
    if (!Node.isIdentifier(expr)) return symbol;
    return top.some((d) => d.path === expr.getText()) ? expr.getText() + rest : symbol;
  }
  const named = top.find((d) => Node.isExportable(d.node) && d.node.hasDefaultKeyword());
  return named ? named.path + rest : symbol;
}

/** Files under `schemas/` are Loom's fixed points: edited only by a person, never by the agent. */
export function assertNotSchema(wp: WorkspaceProject, file: string): void {
  const rel = relPath(wp, file);
  // As written and as resolved, in any case: a symlinked alias of schemas/, or `Schemas/` on a
  // case-insensitive file system, is the same folder.
  if (isUnderSchemas(rel) || isUnderSchemas(realRelPath(wp, file) ?? rel)) {
    throw new ToolError(
      "TS_SCHEMA_FIXED",
      `${rel} is under schemas/, Loom's fixed points (the contracts between generations): the agent may read ` +
        "them but never edit them. Change the code that uses the schema instead.",
    );
  }
}

/** The workspace-relative path of the file's real location (symlinks resolved); undefined if it is not on disk. */
function realRelPath(wp: WorkspaceProject, file: string): string | undefined {
  try {
    return path.relative(realpathSync(wp.root), realpathSync(file)).split(path.sep).join("/");
  } catch {
    return undefined;
  }
}
