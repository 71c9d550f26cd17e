import { type SourceFile, ts } from "ts-morph";
import { globalFiles, ownSourceFile } from "../project/importers.ts";
import type { WorkspaceProject } from "../project/project-cache.ts";

/**
 * A program for type-checking a few files: rooted at them plus every own file that adds globals, so it
 * holds their import closure rather than the whole workspace. Every edit needs a new program and a fresh
 * type checker, and both walk every file they hold: for the whole of a 1000-file workspace that cost
 * ~30 ms of the 40 ms an edit may take. A file's diagnostics depend only on what it can see: its imports (transitively), the
 * libs, @types, and global scripts/augmentations, all of which this program holds.
 * Source nodes are shared, never re-parsed: own files come from the ts-morph Project, libs and
 * node_modules declarations from the last whole-workspace program ts-morph built.
 */

interface State {
  readonly externals: Map<string, ts.SourceFile>;
  /** Files the whole program did not hold either: not asked for again until files come or go. */
  readonly missing: Set<string>;
  defaultLib: string;
  resolution: ts.ModuleResolutionCache;
  layout: number;
  host: ts.CompilerHost;
  last: ts.Program | undefined;
}

const states = new WeakMap<WorkspaceProject, State>();

/** Fills the cache of non-workspace files (libs, node_modules) from ts-morph's whole program. */
function loadExternals(wp: WorkspaceProject, state: State): void {
  const full = wp.project.getProgram().compilerObject;
  for (const f of full.getSourceFiles()) {
    if (wp.files.has(f.fileName)) continue;
    state.externals.set(f.fileName, f);
    if (full.isSourceFileDefaultLibrary(f) && !state.defaultLib) state.defaultLib = f.fileName;
  }
  const lib = ts.getDefaultLibFileName(wp.project.getCompilerOptions());
  const named = [...state.externals.keys()].find((f) => f.endsWith(`/${lib}`));
  if (named) state.defaultLib = named;
}

function createState(wp: WorkspaceProject): State {
  const mrh = wp.project.getModuleResolutionHost();
  const state: State = {
    externals: new Map(),
    missing: new Set(),
    defaultLib: "",
    resolution: ts.createModuleResolutionCache(wp.root, (f) => f, wp.project.getCompilerOptions()),
    layout: wp.layout,
    last: undefined,
    host: undefined as unknown as ts.CompilerHost,
  };
  const getSourceFile = (fileName: string): ts.SourceFile | undefined => {
    if (wp.files.has(fileName)) return ownSourceFile(wp, fileName)?.compilerNode;
    let found = state.externals.get(fileName);
    if (!found && !state.missing.has(fileName)) {
      // A declaration file not seen before (a new import): ask the whole program once.
      loadExternals(wp, state);
      found = state.externals.get(fileName);
      if (!found) state.missing.add(fileName);
    }
    return found;
  };
  state.host = {
    getSourceFile,
    getDefaultLibFileName: () => state.defaultLib,
    writeFile: () => {},
    getCurrentDirectory: () => ts.sys.getCurrentDirectory(),
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
    fileExists: (f) => wp.files.has(f) || state.externals.has(f) || mrh.fileExists(f),
    readFile: (f) => mrh.readFile(f),
    directoryExists: (d) => mrh.directoryExists?.(d) ?? ts.sys.directoryExists(d),
    realpath: (f) => mrh.realpath?.(f) ?? f,
    getDirectories: (d) => mrh.getDirectories?.(d) ?? ts.sys.getDirectories(d),
    getModuleResolutionCache: () => state.resolution,
    // One resolution cache across programs: the closure's imports are resolved once, not per call.
    resolveModuleNameLiterals: (literals, containingFile, redirected, options, containing) =>
      literals.map((lit) =>
        ts.resolveModuleName(
          lit.text,
          containingFile,
          options,
          state.host,
          state.resolution,
          redirected,
          ts.getModeForUsageLocation(containing, lit, options),
        ),
      ),
  };
  loadExternals(wp, state);
  return state;
}

/** A program holding `roots`, their imports (transitively), the global own files, libs and @types. */
export function checkProgram(wp: WorkspaceProject, roots: readonly SourceFile[]): ts.Program {
  let state = states.get(wp);
  if (!state) {
    state = createState(wp);
    states.set(wp, state);
  }
  if (state.layout !== wp.layout) {
    state.resolution = ts.createModuleResolutionCache(wp.root, (f) => f, wp.project.getCompilerOptions());
    state.layout = wp.layout;
    state.last = undefined;
    state.missing.clear();
  }
  if (
    state.last &&
    isCurrent(wp, state.last) &&
    roots.every((sf) => state.last!.getSourceFile(sf.getFilePath()))
  )
    return state.last;
  const names = new Set(roots.map((sf) => sf.getFilePath() as string));
  for (const file of globalFiles(wp)) names.add(file);
  // The previous program lends every unchanged file and resolution when the roots are the same.
  const program = ts.createProgram({
    rootNames: [...names].sort(),
    options: wp.project.getCompilerOptions(),
    host: state.host,
    oldProgram: state.last,
  });
  state.last = program;
  return program;
}

/** Whether every own file in the program still has the text it was built from. */
function isCurrent(wp: WorkspaceProject, program: ts.Program): boolean {
  if (program.getRootFileNames().some((f) => !wp.files.has(f))) return false;
  if (globalFiles(wp).some((f) => !program.getSourceFile(f))) return false;
  for (const node of program.getSourceFiles()) {
    if (!wp.files.has(node.fileName)) continue;
    if (ownSourceFile(wp, node.fileName)?.compilerNode !== node) return false;
  }
  return true;
}
