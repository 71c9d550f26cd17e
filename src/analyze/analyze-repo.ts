import path from "node:path";
import type { ts } from "ts-morph";
import { z } from "zod";
import { formatIssues } from "../shared/zod-issues.ts";
import { collectDeclarations } from "./declarations.ts";
import { collectExports } from "./exports.ts";
import { cyclicComponents, type Graph, loopThrough, reachable } from "./graph.ts";
import { collectImports, existsOnDisk, isRelativeSpecifier, resolveSpecifier } from "./imports.ts";
import { AnalyzeInputError, loadProject } from "./load-project.ts";
import type {
  AnalysisReport,
  Cycle,
  DeclarationMetric,
  FileInfo,
  ImportEdge,
  TestCoverage,
  UnusedExport,
} from "./report-schema.ts";

export const AnalyzeOptionsSchema = z.strictObject({
  /** Length of the largest / most complex lists. */
  top: z.number().int().min(1).max(1000).default(10),
  /** tsconfig path relative to the root; defaults to `tsconfig.json` when present. */
  tsconfig: z.string().min(1).optional(),
});
export type AnalyzeOptions = z.input<typeof AnalyzeOptionsSchema>;

/** Test files: named *.test.* / *.spec.* (or rxjs's *-spec.*), or anywhere under __tests__ (jest runs those). */
const TEST_FILE = /(^|\/)__tests__\/|[.-](test|spec)\.[cm]?tsx?$/;
/** Folders of fixtures and helpers: their files serve the tests but are not tests themselves. */
const FIXTURE_DIR = /(^|\/)(fixtures|__fixtures__|__mocks__)\//;
const TEST_DIR = /(^|\/)(test|tests|spec|specs|__tests__)\//;

/** A file's part: a test the runner runs, support for tests (fixtures, helpers), or a source. */
function fileRole(file: string): { isTest: boolean; testSupport: boolean } {
  const fixture = FIXTURE_DIR.test(file);
  const isTest = !fixture && TEST_FILE.test(file);
  return { isTest, testSupport: !isTest && (fixture || TEST_DIR.test(file)) };
}

/** Offline structural analysis of any TypeScript repo: sizes, complexity, API, import graph, tests. */
export async function analyzeRepo(dir: string, opts: AnalyzeOptions = {}): Promise<AnalysisReport> {
  const parsed = AnalyzeOptionsSchema.safeParse(opts);
  if (!parsed.success) {
    throw new AnalyzeInputError(
      "ANALYZE_BAD_OPTION",
      `analyze: option ${formatIssues(parsed.error, { root: "(options)" })}; accepted: { top?: integer 1..1000, tsconfig?: path }`,
    );
  }
  const { top, tsconfig } = parsed.data;
  const started = performance.now();
  const loaded = loadProject(dir, tsconfig);
  const rel = (abs: string): string => path.relative(loaded.root, abs).split(path.sep).join("/");
  const absPaths = new Set(loaded.files.map((sf) => sf.getFilePath() as string));

  const files: FileInfo[] = [];
  const declarations: DeclarationMetric[] = [];
  const used = new Map<string, Set<string>>();
  const graph = new Map<string, string[]>();
  // What runs: `import type` / `export type` edges are erased at compile time and close no cycle.
  const runtimeGraph = new Map<string, string[]>();
  for (const sf of loaded.files) {
    const abs = sf.getFilePath() as string;
    const file = rel(abs);
    const node = sf.compilerNode;
    declarations.push(...collectDeclarations(node, file));
    const imports = resolveImports(node, abs, absPaths, rel);
    for (const { target, names } of imports) {
      if (target === null || target === file) continue;
      const seen = used.get(target) ?? new Set<string>();
      for (const name of names) seen.add(name);
      used.set(target, seen);
    }
    const targets = (edges: typeof imports) => [
      ...new Set(edges.flatMap((i) => (i.target === null ? [] : [i.target]))),
    ];
    graph.set(file, targets(imports).sort());
    runtimeGraph.set(file, targets(imports.filter((i) => !i.typeOnly)).sort());
    files.push({
      path: file,
      lines: node.getLineAndCharacterOfPosition(node.getEnd()).line + 1,
      ...fileRole(file),
      exports: collectExports(node),
      imports: imports.map(({ specifier, target, typeOnly }) => ({ specifier, target, typeOnly })),
    });
  }
  files.sort((a, b) => a.path.localeCompare(b.path));

  const cycles = cyclesOf(runtimeGraph);
  // Components of the whole graph that are not runtime cycles close only through a type-only import.
  const runtimeKeys = new Set(cycles.map((c) => c.files.join("\0")));
  const typeOnlyCycles = cyclesOf(graph).filter((c) => !runtimeKeys.has(c.files.join("\0")));
  const { tests, untested } = testReach(files, graph);
  const unusedExports = findUnused(files, used);
  const sources = new Set(files.filter(isSource).map((f) => f.path));
  const ranked = declarations.filter((d) => sources.has(d.file));

  return {
    version: 1,
    root: loaded.root,
    tsconfig: loaded.tsconfig === null ? null : rel(loaded.tsconfig),
    durationMs: Math.round(performance.now() - started),
    summary: {
      files: files.length,
      testFiles: files.filter((f) => f.isTest).length,
      testSupportFiles: files.filter((f) => f.testSupport).length,
      lines: files.reduce((sum, f) => sum + f.lines, 0),
      declarations: declarations.length,
      exports: files.reduce((sum, f) => sum + f.exports.length, 0),
      importEdges: [...graph.values()].reduce((sum, t) => sum + t.length, 0),
      cycles: cycles.length,
      typeOnlyCycles: typeOnlyCycles.length,
      unusedExports: unusedExports.length,
    },
    files,
    declarations,
    largest: topBy(
      ranked,
      top,
      (d) => d.lines,
      (d) => d.complexity,
    ),
    mostComplex: topBy(
      ranked,
      top,
      (d) => d.complexity,
      (d) => d.lines,
    ),
    cycles,
    typeOnlyCycles,
    tests,
    untested,
    unusedExports,
  };
}

