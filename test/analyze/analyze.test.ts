import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateProject } from "../../bench/gen-project.ts";
import {
  type AnalysisReport,
  AnalysisReportSchema,
  AnalyzeInputError,
  analyzeCommand,
  analyzeRepo,
  formatAnalysis,
} from "../../src/analyze/index.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = path.resolve(here, "../..");
const fixture = path.join(here, "../fixtures/analyze/basic");

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "loom-analyze-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function writeTree(dir: string, files: Record<string, string>): Promise<string> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return dir;
}

function decl(report: AnalysisReport, name: string) {
  const found = report.declarations.find((d) => d.name === name);
  if (!found) throw new Error(`no declaration ${name}`);
  return found;
}

describe("analyzeRepo on the fixture", () => {
  let report: AnalysisReport;
  beforeAll(async () => {
    report = AnalysisReportSchema.parse(await analyzeRepo(fixture));
  });

  it("uses the tsconfig and lists every file", () => {
    expect(report.tsconfig).toBe("tsconfig.json");
    expect(report.files.map((f) => f.path)).toEqual([
      "src/a.ts",
      "src/b.ts",
      "src/c.ts",
      "src/complex.ts",
      "src/index.ts",
      "src/orphan.ts",
      "src/util/helper.ts",
      "src/util/index.ts",
      "src/util/strings.ts",
      "tests/main.spec.ts",
    ]);
    expect(report.files.filter((f) => f.isTest).map((f) => f.path)).toEqual(["tests/main.spec.ts"]);
  });

  it("counts cyclomatic complexity exactly, keeping named nested functions separate", () => {
    expect(decl(report, "classify")).toMatchObject({ kind: "function", complexity: 15, line: 8, lines: 40 });
    expect(decl(report, "classify.helperFn")).toMatchObject({ kind: "arrow", complexity: 2 });
    expect(decl(report, "Counter")).toMatchObject({ kind: "class", complexity: 4 });
    expect(decl(report, "Counter.inc")).toMatchObject({ kind: "method", complexity: 2 });
    expect(decl(report, "Counter.value")).toMatchObject({ kind: "accessor", complexity: 2 });
    expect(report.declarations.filter((d) => d.name === "pick")).toEqual([
      { file: "src/complex.ts", name: "pick", kind: "function", line: 65, lines: 3, complexity: 2 },
    ]);
    expect(report.mostComplex[0]?.name).toBe("classify");
    expect(report.largest[0]?.name).toBe("classify");
  });

  it("maps .js specifiers to .ts files and finds the a → b → c → a cycle", () => {
    const a = report.files.find((f) => f.path === "src/a.ts")!;
    expect(a.imports).toEqual([{ specifier: "./b.js", target: "src/b.ts", typeOnly: false }]);
    expect(report.cycles).toEqual([
      { files: ["src/a.ts", "src/b.ts", "src/c.ts"], path: ["src/a.ts", "src/b.ts", "src/c.ts", "src/a.ts"] },
    ]);
  });

  it("reports exactly the unused exports, counting re-exports as uses", () => {
    expect(report.unusedExports.map((u) => `${u.file}:${u.name}`)).toEqual([
      "src/complex.ts:Input",
      "src/complex.ts:pick",
      "src/orphan.ts:default",
      "src/util/helper.ts:unusedHelper",
    ]);
  });

  it("lists the exported API with signatures", () => {
    const complex = report.files.find((f) => f.path === "src/complex.ts")!;
    expect(complex.exports).toEqual([
      {
        name: "Input",
        kind: "interface",
        line: 1,
        signature:
          "interface Input { readonly base?: number; readonly raw: string; readonly child?: { readonly name: string; }; }",
      },
      {
        name: "classify",
        kind: "function",
        line: 8,
        signature: "function classify(input: Input | undefined, flags: string[]): string",
      },
      {
        name: "Counter",
        kind: "class",
        line: 50,
        signature: "class Counter { inc(by?: number): void; get value(): number }",
      },
      {
        name: "pick",
        kind: "function",
        line: 63,
        signature: "function pick(x: string): string; function pick(x: number): number;",
      },
    ]);
    const index = report.files.find((f) => f.path === "src/util/index.ts")!;
    expect(index.exports.map((e) => [e.name, e.kind])).toEqual([
      ["helper", "re-export"],
      ["*", "re-export"],
    ]);
    const orphan = report.files.find((f) => f.path === "src/orphan.ts")!;
    expect(orphan.exports).toEqual([
      { name: "default", kind: "function", line: 2, signature: "function orphan(): number" },
    ]);
  });

  it("maps tests to the sources they reach directly and transitively", () => {
    expect(report.tests).toEqual([
      {
        test: "tests/main.spec.ts",
        direct: ["src/index.ts"],
        transitive: [
          "src/a.ts",
          "src/b.ts",
          "src/c.ts",
          "src/complex.ts",
          "src/util/helper.ts",
          "src/util/index.ts",
          "src/util/strings.ts",
        ],
      },
    ]);
    expect(report.untested).toEqual(["src/orphan.ts"]);
  });

  it("formats concise sectioned text", () => {
    const text = formatAnalysis(report);
    expect(text).toContain("## Import cycles (1)\n  src/a.ts → src/b.ts → src/c.ts → src/a.ts\n");
    expect(text).toContain("src/util/helper.ts:6  unusedHelper (function)");
    expect(text).toContain("tests/main.spec.ts: src/index.ts (+7 transitively)");
    expect(text).toContain("## Sources no test reaches (1)\n  src/orphan.ts\n");
    expect(text).toMatch(/ {5}40 lines {2}cx {2}15 {2}function classify {2}src\/complex\.ts:8/);
  });
});

