import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AnalysisReport,
  AnalysisReportSchema,
  analyzeRepo,
  formatAnalysis,
} from "../../src/analyze/index.ts";

let dir: string;
let report: AnalysisReport;

/** A small repo: a runtime cycle, a cycle of type imports only, a mixed one, tests beside fixtures and helpers. */
const files: Record<string, string> = {
  "src/c.ts": 'import { d } from "./d.ts";\nexport const c = (): number => d() + 1;\n',
  "src/d.ts": 'import { c } from "./c.ts";\nexport const d = (): number => (Math.random() > 2 ? c() : 0);\n',
  "src/a.ts": 'import type { B } from "./b.ts";\nexport interface A { b?: B }\n',
  "src/b.ts": 'import type { A } from "./a.ts";\nexport interface B { a?: A }\n',
  "src/e.ts": 'import type { F } from "./f.ts";\nexport const e = (f: F): number => f.n;\n',
  "src/f.ts":
    'import { e } from "./e.ts";\nexport interface F { n: number }\nexport const g = () => e({ n: 1 });\n',
  "src/index.ts": 'export * from "./c.ts";\nexport * from "./a.ts";\nexport * from "./f.ts";\n',
  "test/c.test.ts":
    'import { c } from "../src/c.ts";\nimport { setup } from "./helpers/setup.ts";\nsetup();\nc();\n',
  "test/helpers/setup.ts": "export const setup = (): void => {};\nexport const unusedHelper = 1;\n",
  "test/fixtures/repo/src/thing.test.ts": "export const fixture = 1;\n",
  "test/fixtures/repo/src/thing.ts": "export const other = 2;\n",
  "spec/d-spec.ts": 'import { d } from "../src/d.ts";\nd();\n',
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "loom-analyze-types-"));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  report = await analyzeRepo(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loom analyze: cycles and tests as they run", () => {
  it("reports only cycles of runtime imports as cycles; type-only ones separately, labelled", () => {
    expect(AnalysisReportSchema.parse(report)).toEqual(report);
    expect(report.cycles.map((c) => c.files)).toEqual([["src/c.ts", "src/d.ts"]]);
    expect(report.summary.cycles).toBe(1);
    expect(report.typeOnlyCycles.map((c) => c.files)).toEqual([
      ["src/a.ts", "src/b.ts"],
      ["src/e.ts", "src/f.ts"],
    ]);
    const text = formatAnalysis(report);
    expect(text).toContain("## Import cycles (1)\n  src/c.ts → src/d.ts → src/c.ts\n");
    expect(text).toMatch(/## Cycles through type-only imports \(2; erased at compile time/);
  });

  it("counts test files only: fixtures and helpers are neither tests nor sources", () => {
    const tests = report.files.filter((f) => f.isTest).map((f) => f.path);
    expect(tests).toEqual(["spec/d-spec.ts", "test/c.test.ts"]);
    expect(report.summary.testFiles).toBe(2);
    expect(report.summary.testSupportFiles).toBe(3);
    expect(report.tests.map((t) => t.test)).toEqual(["spec/d-spec.ts", "test/c.test.ts"]);
    // A helper's unused export or a fixture nobody imports is not a finding about the sources.
    const flagged = [...report.untested, ...report.unusedExports.map((u) => u.file)];
    expect(flagged.filter((f) => f.startsWith("test/"))).toEqual([]);
    expect(formatAnalysis(report)).toContain("(2 tests, 3 test fixtures/helpers)");
  });
});
