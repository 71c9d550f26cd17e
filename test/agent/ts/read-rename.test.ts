import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolError } from "../../../src/agent/tool.ts";
import { disposeProjects, getProject } from "../../../src/agent/ts/tools/index.ts";
import { call, copyFixture, snapshotDir, tscErrors } from "./helpers.ts";

let ws: string;
const read = (rel: string) => readFile(path.join(ws, rel), "utf8");

interface Span {
  file: string;
  start: number;
  length: number;
}

/** The language service's own answer for the name at `symbol` in `file`, as relative file + span. */
function lsLocations(workspace: string, file: string, name: string, occurrence = 0): Span[] {
  const project = getProject(workspace);
  const sf = project.getSourceFileOrThrow(path.join(workspace, file));
  const text = sf.getFullText();
  let pos = -1;
  for (let i = 0; i <= occurrence; i++) pos = text.indexOf(name, pos + 1);
  const locs = project
    .getLanguageService()
    .compilerObject.findRenameLocations(sf.getFilePath(), pos, false, false, {
      providePrefixAndSuffixTextForRename: true,
    });
  return (locs ?? [])
    .map((l) => ({
      file: path.relative(workspace, l.fileName),
      start: l.textSpan.start,
      length: l.textSpan.length,
    }))
    .sort((a, b) => a.file.localeCompare(b.file) || a.start - b.start);
}

const sorted = (spans: Span[]) =>
  [...spans].sort((a, b) => a.file.localeCompare(b.file) || a.start - b.start);

async function rejects(input: unknown, code: string, tool = "ts_rename"): Promise<string> {
  const before = await snapshotDir(ws);
  const err = await call(ws, tool, input).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolError);
  expect((err as ToolError).code).toBe(code);
  expect(await snapshotDir(ws)).toEqual(before);
  return (err as ToolError).message;
}

beforeAll(async () => {
  ws = await copyFixture();
});
afterAll(async () => {
  disposeProjects();
  await rm(ws, { recursive: true, force: true });
});

describe("ts_outline / ts_read", () => {
  it("outlines a folder with symbol paths, kinds, exports and spans", async () => {
    const r = await call(ws, "ts_outline", { path: "src" });
    const files = (
      r.details as {
        files: { file: string; declarations: { path: string; kind: string; exported: boolean }[] }[];
      }
    ).files;
    expect(files.map((f) => f.file)).toEqual([
      "src/app.ts",
      "src/index.ts",
      "src/math.ts",
      "src/shapes.ts",
      "src/util/default-export.ts",
      "src/util/options.ts",
    ]);
    const math = files.find((f) => f.file === "src/math.ts")!.declarations;
    expect(math.map((d) => `${d.kind} ${d.path} ${d.exported}`)).toEqual([
      "function add true",
      "function scale true",
      "function double true",
      "function square true",
      "variable config true",
      "property config.precision false",
      "method config.round false",
      "method config.load false",
      "property config.nested false",
      "property config.nested.depth false",
      "variable internalCounter true",
    ]);
    expect(r.content).toContain("#Rect.constructor constructor");
    expect(r.content).toContain("#Geometry.distance function");
    expect(r.content).toContain("#default.describe method");
    expect(r.content).toContain("#add function L1-4: export function add(a: number, b: number): number {…}");
    // Bodies are never part of an outline.
    expect(r.content).not.toContain("return a + b");
  });

  it("outlines one declaration's members", async () => {
    const r = await call(ws, "ts_outline", { path: "src/shapes.ts#Rect" });
    expect(
      r.content
        .split("\n")
        .slice(1)
        .map((l) => l.trim().split(" ")[0]),
    ).toEqual([
      "#Rect",
      "#Rect.name",
      "#Rect.fill",
      "#Rect.constructor",
      "#Rect.area",
      "#Rect.perimeter",
      "#Rect.color",
      "#Rect.color",
    ]);
  });

  it("reads one declaration with its JSDoc and line span", async () => {
    const r = await call(ws, "ts_read", { path: "src/math.ts#add" });
    expect(r.content).toBe(
      "src/math.ts#add (function, lines 1-4)\n/** Adds two numbers. */\nexport function add(a: number, b: number): number {\n  return a + b;\n}",
    );
    const byDefault = await call(ws, "ts_read", { path: "src/util/default-export.ts#default" });
    expect(byDefault.content).toContain("src/util/default-export.ts#main (function");
    const member = await call(ws, "ts_read", { path: "src/math.ts#config.load" });
    expect(member.content).toContain("  load: (text: string): number => Number.parseFloat(text)");
  });
});