describe("analyzeRepo without a tsconfig", () => {
  it("walks the tree, skips node_modules/dist/dot-dirs, resolves index and extensionless imports", async () => {
    const dir = await writeTree(path.join(tmp, "walk"), {
      "main.ts": [
        `import { lib } from "./lib";`,
        `import { pkg } from "./pkg";`,
        `import data from "./data.json";`,
        `import { gone } from "./missing.ts";`,
        `import type { T } from "./types.js";`,
        `export const all = [lib, pkg, data, gone] as T[];`,
        `export async function lazy() { return import("./lazy.ts"); }`,
      ].join("\n"),
      "lib.ts": `export const lib = 1;\nexport const spare = 2;\n`,
      "pkg/index.ts": `export const pkg = 2;\n`,
      "types.ts": `export type T = unknown;\n`,
      "lazy.ts": `export const lazyValue = 3;\n`,
      "self.ts": `import { me } from "./self.ts";\nexport const me = 1;\nexport const again = me;\n`,
      "data.json": `{}`,
      "node_modules/dep/index.ts": `export const dep = 1;\n`,
      "dist/out.ts": `export const out = 1;\n`,
      ".cache/x.ts": `export const x = 1;\n`,
    });
    const report = AnalysisReportSchema.parse(await analyzeRepo(dir));
    expect(report.tsconfig).toBeNull();
    expect(report.files.map((f) => f.path)).toEqual([
      "lazy.ts",
      "lib.ts",
      "main.ts",
      "pkg/index.ts",
      "self.ts",
      "types.ts",
    ]);
    const main = report.files.find((f) => f.path === "main.ts")!;
    expect(main.imports).toEqual([
      { specifier: "./lib", target: "lib.ts", typeOnly: false },
      { specifier: "./pkg", target: "pkg/index.ts", typeOnly: false },
      { specifier: "./missing.ts", target: null, typeOnly: false },
      { specifier: "./types.js", target: "types.ts", typeOnly: true },
      { specifier: "./lazy.ts", target: "lazy.ts", typeOnly: false },
    ]);
    // A self-import is a one-file cycle; a dynamic import uses every export of its target.
    expect(report.cycles).toEqual([{ files: ["self.ts"], path: ["self.ts", "self.ts"] }]);
    expect(report.unusedExports.map((u) => `${u.file}:${u.name}`).sort()).toEqual([
      "lib.ts:spare",
      "main.ts:all",
      "main.ts:lazy",
      "self.ts:again",
      "self.ts:me",
    ]);
    expect(formatAnalysis(report)).toContain(
      '## Unresolved relative imports (1)\n  main.ts: "./missing.ts"\n',
    );
  });

  it("falls back to walking when a solution-style tsconfig picks no files", async () => {
    const dir = await writeTree(path.join(tmp, "solution"), {
      "tsconfig.json": `{ "files": [], "references": [{ "path": "./pkg" }] }`,
      "pkg/a.ts": `export const a = 1;\n`,
    });
    const report = await analyzeRepo(dir);
    expect(report.tsconfig).toBeNull();
    expect(report.files.map((f) => f.path)).toEqual(["pkg/a.ts"]);
  });
});

