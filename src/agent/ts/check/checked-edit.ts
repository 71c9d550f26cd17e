import type { SourceFile } from "ts-morph";
import { ToolError, type ToolResult } from "../../tool.ts";
import { declaredNames, directImporters, onlyReexports } from "../project/importers.ts";
import { bump, recordWritten, type WorkspaceProject } from "../project/project-cache.ts";
import { type WriteIo, writeFilesAtomically } from "../project/write-files.ts";
import { assertNotSchema, relPath } from "../syntax/symbol-path.ts";
import { setFileText } from "../syntax/text-edit.ts";
import { unifiedDiff } from "../syntax/unified-diff.ts";
import { checkProgram } from "./check-program.ts";
import {
  describeSyntaxError,
  exportShape,
  filesDiagnostics,
  forget,
  formatDiagnostic,
  type LocatedDiagnostic,
  newDiagnostics,
  syntaxErrors,
} from "./diagnostics.ts";

/**
 * Every ts_* edit runs through here: apply in memory, refuse syntax errors (all files restored
 * byte-for-byte), compare type diagnostics of the touched files and their direct importers before and
 * after, write the changed files all-or-nothing, and answer with a unified diff plus only the NEW
 * diagnostics, each placed in its enclosing declaration.
 */

export interface CheckedEdit {
  /** Files the edit is expected to change; their diagnostics (and their importers') are the "before". */
  readonly planned: readonly SourceFile[];
  /** Mutates the in-memory Project. May throw a ToolError; the Project is then restored. */
  readonly apply: () => void;
  /** Runs after the syntax check; throws (a ToolError) to refuse an edit that parses but is wrong. */
  readonly verify?: () => void;
  /** First line of the answer, e.g. "replaced the body of function `parse` in src/x.ts". */
  readonly summary: string;
  /** Extra structured data for people (merged into details). */
  readonly details?: Record<string, unknown>;
  /**
   * Which files' diagnostics are compared. "shape" (default): the edited files, plus their direct
   * importers when an exported (.d.ts) shape moved. "touched": only the edited files (a rename of a
   * top-level name cannot change files that do not mention it). "importers": edited files and importers.
   */
  readonly scope?: "shape" | "touched" | "importers";
  /**
   * The edit cannot change what other files see (e.g. a new body for a callable whose return type is
   * declared), so the exported shape is not computed: only the edited files are re-checked.
   */
  readonly shapeKept?: boolean;
  /**
   * The edit changes the exported shape (e.g. a new member of a class): the importers are re-checked
   * without first emitting declarations to find out. Safe when wrong, only slower.
   */
  readonly shapeMoves?: boolean;
  /** With scope "touched": check only these of the touched files (default: all of them). */
  readonly checkOnly?: readonly SourceFile[];
  /** A rename moves pre-existing diagnostics to the new name; they are matched under it, not reported. */
  readonly renamed?: { readonly from: string; readonly to: string };
  /** The call's abort signal: an edit cancelled (or timed out) before writing leaves every file as it was. */
  readonly signal?: AbortSignal;
  /** Injected by tests to make a write fail. */
  readonly io?: WriteIo;
}

export interface EditDetails {
  readonly files: string[];
  readonly diff: string;
  readonly newDiagnostics: LocatedDiagnostic[];
}

function restore(snapshot: Map<SourceFile, string>, changed: readonly SourceFile[]): void {
  for (const sf of changed) {
    const before = snapshot.get(sf)!;
    if (sf.wasForgotten() || sf.getFullText() !== before) setFileText(sf, before);
  }
}

function diagnosticsOf(wp: WorkspaceProject, files: Iterable<SourceFile>): LocatedDiagnostic[] {
  return filesDiagnostics(wp, files);
}

function renameKeys(
  list: readonly LocatedDiagnostic[],
  r: { from: string; to: string },
): LocatedDiagnostic[] {
  const word = new RegExp(`\\b${r.from.replace(/[$]/g, "\\$")}\\b`, "g");
  return list.map((d) => ({ ...d, key: d.key.replace(word, r.to) }));
}

