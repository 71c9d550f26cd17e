import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { IndentationText, Project, QuoteKind, type SourceFile, ts } from "ts-morph";
import { KeyedQueue } from "../../../shared/keyed-queue.ts";
import type { LocatedDiagnostic } from "../check/diagnostics.ts";
import { createDirWatch, type DirWatch, settleEvents } from "./dir-watch.ts";

/**
 * One long-lived ts-morph Project per workspace. Files change underneath it (bash, write_file, a person),
 * so every tool call first runs `syncProject`: a stat of the known files and folders, re-reading only
 * what changed. Rebuilding a Project costs seconds; the stat pass about 6 ms at 1000 files, so where
 * the folders can be watched (dir-watch.ts) only the files of folders that saw an event are stat'd.
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
  /** Folders with events since the last sync; null where watching is not possible. */
  readonly watch: DirWatch | null;
  /**
   * Files stat'd on every sync even when watched: symbolic and hard links, whose writes through another
   * path raise their event in another folder.
   */
  readonly linked: Set<string>;
  /** Tracked files per folder, for a sync of a few folders; rebuilt when files come or go. */
  byDir: Map<string, string[]> | null;
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
let built = 0;

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
  built++;
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
    watch: createDirWatch(),
    linked: new Set(),
    byDir: null,
  };
  for (const file of discoverFiles(wp)) {
    const s = stamp(file);
    if (!s) continue;
    project.addSourceFileAtPath(file);
    track(wp, file, s);
  }
  // Watched only now, after the files were read: every folder counts as changed on the first sync.
  rewatch(wp);
  return wp;
}

/** Starts tracking a file (or records its new stamp). */
function track(wp: WorkspaceProject, file: string, s: Stamp): void {
  if (!wp.files.has(file)) {
    wp.byDir = null;
    try {
      const l = lstatSync(file);
      if (l.isSymbolicLink() || l.nlink > 1) wp.linked.add(file);
    } catch {
      wp.linked.add(file);
    }
  }
  wp.files.set(file, s);
}

function untrack(wp: WorkspaceProject, file: string): void {
  wp.files.delete(file);
  wp.linked.delete(file);
  wp.byDir = null;
}

/** Watches the walked folders and the folder of every tracked file (some may lie outside the walk). */
function rewatch(wp: WorkspaceProject): void {
  if (!wp.watch) return;
  const dirs = new Set(wp.dirs.keys());
  for (const dir of filesByDir(wp).keys()) dirs.add(dir);
  wp.watch.set(dirs);
}

function filesByDir(wp: WorkspaceProject): Map<string, string[]> {
  if (!wp.byDir) {
    wp.byDir = new Map();
    for (const file of wp.files.keys()) {
      const dir = path.dirname(file);
      const list = wp.byDir.get(dir);
      if (list) list.push(file);
      else wp.byDir.set(dir, [file]);
    }
  }
  return wp.byDir;
}

/** Re-reads a file if it changed on disk since its stamp; forgets it if it is gone. Whether it changed. */
function syncFile(wp: WorkspaceProject, file: string, old: Stamp): boolean {
  const now = stamp(file);
  if (now && now.mtimeMs === old.mtimeMs && now.size === old.size && old.seenAt - old.mtimeMs >= RACY_MS) {
    return false;
  }
  // Looked up only now: a lookup by path costs more than the stat, and almost every file is unchanged.
  const sf = wp.project.getSourceFile(file);
  if (now && now.mtimeMs === old.mtimeMs && now.size === old.size) {
    // Racy stamp (taken in the write's own clock tick): compare the text itself, like git does.
    if (sf && readText(file) === sf.getFullText()) {
      wp.files.set(file, now);
      return false;
    }
  }
  if (!now) {
    if (sf) wp.project.removeSourceFile(sf);
    untrack(wp, file);
    wp.layout++;
  } else {
    if (sf) sf.refreshFromFileSystemSync();
    else wp.project.addSourceFileAtPath(file);
    wp.files.set(file, now);
  }
  return true;
}

/**
 * Re-reads files changed on disk since the last call; adds and forgets files when folders changed.
 * With `dirs`, only the files in those folders (and linked files) are stat'd and only those folders
 * listed: the caller vouches that no other folder saw a change (see getWorkspaceProject).
 */
export function syncProject(wp: WorkspaceProject, dirs?: ReadonlySet<string>): void {
  let changed = false;
  if (dirs) {
    const byDir = filesByDir(wp);
    const files = new Set(wp.linked);
    for (const dir of dirs) for (const file of byDir.get(dir) ?? []) files.add(file);
    for (const file of files) {
      const old = wp.files.get(file);
      if (old && syncFile(wp, file, old)) changed = true;
    }
  } else {
    for (const [file, old] of wp.files) if (syncFile(wp, file, old)) changed = true;
  }
  let dirsChanged = false;
  for (const [dir, names] of wp.dirs) {
    if (dirs && !dirs.has(dir)) continue;
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
      track(wp, file, s);
      wp.layout++;
      changed = true;
    }
    rewatch(wp);
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
  if (!s) return;
  const known = wp.files.has(file);
  track(wp, file, s);
  // A file added by path may sit in a folder not watched yet.
  if (!known) rewatch(wp);
}

/**
 * The workspace's Project, created on first use and synced with the disk on every later call (a stat
 * of every file). A changed tsconfig.json rebuilds it (compiler options and the file set may both have
 * moved).
 */
export function getWorkspaceProject(workspace: string): WorkspaceProject {
  return workspaceProject(workspace, false);
}

/**
 * The same, synced cheaper: once the event loop has read the pending file-system events, only folders
 * that saw one are checked. Every tool call starts here.
 */
export async function openWorkspaceProject(workspace: string): Promise<WorkspaceProject> {
  await settleEvents();
  return workspaceProject(workspace, true);
}

function workspaceProject(workspace: string, settled: boolean): WorkspaceProject {
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
    cache.get(root)?.watch?.close();
    wp = createWorkspaceProject(root);
    cache.set(root, wp);
    return wp;
  }
  // Taken even for a full sync, which covers whatever the events reported.
  const dirs = wp.watch?.take() ?? null;
  syncProject(wp, settled && dirs ? dirs : undefined);
  return wp;
}

/** The synced ts-morph Project of a workspace (for benchmarks and tests). */
export function getProject(workspace: string): Project {
  return getWorkspaceProject(workspace).project;
}

const queue = new KeyedQueue();

/**
 * Runs calls on one workspace one at a time: an edit awaits its file writes, and a second call must
 * not see (or change) the Project halfway through the first.
 */
export function exclusive<T>(workspace: string, fn: () => Promise<T>): Promise<T> {
  return queue.run(path.resolve(workspace), fn);
}

/** How many Projects this thread has built (a rebuilt one counts again): proves a warm-up was reused. */
export const projectsBuilt = (): number => built;

/** Drops every cached Project (benchmarks measure cold starts; tests free memory). */
export function disposeProjects(): void {
  for (const wp of cache.values()) wp.watch?.close();
  cache.clear();
}

/** Whether the file is one of the workspace's own sources (not a lib or node_modules declaration). */
export function isWorkspaceSource(wp: WorkspaceProject, sf: SourceFile): boolean {
  return isOwnFile(wp, sf);
}
