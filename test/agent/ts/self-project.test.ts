import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolError } from "../../../src/agent/tool.ts";
import { disposeProjects, getProject } from "../../../src/agent/ts/tools/index.ts";
import { call, copySelf, snapshotDir, tscErrors } from "./helpers.ts";

/**
 * The tools on a temp copy of Loom's own src/ and schemas/. Other files of the tree may be mid-edit by
 * other people, so "still type-checks" means: tsc reports exactly the errors it reported before.
 */

let ws: string;
let baseline: string[];

/** An edit by a tool; tsc checks the tree once after all of them ("still type-checks", below). */
async function edit(name: string, input: unknown): Promise<string> {
  return (await call(ws, name, input)).content;
}

async function refused(name: string, input: unknown, code: string): Promise<string> {
  const before = await snapshotDir(path.join(ws, "src"));
  const err = await call(ws, name, input).then(
    () => null,
    (e: unknown) => e as ToolError,
  );
  expect(err).toBeInstanceOf(ToolError);
  expect(err?.code).toBe(code);
  expect(await snapshotDir(path.join(ws, "src"))).toEqual(before);
  return err!.message;
}

describe("ts tools on a copy of Loom itself", { timeout: 180_000 }, () => {
  beforeAll(async () => {
    ws = await copySelf();
    baseline = await tscErrors(ws, { incremental: true });
  }, 180_000);
  afterAll(async () => {
    disposeProjects();
    await rm(ws, { recursive: true, force: true });
  });

  it("outlines and reads its own code", async () => {
    const outline = await call(ws, "ts_outline", { path: "src/agent/ts" });
    expect(outline.content).toContain("#checkedEdit function");
    expect(outline.content).toContain("#tsRename variable");
    const read = await call(ws, "ts_read", { path: "src/shared/edit-distance.ts#editDistance" });
    expect(read.content).toMatch(
      /^src\/shared\/edit-distance\.ts#editDistance \(function, lines \d+-\d+\)\n/,
    );
    expect(read.content).toContain("export function editDistance(a: string, b: string): number {");
  });

  it("replaces a body, keeping the project's type-check unchanged", async () => {
    const fn = getProject(ws)
      .getSourceFileOrThrow(path.join(ws, "src/shared/edit-distance.ts"))
      .getFunctionOrThrow("editDistance");
    const body = `if (a === b) return 0;\n${fn.getBodyText()}`;
    const out = await edit("ts_replace_body", { path: "src/shared/edit-distance.ts#editDistance", body });
    expect(out).toContain("+  if (a === b) return 0;");
    expect(await readFile(path.join(ws, "src/shared/edit-distance.ts"), "utf8")).toContain(
      "): number {\n  if (a === b) return 0;\n  const prev",
    );
  });

  it("renames a function used across files exactly where the language service says", async () => {
    const sf = getProject(ws).getSourceFileOrThrow(path.join(ws, "src/agent/ts/syntax/symbol-path.ts"));
    const pos = sf.getFunctionOrThrow("nearest").getNameNodeOrThrow().getStart();
    const expected = (
      getProject(ws)
        .getLanguageService()
        .compilerObject.findRenameLocations(sf.getFilePath(), pos, false, false, {
          providePrefixAndSuffixTextForRename: true,
        }) ?? []
    )
      .map((l) => `${path.relative(ws, l.fileName)}:${l.textSpan.start}:${l.textSpan.length}`)
      .sort();
    expect(expected.length).toBeGreaterThan(3);
    const result = await call(ws, "ts_rename", {
      path: "src/agent/ts/syntax/symbol-path.ts#nearest",
      newName: "nearestNames",
    });
    const got = (result.details as { locations: { file: string; start: number; length: number }[] }).locations
      .map((l) => `${l.file}:${l.start}:${l.length}`)
      .sort();
    expect(got).toEqual(expected);
    const readTool = await readFile(path.join(ws, "src/agent/ts/tools/read.ts"), "utf8");
    expect(readTool).toContain("nearestNames(");
    expect(readTool).not.toMatch(/\bnearest\(/);
  });

  it("inserts a member into a class", async () => {
    await edit("ts_insert_member", {
      path: "src/shared/errors.ts#LoomError",
      member:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the member's source contains a template literal
        "/** Stable code for logs. */\nget label(): string {\n  return `${this.code}: ${this.message}`;\n}",
    });
    const text = await readFile(path.join(ws, "src/shared/errors.ts"), "utf8");
    expect(text).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: expected source text with a template literal
      "  /** Stable code for logs. */\n  get label(): string {\n    return `${this.code}: ${this.message}`;\n  }",
    );
  });

  it("after the body, the rename and the member, tsc reports exactly the errors it reported before", async () => {
    // One tsc run for the three edits, from the first run's build info (a whole check of Loom is ~8 s of
    // CPU; this one re-checks the edited files and what their declarations reach): an edit that broke the
    // tree would show here, as none of them can mend another's error.
    expect(await tscErrors(ws, { incremental: true })).toEqual(baseline);
    expect(await readFile(path.join(ws, "src/shared/errors.ts"), "utf8")).toContain("get label(): string {");
  });

  it("refuses a syntax-breaking body with every file byte-identical", async () => {
    const msg = await refused(
      "ts_replace_body",
      { path: "src/agent/ts/syntax/unified-diff.ts#splitLines", body: "if (text === '' return [];" },
      "TS_SYNTAX_ERROR",
    );
    expect(msg).toContain("syntax error in function `splitLines` (src/agent/ts/syntax/unified-diff.ts:");
  });

  it("applies a type-breaking body and reports only that new diagnostic", async () => {
    const result = await call(ws, "ts_replace_body", {
      path: "src/agent/ts/syntax/unified-diff.ts#splitLines",
      body: "return text.length;",
    });
    const diags = (result.details as { newDiagnostics: { file: string; code: number; where: string }[] })
      .newDiagnostics;
    expect(diags).toEqual([
      expect.objectContaining({
        file: "src/agent/ts/syntax/unified-diff.ts",
        code: 2322,
        where: "function `splitLines`",
      }),
    ]);
  });

  it("refuses edits to schemas/ and sees external writes", async () => {
    const outline = await call(ws, "ts_outline", { path: "schemas/usage.ts" });
    const first = /#(\w+) /.exec(outline.content.split("\n")[1] ?? "")?.[1];
    expect(first).toBeDefined();
    await refused("ts_remove_declaration", { path: `schemas/usage.ts#${first}` }, "TS_SCHEMA_FIXED");
    await writeFile(
      path.join(ws, "src/agent/ts/late.ts"),
      "export function lateComer(): number {\n  return 1;\n}\n",
    );
    const read = await call(ws, "ts_read", { path: "src/agent/ts/late.ts#lateComer" });
    expect(read.content).toContain("return 1;");
  });
});