export async function checkedEdit(wp: WorkspaceProject, edit: CheckedEdit): Promise<ToolResult> {
  for (const sf of edit.planned) assertNotSchema(wp, sf.getFilePath());
  const sources = wp.project.getSourceFiles().filter((sf) => wp.files.has(sf.getFilePath()));
  const snapshot = new Map(sources.map((sf) => [sf, sf.getFullText()] as const));

  const scope = edit.scope ?? "shape";
  // A kept shape means importers cannot change: their diagnostics are never compared.
  const beforeSet = new Set(
    scope === "touched"
      ? (edit.checkOnly ?? edit.planned)
      : scope === "shape" && edit.shapeKept
        ? edit.planned
        : [...edit.planned, ...directImporters(wp, edit.planned)],
  );
  const before = diagnosticsOf(wp, beforeSet);
  const compareShapes = scope === "shape" && !edit.shapeKept && !edit.shapeMoves;
  const beforeShapes = new Map(
    compareShapes ? edit.planned.map((sf) => [sf, exportShape(wp, sf)] as const) : [],
  );

  const beforeNames = new Map(
    scope === "shape" ? edit.planned.map((sf) => [sf, declaredNames(sf.compilerNode)] as const) : [],
  );

  const changedFiles = (): SourceFile[] => sources.filter((sf) => sf.getFullText() !== snapshot.get(sf));
  try {
    edit.apply();
  } catch (err) {
    restore(snapshot, sources);
    if (err instanceof ToolError) throw err;
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ToolError("TS_EDIT_FAILED", `the edit could not be applied (${why}); no file was changed`);
  }
  const changed = changedFiles();
  if (changed.length === 0) {
    return {
      content: `no change: ${edit.summary} leaves every file as it was`,
      details: { files: [], diff: "" },
    };
  }
  for (const sf of changed) {
    try {
      assertNotSchema(wp, sf.getFilePath());
    } catch (err) {
      restore(snapshot, changed);
      throw err;
    }
  }
  for (const sf of changed) {
    const errors = syntaxErrors(sf);
    if (errors.length > 0) {
      const message = describeSyntaxError(wp, sf, errors[0]!);
      restore(snapshot, changed);
      throw new ToolError(
        "TS_SYNTAX_ERROR",
        `edit refused, no file was changed: ${message}${errors.length > 1 ? `\n(${errors.length - 1} more syntax errors)` : ""}`,
      );
    }
  }

  if (edit.verify) {
    try {
      edit.verify();
    } catch (err) {
      restore(snapshot, changed);
      throw err;
    }
  }

  if (edit.signal?.aborted) {
    restore(snapshot, changed);
    throw new ToolError("TS_CANCELLED", "the edit was cancelled before it was written; no file was changed");
  }
  const writes = changed.map((sf) => ({
    file: sf.getFilePath(),
    before: snapshot.get(sf)!,
    after: sf.getFullText(),
  }));
  // Started now, awaited after the type check: the check reads only memory, so the disk's fsyncs run
  // alongside it instead of before it.
  const written = writeFilesAtomically(writes, edit.io).then(
    () => null,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  let added: LocatedDiagnostic[];
  try {
    added = checkWritten();
  } finally {
    const failed = await written;
    if (failed) {
      restore(snapshot, changed);
      // Whatever was cached since the edit describes text that is neither on disk nor in memory now.
      forget(wp, changed);
      bump(wp);
      // biome-ignore lint/correctness/noUnsafeFinally: a failed write is the answer, whatever the check did
      throw new ToolError("TS_WRITE_FAILED", failed.message);
    }
  }
  for (const w of writes) recordWritten(wp, w.file);

  function checkWritten(): LocatedDiagnostic[] {
    // Only the edited files changed. When no exported shape moved, no other file can see a difference and
    // every other cached result stays valid; otherwise (or for a rename) all caches are stale.
    forget(wp, changed);
    // A file that only re-exports sees the names and kinds of what it re-exports, not their shapes: while
    // those stay as they were, it cannot change and is not re-checked (an index of 20 modules costs more
    // to check than everything else together).
    const namesKept =
      scope === "shape" && changed.every((sf) => beforeNames.get(sf) === declaredNames(sf.compilerNode));
    const importers = scope === "touched" ? [] : directImporters(wp, changed);
    const skipped = new Set(namesKept ? importers.filter(onlyReexports) : []);
    const rechecked = importers.filter((sf) => !skipped.has(sf));
    if (compareShapes || edit.shapeMoves) {
      // One program for the new shapes and, should they have moved, the importers' diagnostics too.
      checkProgram(wp, [...changed, ...rechecked]);
    }
    const shapeMoved =
      scope !== "shape" ||
      edit.shapeMoves === true ||
      (compareShapes && changed.some((sf) => beforeShapes.get(sf) !== exportShape(wp, sf)));
    if (shapeMoved) {
      // Results that still describe the current text are kept across the generation bump: the shapes
      // just computed, and the diagnostics of the re-exporting files left out.
      const current = <T>(cache: Map<string, { generation: number } & T>, files: readonly SourceFile[]) =>
        files.flatMap((sf) => {
          const entry = cache.get(sf.getFilePath());
          return entry && entry.generation === wp.generation ? [[sf.getFilePath(), entry] as const] : [];
        });
      const shapes = current(wp.shapeCache, changed);
      const diagnostics = current(wp.diagnosticsCache, [...skipped]);
      bump(wp);
      for (const [file, e] of shapes) wp.shapeCache.set(file, { ...e, generation: wp.generation });
      for (const [file, e] of diagnostics) wp.diagnosticsCache.set(file, { ...e, generation: wp.generation });
    }
    const afterSet =
      scope === "touched"
        ? new Set(edit.checkOnly ?? changed)
        : shapeMoved
          ? new Set([...beforeSet, ...changed, ...rechecked].filter((sf) => !skipped.has(sf)))
          : new Set(changed);
    return newDiagnostics(
      edit.renamed ? renameKeys(before, edit.renamed) : before,
      diagnosticsOf(wp, afterSet),
    );
  }

  const diff = writes.map((w) => unifiedDiff(w.before, w.after, relPath(wp, w.file))).join("");
  const files = writes.map((w) => relPath(wp, w.file));
  const lines = [
    `${edit.summary} (${files.length} file${files.length === 1 ? "" : "s"} written)`,
    diff.trimEnd(),
  ];
  if (added.length > 0) {
    lines.push(`${added.length} new type error${added.length === 1 ? "" : "s"} (the edit was applied):`);
    for (const d of added) lines.push(`  ${formatDiagnostic(d)}`);
  } else {
    lines.push("no new type errors in the edited files or their importers");
  }
  const details: EditDetails & Record<string, unknown> = {
    ...edit.details,
    files,
    diff,
    newDiagnostics: added,
  };
  return { content: lines.join("\n"), details };
}