describe("ts_rename", () => {
  it("renames across imports, re-exports and shorthand properties exactly like the language service", async () => {
    const expected = lsLocations(ws, "src/math.ts", "add");
    const r = await call(ws, "ts_rename", { path: "src/math.ts#add", newName: "sum" });
    expect(sorted((r.details as { locations: Span[] }).locations)).toEqual(expected);
    expect(new Set(expected.map((l) => l.file))).toEqual(new Set((r.details as { files: string[] }).files));
    expect(await read("src/app.ts")).toContain("return { area: area(rect), add: sum };");
    expect(await read("src/index.ts")).toContain('export { sum as add, double } from "./math.ts";');
    expect(await read("src/shapes.ts")).toContain(
      "return sum(this.width, this.width) + sum(this.height, this.height);",
    );
    expect(await tscErrors(ws)).toEqual([]);
  });

  it("renames a class member through the interface it implements", async () => {
    const expected = lsLocations(ws, "src/shapes.ts", "area()", 1);
    const r = await call(ws, "ts_rename", { path: "src/shapes.ts#Rect.area", newName: "surface" });
    expect(sorted((r.details as { locations: Span[] }).locations)).toEqual(expected);
    expect(await read("src/shapes.ts")).toContain("  surface(): number;");
    expect(await read("src/shapes.ts")).toContain("return shape.surface();");
    expect(await tscErrors(ws)).toEqual([]);
  });

  it("renames an object-literal member and its uses", async () => {
    const r = await call(ws, "ts_rename", { path: "src/math.ts#config.load", newName: "parse" });
    expect(r.content).toContain("no new type errors");
    expect(await read("src/app.ts")).toContain("config.parse(input)");
    expect(await tscErrors(ws)).toEqual([]);
  });

  it("does not report diagnostics that existed before, under the new name", async () => {
    await call(ws, "ts_replace_body", { path: "src/math.ts#sum", body: 'return "broken";' });
    const r = await call(ws, "ts_rename", { path: "src/math.ts#sum", newName: "total" });
    expect((r.details as { newDiagnostics: unknown[] }).newDiagnostics).toEqual([]);
    await call(ws, "ts_replace_body", { path: "src/math.ts#total", body: "return a + b;" });
    expect(await tscErrors(ws)).toEqual([]);
  });

  it("refuses names that collide in scope, as a member, or are not identifiers", async () => {
    expect(await rejects({ path: "src/math.ts#total", newName: "double" }, "TS_NAME_COLLISION")).toContain(
      "`double` is already in scope",
    );
    expect(
      await rejects({ path: "src/shapes.ts#Rect.surface", newName: "perimeter" }, "TS_NAME_COLLISION"),
    ).toContain("already has a member `perimeter`");
    await rejects({ path: "src/math.ts#total", newName: "1st" }, "TS_BAD_NAME");
    await rejects({ path: "src/math.ts#total", newName: "class" }, "TS_BAD_NAME");
    await rejects({ path: "src/math.ts#total", newName: "total" }, "TS_SAME_NAME");
    await rejects({ path: "src/shapes.ts#Rect.constructor", newName: "make" }, "TS_CANNOT_RENAME");
  });

  it("refuses a rename that would edit a file under schemas/", async () => {
    const other = `${ws}-schemas`;
    await cp(ws, other, { recursive: true });
    try {
      await mkdir(path.join(other, "schemas"), { recursive: true });
      await writeFile(
        path.join(other, "schemas/uses.ts"),
        'import { total } from "../src/math.ts";\nexport const two = total(1, 1);\n',
      );
      const tsconfig = JSON.parse(await readFile(path.join(other, "tsconfig.json"), "utf8")) as {
        include: string[];
      };
      tsconfig.include = ["src", "schemas"];
      await writeFile(path.join(other, "tsconfig.json"), JSON.stringify(tsconfig));
      const before = await snapshotDir(other);
      const err = await call(other, "ts_rename", { path: "src/math.ts#total", newName: "plus" }).then(
        () => null,
        (e: unknown) => e as ToolError,
      );
      expect(err?.code).toBe("TS_SCHEMA_FIXED");
      expect(err?.message).toContain("schemas/uses.ts");
      expect(await snapshotDir(other)).toEqual(before);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe("a workspace without tsconfig.json", () => {
  it("uses default options and finds the .ts files itself", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "loom-ts-noconfig-"));
    try {
      await writeFile(
        path.join(dir, "a.ts"),
        "export function greet(name: string): string {\n  return name;\n}\n",
      );
      await mkdir(path.join(dir, "lib"));
      await writeFile(
        path.join(dir, "lib/b.ts"),
        'import { greet } from "../a.ts";\nexport const hi = greet("x");\n',
      );
      const r = await call(dir, "ts_rename", { path: "a.ts#greet", newName: "welcome" });
      expect((r.details as { files: string[] }).files.sort()).toEqual(["a.ts", "lib/b.ts"]);
      expect(await readFile(path.join(dir, "lib/b.ts"), "utf8")).toContain('export const hi = welcome("x");');
      // A barrel re-exporting both modules is not touched by the rename, yet gets the new clash: reported.
      await writeFile(path.join(dir, "other.ts"), "export const salute = 2;\n");
      await writeFile(path.join(dir, "barrel.ts"), 'export * from "./a.ts";\nexport * from "./other.ts";\n');
      const clash = await call(dir, "ts_rename", { path: "a.ts#welcome", newName: "salute" });
      const diags = (clash.details as { newDiagnostics: { file: string; code: number }[] }).newDiagnostics;
      expect(diags).toEqual([expect.objectContaining({ file: "barrel.ts", code: 2308 })]);
      await call(dir, "ts_rename", { path: "a.ts#salute", newName: "welcome" });
      const broken = await call(dir, "ts_replace_body", { path: "a.ts#welcome", body: "return 1;" });
      expect(broken.content).toMatch(/a\.ts:2 in function `welcome`: TS2322/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
