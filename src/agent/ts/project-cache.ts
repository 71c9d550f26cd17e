import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { IndentationText, Project, QuoteKind, type SourceFile, ts } from "ts-morph";
import type { LocatedDiagnostic } from "./diagnostics.ts";

/**
 * One long-lived ts-morph Project per workspace. Files change underneath it (bash, write_file, a person),
 * so every tool call first runs `syncProject`: a stat of the known files and folders, re-reading only
 * what changed. Rebuilding a Project costs seconds; the stat pass costs about a millisecond.
 */

interface Stamp {
  mtimeMs: number;
  size: number;
  /** When the stamp was taken: a file written within the same clock tick may change without a new mtime. */
  seenAt: number;
}

/** Coarse file-system clocks tick every few ms; stamps younger than this are verified by content. */
const RACY_MS = 100;

export interface WorkspaceProject {
  readonly root: string;
  readonly project: Project;
  /** Bumped whenever any source text changes; cached diagnostics are valid for one generation only. */
  generation: number;
  /** Bumped when files are added or removed: cached module resolutions may then be wrong. */
  layout: number;
  /** Per-file diagnostics keyed by generation, so a warm edit does not re-check the "before" side. */
  readonly diagnosticsCache: Map<string, { generation: number; list: readonly LocatedDiagnostic[] }>;
  /** Exported (.d.ts) shape per file, keyed by generation like the diagnostics. */
  readonly shapeCache: Map<string, { generation: number; shape: string }>;
  /** Stamps of source files we track (absolute paths). */
  readonly files: Map<string, Stamp>;
  /**
   * Entry names of the folders walked. Compared by listing, not mtime: a file added in the same clock
   * tick as our own write would leave the folder mtime unchanged.
   */
  readonly dirs: Map<string, string>;
  readonly tsconfig: string | null;
  tsconfigStamp: Stamp | null;
}

const SKIP_DIRS = new Set(["node_modules", "dist", "coverage", "test-artifacts"]);
const SOURCE_EXT = /\.(ts|tsx|mts|cts)$/;

/** Defaults for a workspace without tsconfig.json: modern ESM TypeScript, as Loom itself is written. */
const DEFAULT_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  allowImportingTsExtensions: true,
  skipLibCheck: true,
  jsx: ts.JsxEmit.Preserve,
};

const cache = new Map<string, WorkspaceProject>();

function stamp(file: string): Stamp | null {
  try {
    const s = statSync(file);
    return s.isFile() ? { mtimeMs: s.mtimeMs, size: s.size, seenAt: Date.now() } : null;
  } catch {
    return null;
  }
}

/** Folders under root worth watching (skips node_modules, build output and dot-folders). */
function listing(dir: string): string | null {
  try {
    return readdirSync(dir).sort().join("\u0000");
  } catch {
    return null;
  }
}

function walkDirs(root: string, out: Map<string, string>, plainFiles?: string[]): void {
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    out.set(
      dir,
      entries
        .map((e) => e.name)
        .sort()
        .join("\u0000"),
    );
    for (const e of entries) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) stack.push(path.join(dir, e.name));
      } else if (plainFiles && e.isFile() && SOURCE_EXT.test(e.name) && !e.name.endsWith(".d.ts")) {
        plainFiles.push(path.join(dir, e.name));
      }
    }
  }
}

/** The workspace's own source files, as tsconfig.json (or the default walk) defines them. */
function discoverFiles(wp: Pick<WorkspaceProject, "root" | "tsconfig" | "dirs">): string[] {
  wp.dirs.clear();
  if (!wp.tsconfig) {
    const files: string[] = [];
    walkDirs(wp.root, wp.dirs, files);
    return files;
  }
  walkDirs(wp.root, wp.dirs);
  const parsed = ts.getParsedCommandLineOfConfigFile(
    wp.tsconfig,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => {},
    },
  );
  return (parsed?.fileNames ?? []).map((f) => path.resolve(f)).filter((f) => !f.endsWith(".d.ts"));
}

function isOwnFile(wp: WorkspaceProject, sf: SourceFile): boolean {
  return wp.files.has(sf.getFilePath());
}