describe("analyzeRepo rejects bad input with a code and what is accepted", () => {
  async function rejection(run: () => Promise<unknown>): Promise<AnalyzeInputError> {
    const err = await run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AnalyzeInputError);
    return err as AnalyzeInputError;
  }

  it("names a missing directory", async () => {
    const err = await rejection(() => analyzeRepo(path.join(tmp, "nope")));
    expect(err.code).toBe("ANALYZE_DIR_NOT_FOUND");
    expect(err.message).toContain("nope");
  });

  it("refuses a file in place of a directory", async () => {
    const file = path.join(tmp, "plain.ts");
    await writeFile(file, "export {};\n");
    expect((await rejection(() => analyzeRepo(file))).code).toBe("ANALYZE_NOT_A_DIRECTORY");
  });

  it("names a bad option and the accepted range", async () => {
    const zero = await rejection(() => analyzeRepo(fixture, { top: 0 }));
    expect(zero.code).toBe("ANALYZE_BAD_OPTION");
    expect(zero.message).toContain("option top");
    expect(zero.message).toContain("integer 1..1000");
    const unknown = await rejection(() => analyzeRepo(fixture, { depth: 3 } as never));
    expect(unknown.code).toBe("ANALYZE_BAD_OPTION");
    expect(unknown.message).toContain("depth");
  });

  it("names a missing or unreadable tsconfig", async () => {
    const missing = await rejection(() => analyzeRepo(fixture, { tsconfig: "tsconfig.other.json" }));
    expect(missing.code).toBe("ANALYZE_TSCONFIG_NOT_FOUND");
    expect(missing.message).toContain("tsconfig.other.json");
    const dir = await writeTree(path.join(tmp, "badcfg"), { "tsconfig.json": "[1]", "a.ts": "export {};\n" });
    const invalid = await rejection(() => analyzeRepo(dir));
    expect(invalid.code).toBe("ANALYZE_TSCONFIG_INVALID");
    expect(invalid.message).toContain("tsconfig.json");
  });
});

describe("analyzeRepo at scale and on this repo", () => {
  // Its speed is measured in bench/analyze.bench.ts, not asserted here (timed tests are flaky).
  it("analyzes a generated 200-file project with bounded text", async () => {
    const project = await generateProject(path.join(tmp, "gen200"), { files: 200, seed: 3 });
    const report = await analyzeRepo(project.root, { top: 5 });
    expect(report.summary.files).toBeGreaterThanOrEqual(200);
    expect(report.largest).toHaveLength(5);
    expect(report.cycles).toEqual([]);
    // The shared function is imported by half the modules, so it is not unused.
    expect(report.unusedExports.some((u) => u.name === project.shared.name)).toBe(false);
    const text = formatAnalysis(report);
    expect(text.split("\n").length).toBeLessThan(200);
    expect(text.length).toBeLessThan(30_000);
    expect(text).toContain("… ");
  });

  it("analyzes this repository and finds its own analysis module and tests", async () => {
    const report = AnalysisReportSchema.parse(await analyzeRepo(repoRoot));
    expect(report.tsconfig).toBe("tsconfig.json");
    const own = report.files.find((f) => f.path === "src/analyze/analyze-repo.ts");
    expect(own?.exports.find((e) => e.name === "analyzeRepo")?.signature).toContain(
      "function analyzeRepo(dir: string, opts: AnalyzeOptions = {}): Promise<AnalysisReport>",
    );
    const thisTest = report.tests.find((t) => t.test === "test/analyze/analyze.test.ts");
    expect(thisTest?.direct).toContain("src/analyze/index.ts");
    expect(thisTest?.transitive).toContain("src/analyze/graph.ts");
    expect(report.cycles.map((c) => c.path[0])).toContain("test/fixtures/analyze/basic/src/a.ts");
    expect(report.files.some((f) => f.path.startsWith("node_modules/"))).toBe(false);
  });
});

describe("analyzeCommand", () => {
  it("prints JSON that parses back into the report schema, or the text report", async () => {
    const json = await analyzeCommand(fixture, { json: true, top: 2 });
    const report = AnalysisReportSchema.parse(JSON.parse(json));
    expect(report.largest).toHaveLength(2);
    expect(report.summary.cycles).toBe(1);
    expect(await analyzeCommand(fixture)).toContain("## Import cycles (1)");
  });
});
