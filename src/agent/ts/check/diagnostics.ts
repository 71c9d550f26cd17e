import { type SourceFile, ts } from "ts-morph";
import type { WorkspaceProject } from "../project/project-cache.ts";
import {
  collectDeclarations,
  type Decl,
  describeDecl,
  enclosingDeclaration,
} from "../syntax/declarations.ts";
import { relPath } from "../syntax/symbol-path.ts";
import { checkProgram } from "./check-program.ts";

/**
 * Diagnostics in words: each one is placed in its enclosing declaration, and identified by
 * file + code + message + declaration (not line), so before/after sets compare across shifted lines.
 */

export interface LocatedDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly code: number;
  readonly message: string;
  /** "function `parse`", or "top level". */
  readonly where: string;
  readonly key: string;
}

function locate(
  wp: WorkspaceProject,
  sf: SourceFile,
  decls: readonly Decl[],
  d: Pick<ts.Diagnostic, "start" | "code" | "messageText">,
): LocatedDiagnostic {
  const start = d.start ?? 0;
  const decl = enclosingDeclaration(decls, start);
  const where = decl ? describeDecl(decl) : "top level";
  const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  const file = relPath(wp, sf.getFilePath());
  return {
    file,
    line: sf.getLineAndColumnAtPos(Math.min(start, sf.getEnd())).line,
    code: d.code,
    message,
    where,
    key: `${file}\u0000${d.code}\u0000${where}\u0000${message}`,
  };
}

/** Syntax errors of a file as parsed (no type checker, no program). */
export function syntaxErrors(sf: SourceFile): readonly ts.Diagnostic[] {
  // parseDiagnostics is the parser's own list; the program API would build a whole new program for it.
  const parsed = (sf.compilerNode as unknown as { parseDiagnostics?: readonly ts.Diagnostic[] })
    .parseDiagnostics;
  if (Array.isArray(parsed)) return parsed;
  return sf.getProject().getProgram().compilerObject.getSyntacticDiagnostics(sf.compilerNode);
}

/** "syntax error in function `parse` (src/x.ts:12): ';' expected" plus the offending lines. */
export function describeSyntaxError(wp: WorkspaceProject, sf: SourceFile, d: ts.Diagnostic): string {
  const loc = locate(wp, sf, collectDeclarations(sf), d);
  const lines = sf.getFullText().split("\n");
  const from = Math.max(1, loc.line - 2);
  const to = Math.min(lines.length, loc.line + 1);
  const shown: string[] = [];
  for (let n = from; n <= to; n++) shown.push(`${n === loc.line ? ">" : " "} ${lines[n - 1]}`);
  return `syntax error in ${loc.where} (${loc.file}:${loc.line}): ${loc.message}\n${shown.join("\n")}`;
}

/**
 * Syntactic + semantic diagnostics of files, located; each cached for the current project generation.
 * The files still uncached are checked together in one program holding just what they can see.
 */
export function filesDiagnostics(wp: WorkspaceProject, files: Iterable<SourceFile>): LocatedDiagnostic[] {
  const all = [...new Set(files)];
  const stale = all.filter((sf) => wp.diagnosticsCache.get(sf.getFilePath())?.generation !== wp.generation);
  if (stale.length > 0) {
    const program = checkProgram(wp, stale);
    for (const sf of stale) {
      const file = sf.getFilePath();
      const node = program.getSourceFile(file);
      const raw = node
        ? [...program.getSyntacticDiagnostics(node), ...program.getSemanticDiagnostics(node)]
        : [];
      const decls = raw.length ? collectDeclarations(sf) : [];
      const list = raw.map((d) => locate(wp, sf, decls, d));
      wp.diagnosticsCache.set(file, { generation: wp.generation, list });
    }
  }
  return all.flatMap((sf) => wp.diagnosticsCache.get(sf.getFilePath())!.list);
}

/** Syntactic + semantic diagnostics of one file, located; cached for the current project generation. */
export function fileDiagnostics(wp: WorkspaceProject, sf: SourceFile): LocatedDiagnostic[] {
  return filesDiagnostics(wp, [sf]);
}

/**
 * The file's exported shape: its declaration (.d.ts) text. When an edit leaves it unchanged, no other
 * file can see a difference, so importers need no re-check (the same test tsc's builder uses).
 */
export function exportShape(wp: WorkspaceProject, sf: SourceFile): string {
  const file = sf.getFilePath();
  const cached = wp.shapeCache.get(file);
  if (cached && cached.generation === wp.generation) return cached.shape;
  const program = checkProgram(wp, [sf]);
  const node = program.getSourceFile(file);
  let shape = "";
  // The 6th argument (forceDtsEmit) is internal: it emits declarations even under noEmit, as the builder does.
  const emit = program.emit as unknown as (...args: unknown[]) => ts.EmitResult;
  if (node) {
    emit.call(
      program,
      node,
      (_name: string, text: string) => {
        shape += text;
      },
      undefined,
      true,
      undefined,
      true,
    );
  }
  wp.shapeCache.set(file, { generation: wp.generation, shape });
  return shape;
}

/** Forgets cached results of files whose text changed (others stay valid when no shape moved). */
export function forget(wp: WorkspaceProject, files: readonly SourceFile[]): void {
  for (const sf of files) {
    wp.diagnosticsCache.delete(sf.getFilePath());
    wp.shapeCache.delete(sf.getFilePath());
  }
}

/** Diagnostics in `after` beyond those in `before`, matched as multisets of keys. */
export function newDiagnostics(
  before: readonly LocatedDiagnostic[],
  after: readonly LocatedDiagnostic[],
): LocatedDiagnostic[] {
  const counts = new Map<string, number>();
  for (const d of before) counts.set(d.key, (counts.get(d.key) ?? 0) + 1);
  const out: LocatedDiagnostic[] = [];
  for (const d of after) {
    const n = counts.get(d.key) ?? 0;
    if (n > 0) counts.set(d.key, n - 1);
    else out.push(d);
  }
  return out;
}

export function formatDiagnostic(d: LocatedDiagnostic): string {
  return `${d.file}:${d.line} in ${d.where}: TS${d.code} ${d.message}`;
}
