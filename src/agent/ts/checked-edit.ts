import type { SourceFile } from "ts-morph";
import { ToolError, type ToolResult } from "../tool.ts";
import {
  describeSyntaxError,
  exportShape,
  fileDiagnostics,
  forget,
  formatDiagnostic,
  type LocatedDiagnostic,
  newDiagnostics,
  syntaxErrors,
} from "./diagnostics.ts";
import { directImporters } from "./importers.ts";
import { bump, recordWritten, type WorkspaceProject } from "./project-cache.ts";
import { assertNotSchema, relPath } from "./symbol-path.ts";
import { setFileText } from "./text-edit.ts";
import { unifiedDiff } from "./unified-diff.ts";
import { type WriteIo, writeFilesAtomically } from "./write-files.ts";

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
  const out: LocatedDiagnostic[] = [];
  for (const sf of files) out.push(...fileDiagnostics(wp, sf));
  return out;
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
  const beforeSet = new Set(
    scope === "touched"
      ? (edit.checkOnly ?? edit.planned)
      : [...edit.planned, ...directImporters(wp, edit.planned)],
  );
  const before = diagnosticsOf(wp, beforeSet);
  const beforeShapes = new Map(
    scope === "shape" ? edit.planned.map((sf) => [sf, exportShape(wp, sf)] as const) : [],
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
  try {
    await writeFilesAtomically(writes, edit.io);
  } catch (err) {
    restore(snapshot, changed);
    throw new ToolError("TS_WRITE_FAILED", (err as Error).message);
  }
  for (const w of writes) recordWritten(wp, w.file);

  // Only the edited files changed. When no exported shape moved, no other file can see a difference and
  // every other cached result stays valid; otherwise (or for a rename) all caches are stale.
  forget(wp, changed);
  const shapeMoved = scope !== "shape" || changed.some((sf) => beforeShapes.get(sf) !== exportShape(wp, sf));
  if (shapeMoved) {
    // The shapes just computed describe the current text: keep them across the generation bump.
    const fresh = changed.flatMap((sf) => {
      const entry = wp.shapeCache.get(sf.getFilePath());
      return entry && entry.generation === wp.generation ? [[sf.getFilePath(), entry.shape] as const] : [];
    });
    bump(wp);
    for (const [file, shape] of fresh) wp.shapeCache.set(file, { generation: wp.generation, shape });
  }
  const afterSet =
    scope === "touched"
      ? new Set(edit.checkOnly ?? changed)
      : shapeMoved
        ? new Set([...beforeSet, ...changed, ...directImporters(wp, changed)])
        : new Set(changed);
  const added = newDiagnostics(
    edit.renamed ? renameKeys(before, edit.renamed) : before,
    diagnosticsOf(wp, afterSet),
  );

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
