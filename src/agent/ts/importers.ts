import path from "node:path";
import { type SourceFile, ts } from "ts-morph";
import type { WorkspaceProject } from "./project-cache.ts";

/**
 * Who imports whom, among the workspace's own files. Each file's resolved imports are cached against
 * its parsed node (a new node means new text), so after an edit only the edited files are re-resolved;
 * ts-morph's getReferencingSourceFiles recomputes far more and cost ~40 ms per call on 200 files.
 */

interface Entry {
  readonly node: ts.SourceFile;
  readonly targets: readonly string[];
}

interface Index {
  readonly entries: Map<string, Entry>;
  readonly cache: ts.ModuleResolutionCache;
}

const indexes = new WeakMap<WorkspaceProject, Index>();

function indexOf(wp: WorkspaceProject): Index {
  let index = indexes.get(wp);
  if (!index) {
    const options = wp.project.getCompilerOptions();
    index = {
      entries: new Map(),
      cache: ts.createModuleResolutionCache(wp.root, (f) => f, options),
    };
    indexes.set(wp, index);
  }
  return index;
}

function resolveImports(wp: WorkspaceProject, index: Index, node: ts.SourceFile): string[] {
  const options = wp.project.getCompilerOptions();
  const out: string[] = [];
  for (const st of node.statements) {
    const spec =
      (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) &&
      st.moduleSpecifier &&
      ts.isStringLiteral(st.moduleSpecifier)
        ? st.moduleSpecifier.text
        : undefined;
    if (!spec) continue;
    const resolved = ts.resolveModuleName(spec, node.fileName, options, ts.sys, index.cache).resolvedModule;
    if (resolved) out.push(path.resolve(resolved.resolvedFileName));
  }
  return out;
}

/** Files (among the workspace's own) importing or re-exporting any of `files` directly. */
export function directImporters(wp: WorkspaceProject, files: readonly SourceFile[]): SourceFile[] {
  const index = indexOf(wp);
  for (const file of index.entries.keys()) if (!wp.files.has(file)) index.entries.delete(file);
  const wanted = new Set(files.map((f) => f.getFilePath() as string));
  const out: SourceFile[] = [];
  for (const file of wp.files.keys()) {
    if (wanted.has(file)) continue;
    const sf = wp.project.getSourceFile(file);
    if (!sf) continue;
    const node = sf.compilerNode;
    let entry = index.entries.get(file);
    if (!entry || entry.node !== node) {
      entry = { node, targets: resolveImports(wp, index, node) };
      index.entries.set(file, entry);
    }
    if (entry.targets.some((t) => wanted.has(t))) out.push(sf);
  }
  return out;
}