function createWorkspaceProject(root: string): WorkspaceProject {
  const tsconfigPath = path.join(root, "tsconfig.json");
  const tsconfig = stamp(tsconfigPath) ? tsconfigPath : null;
  // Loom's own style (biome): two-space indents, double quotes; used by ts-morph's own manipulations.
  const manipulationSettings = { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Double };
  const project = tsconfig
    ? new Project({
        tsConfigFilePath: tsconfig,
        skipAddingFilesFromTsConfig: true,
        skipFileDependencyResolution: true,
        manipulationSettings,
      })
    : new Project({
        compilerOptions: DEFAULT_OPTIONS,
        skipFileDependencyResolution: true,
        manipulationSettings,
      });
  const wp: WorkspaceProject = {
    root,
    project,
    generation: 0,
    layout: 0,
    diagnosticsCache: new Map(),
    shapeCache: new Map(),
    files: new Map(),
    dirs: new Map(),
    tsconfig,
    tsconfigStamp: tsconfig ? stamp(tsconfig) : null,
  };
  for (const file of discoverFiles(wp)) {
    const s = stamp(file);
    if (!s) continue;
    project.addSourceFileAtPath(file);
    wp.files.set(file, s);
  }
  return wp;
}

/** Re-reads files changed on disk since the last call; adds and forgets files when folders changed. */
export function syncProject(wp: WorkspaceProject): void {
  let changed = false;
  for (const [file, old] of wp.files) {
    const now = stamp(file);
    if (now && now.mtimeMs === old.mtimeMs && now.size === old.size && old.seenAt - old.mtimeMs >= RACY_MS) {
      continue;
    }
    // Looked up only now: a lookup by path costs more than the stat, and almost every file is unchanged.
    const sf = wp.project.getSourceFile(file);
    if (now && now.mtimeMs === old.mtimeMs && now.size === old.size) {
      // Racy stamp (taken in the write's own clock tick): compare the text itself, like git does.
      if (sf && readText(file) === sf.getFullText()) {
        wp.files.set(file, now);
        continue;
      }
    }
    if (!now) {
      if (sf) wp.project.removeSourceFile(sf);
      wp.files.delete(file);
      wp.layout++;
    } else {
      if (sf) sf.refreshFromFileSystemSync();
      else wp.project.addSourceFileAtPath(file);
      wp.files.set(file, now);
    }
    changed = true;
  }
  let dirsChanged = false;
  for (const [dir, names] of wp.dirs) {
    if (listing(dir) !== names) {
      dirsChanged = true;
      break;
    }
  }
  if (dirsChanged) {
    const known = new Set(wp.files.keys());
    for (const file of discoverFiles(wp)) {
      if (known.has(file)) continue;
      const s = stamp(file);
      if (!s) continue;
      const existing = wp.project.getSourceFile(file);
      if (existing) existing.refreshFromFileSystemSync();
      else wp.project.addSourceFileAtPath(file);
      wp.files.set(file, s);
      wp.layout++;
      changed = true;
    }
  }
  if (changed) bump(wp);
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** Marks all cached diagnostics stale (any text change can move types in other files). */
export function bump(wp: WorkspaceProject): void {
  wp.generation++;
}

/** Records the on-disk stamp of a file we just wrote, so the next sync does not re-read it. */
export function recordWritten(wp: WorkspaceProject, file: string): void {
  const s = stamp(file);
  if (s) wp.files.set(file, s);
}

/**
 * The workspace's Project, created on first use and synced with the disk on every later call.
 * A changed tsconfig.json rebuilds it (compiler options and the file set may both have moved).
 */
export function getWorkspaceProject(workspace: string): WorkspaceProject {
  const root = path.resolve(workspace);
  let wp = cache.get(root);
  if (wp?.tsconfig) {
    const now = stamp(wp.tsconfig);
    const old = wp.tsconfigStamp;
    if (!now || !old || now.mtimeMs !== old.mtimeMs || now.size !== old.size) wp = undefined;
  } else if (wp && stamp(path.join(root, "tsconfig.json"))) {
    wp = undefined;
  }
  if (!wp) {
    wp = createWorkspaceProject(root);
    cache.set(root, wp);
    return wp;
  }
  syncProject(wp);
  return wp;
}

/** The synced ts-morph Project of a workspace (for benchmarks and tests). */
export function getProject(workspace: string): Project {
  return getWorkspaceProject(workspace).project;
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs calls on one workspace one at a time: an edit awaits its file writes, and a second call must
 * not see (or change) the Project halfway through the first.
 */
export function exclusive<T>(workspace: string, fn: () => Promise<T>): Promise<T> {
  const root = path.resolve(workspace);
  const previous = queues.get(root) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const settled = next.then(
    () => {},
    () => {},
  );
  queues.set(root, settled);
  void settled.then(() => {
    if (queues.get(root) === settled) queues.delete(root);
  });
  return next;
}

/** Drops every cached Project (benchmarks measure cold starts; tests free memory). */
export function disposeProjects(): void {
  cache.clear();
}

/** Whether the file is one of the workspace's own sources (not a lib or node_modules declaration). */
export function isWorkspaceSource(wp: WorkspaceProject, sf: SourceFile): boolean {
  return isOwnFile(wp, sf);
}