/** Relative imports of one file with their project targets; bare package imports are not in the graph. */
function resolveImports(
  node: ts.SourceFile,
  abs: string,
  absPaths: ReadonlySet<string>,
  rel: (abs: string) => string,
): (ImportEdge & { names: string[] })[] {
  const out: (ImportEdge & { names: string[] })[] = [];
  for (const imp of collectImports(node)) {
    if (!isRelativeSpecifier(imp.specifier)) continue;
    const resolved = resolveSpecifier(abs, imp.specifier, absPaths);
    // JSON, CSS and the like are real files, just not part of the TypeScript graph.
    if (resolved === null && existsOnDisk(abs, imp.specifier)) continue;
    out.push({ ...imp, target: resolved === null ? null : rel(resolved) });
  }
  return out;
}

const isSource = (f: FileInfo): boolean => !f.isTest && !f.testSupport;

function cyclesOf(graph: ReadonlyMap<string, string[]>): Cycle[] {
  return cyclicComponents(graph as Graph)
    .map((component) => ({ files: component, path: loopThrough(graph as Graph, component) }))
    .sort((a, b) => b.files.length - a.files.length || a.files[0]!.localeCompare(b.files[0]!));
}

function testReach(files: FileInfo[], graph: Graph): { tests: TestCoverage[]; untested: string[] } {
  const source = new Map(files.map((f) => [f.path, isSource(f)]));
  const reached = new Set<string>();
  const tests: TestCoverage[] = [];
  for (const f of files) {
    if (!f.isTest) continue;
    const direct = (graph.get(f.path) ?? []).filter((t) => source.get(t) === true);
    // Helpers under test/ still lead to sources; only sources are reported.
    const all = [...reachable(graph, f.path)].filter((t) => source.get(t) === true);
    if (all.length === 0) continue;
    for (const s of all) reached.add(s);
    const directSet = new Set(direct);
    tests.push({ test: f.path, direct, transitive: all.filter((s) => !directSet.has(s)).sort() });
  }
  const untested = files.filter((f) => isSource(f) && !reached.has(f.path)).map((f) => f.path);
  return { tests, untested };
}

/**
 * Exports of non-test files that no other file imports. `import *`, `export *` and dynamic imports
 * use every export; a re-export through an index file is a use of the original.
 */
function findUnused(files: FileInfo[], used: ReadonlyMap<string, ReadonlySet<string>>): UnusedExport[] {
  const out: UnusedExport[] = [];
  for (const f of files) {
    if (!isSource(f)) continue;
    const names = used.get(f.path);
    if (names?.has("*")) continue;
    for (const e of f.exports) {
      if (e.kind === "re-export" || names?.has(e.name)) continue;
      out.push({ file: f.path, name: e.name, kind: e.kind, line: e.line });
    }
  }
  return out;
}

function topBy<T>(items: T[], n: number, key: (t: T) => number, tie: (t: T) => number): T[] {
  return [...items].sort((a, b) => key(b) - key(a) || tie(b) - tie(a)).slice(0, n);
}
