import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ToolError } from "../../../src/agent/tool.ts";
import { checkedEdit } from "../../../src/agent/ts/check/checked-edit.ts";
import { getWorkspaceProject } from "../../../src/agent/ts/project/project-cache.ts";
import type { WriteIo } from "../../../src/agent/ts/project/write-files.ts";
import { nodeIo } from "../../../src/agent/ts/project/write-files.ts";
import { spliceFile } from "../../../src/agent/ts/syntax/text-edit.ts";
import { disposeProjects, getProject } from "../../../src/agent/ts/tools/index.ts";
import { call, copyFixture, refusedEdit, snapshotDir, tscErrors } from "./helpers.ts";

let ws: string;
const read = (rel: string) => readFile(path.join(ws, rel), "utf8");

/** Runs a tool that must succeed, then proves the whole fixture still type-checks with tsc. */
async function edit(
  name: string,
  input: unknown,
): Promise<{ content: string; details: Record<string, unknown> }> {
  const result = await call(ws, name, input);
  expect(result.isError).toBeFalsy();
  expect(await tscErrors(ws)).toEqual([]);
  return result as { content: string; details: Record<string, unknown> };
}

const refused = (name: string, input: unknown, code: string) => refusedEdit(ws, name, input, code);

beforeAll(async () => {
  ws = await copyFixture();
});
afterAll(async () => {
  disposeProjects();
  await rm(ws, { recursive: true, force: true });
});

describe("ts_replace_body", () => {
  it("replaces a function body and returns a unified diff", async () => {
    const r = await edit("ts_replace_body", {
      path: "src/math.ts#add",
      body: "const sum = a + b;\nreturn sum;",
    });
    expect(await read("src/math.ts")).toContain(
      "export function add(a: number, b: number): number {\n  const sum = a + b;\n  return sum;\n}",
    );
    expect(r.content).toContain("--- a/src/math.ts\n+++ b/src/math.ts\n@@ -1,6 +1,7 @@");
    expect(r.content).toContain("-  return a + b;\n+  const sum = a + b;\n+  return sum;");
    expect(r.details.newDiagnostics).toEqual([]);
  });

  it("turns an expression-bodied arrow into a block, and edits object-literal and class members", async () => {
    await edit("ts_replace_body", { path: "src/math.ts#double", body: "return n + n;" });
    expect(await read("src/math.ts")).toContain(
      "export const double = (n: number): number => {\n  return n + n;\n};",
    );
    await edit("ts_replace_body", { path: "src/math.ts#config.round", body: "return Math.round(value);" });
    expect(await read("src/math.ts")).toContain(
      "  round(value: number): number {\n    return Math.round(value);\n  },",
    );
    await edit("ts_replace_body", {
      path: "src/shapes.ts#Rect.area",
      body: "return this.height * this.width;",
    });
    expect(await read("src/shapes.ts")).toContain(
      "  area(): number {\n    return this.height * this.width;\n  }",
    );
    await edit("ts_replace_body", { path: "src/util/options.ts#default.describe", body: 'return "always";' });
    await edit("ts_replace_body", {
      path: "src/shapes.ts#Rect.color:set",
      body: "this.fill = value ?? Color.Blue;",
    });
    expect(await read("src/shapes.ts")).toContain(
      "  set color(value: Color) {\n    this.fill = value ?? Color.Blue;\n  }",
    );
    expect(await read("src/shapes.ts")).toContain("  get color(): Color {\n    return this.fill;\n  }");
    expect(await read("src/util/options.ts")).toContain('return "always";');
  });

  it("refuses a syntax error with every file byte-identical, naming the enclosing declaration", async () => {
    const msg = await refused(
      "ts_replace_body",
      { path: "src/math.ts#add", body: "return a + ;" },
      "TS_SYNTAX_ERROR",
    );
    expect(msg).toContain("syntax error in function `add` (src/math.ts:");
    expect(msg).toContain("Expression expected");
    expect(msg).toMatch(/> {3}return a \+ ;/);
  });

  it("refuses a body whose braces would escape the function", async () => {
    const msg = await refused(
      "ts_replace_body",
      { path: "src/math.ts#add", body: "return 1;\n}\nexport function sneaky() {\nreturn 2;" },
      "TS_BODY_ESCAPES",
    );
    expect(msg).toContain("function `add`");
  });

  it("applies a type-breaking edit and reports only the new diagnostic, in its declaration", async () => {
    const r = await call(ws, "ts_replace_body", { path: "src/shapes.ts#area", body: 'return "wide";' });
    const diags = (r.details as { newDiagnostics: { where: string; code: number; file: string }[] })
      .newDiagnostics;
    expect(diags).toEqual([
      expect.objectContaining({ file: "src/shapes.ts", code: 2322, where: "function `area`" }),
    ]);
    expect(r.content).toContain("1 new type error (the edit was applied):");
    expect(r.content).toMatch(/src\/shapes\.ts:\d+ in function `area`: TS2322/);
    // A second, unrelated edit in the same file does not report the existing error again.
    const again = await call(ws, "ts_replace_body", {
      path: "src/shapes.ts#Rect.perimeter",
      body: "return 0;",
    });
    expect((again.details as { newDiagnostics: unknown[] }).newDiagnostics).toEqual([]);
    await edit("ts_replace_body", { path: "src/shapes.ts#area", body: "return shape.area();" });
  });

  it("rejects non-functions and explains what to use", async () => {
    const msg = await refused(
      "ts_replace_body",
      { path: "src/shapes.ts#Point", body: "return 1;" },
      "TS_NOT_FUNCTION",
    );
    expect(msg).toContain("ts_replace_declaration");
  });
});

describe("unknown paths", () => {
  it("lists the nearest declarations in the file", async () => {
    const msg = await refused("ts_read", { path: "src/math.ts#confg.rund" }, "TS_NO_SYMBOL");
    expect(msg).toContain("Nearest names: #config.round");
  });

  it("lists the nearest files when the file is missing", async () => {
    const msg = await refused("ts_read", { path: "src/shape.ts#Rect" }, "TS_NO_FILE");
    expect(msg).toMatch(/Nearest files: src\/shapes\.ts/);
  });

  it("rejects paths outside the workspace", async () => {
    await refused("ts_read", { path: "../etc/passwd.ts#x" }, "TS_OUTSIDE_WORKSPACE");
  });
});

describe("ts_insert_member", () => {
  it("inserts into a class, interface, type literal and object literal at the asked position", async () => {
    await edit("ts_insert_member", {
      path: "src/shapes.ts#Rect",
      member: "scale(k: number): Rect {\n  return new Rect(this.width * k, this.height * k);\n}",
      position: { after: "perimeter" },
    });
    expect(await read("src/shapes.ts")).toContain(
      "  }\n\n  scale(k: number): Rect {\n    return new Rect(this.width * k, this.height * k);\n  }\n\n  get color()",
    );
    await edit("ts_insert_member", {
      path: "src/shapes.ts#Shape",
      member: "label?: string",
      position: "first",
    });
    expect(await read("src/shapes.ts")).toContain(
      "export interface Shape {\n  label?: string;\n  readonly name: string;",
    );
    await edit("ts_insert_member", {
      path: "src/shapes.ts#Point",
      member: "z?: number",
      position: { before: "y" },
    });
    expect(await read("src/shapes.ts")).toContain("  x: number;\n  z?: number;\n  y: number;");
    await edit("ts_insert_member", { path: "src/math.ts#config", member: "debug: false" });
    expect(await read("src/math.ts")).toMatch(
      / {2}nested: \{\n {4}depth: 1,\n {2}\},\n {2}debug: false,\n\};/,
    );
    await edit("ts_insert_member", {
      path: "src/math.ts#config.nested",
      member: "width: 3",
      position: "first",
    });
    expect(await read("src/math.ts")).toContain("  nested: {\n    width: 3,\n    depth: 1,\n  },");
  });

  it("reports an unknown sibling with the member names", async () => {
    const msg = await refused(
      "ts_insert_member",
      { path: "src/shapes.ts#Rect", member: "x = 1;", position: { after: "perimetr" } },
      "TS_NO_MEMBER",
    );
    expect(msg).toContain("perimeter");
  });

  it("refuses text that is not a member (syntax error) and a target that is not a container", async () => {
    await refused("ts_insert_member", { path: "src/shapes.ts#Rect", member: "return 1;" }, "TS_SYNTAX_ERROR");
    await refused("ts_insert_member", { path: "src/math.ts#add", member: "x: 1" }, "TS_NOT_CONTAINER");
  });
});

describe("ts_replace_declaration / ts_remove_declaration", () => {
  it("replaces a function with its overloads and JSDoc", async () => {
    await edit("ts_replace_declaration", {
      path: "src/math.ts#scale",
      text: "/** Scales a value. */\nexport function scale(value: number, factor = 3): number {\n  return value * factor;\n}",
    });
    const text = await read("src/math.ts");
    expect(text).toContain(
      "/** Scales a value. */\nexport function scale(value: number, factor = 3): number {",
    );
    expect(text).not.toContain("export function scale(value: number): number;");
  });

  it("replaces an object-literal member keeping the list's commas", async () => {
    await edit("ts_replace_declaration", {
      path: "src/math.ts#config.load",
      text: "load: (text: string): number => Number(text),",
    });
    expect(await read("src/math.ts")).toContain(
      "  load: (text: string): number => Number(text),\n  nested: {",
    );
  });

  it("removes a declaration and reports the references it broke as new diagnostics", async () => {
    const r = await call(ws, "ts_remove_declaration", { path: "src/math.ts#square" });
    expect(r.content).toContain("no new type errors");
    expect(await read("src/math.ts")).not.toContain("square");
    // config.load is used in an importer (src/app.ts): the error shows up there, in its declaration.
    const broken = await call(ws, "ts_remove_declaration", { path: "src/math.ts#config.load" });
    const diags = (broken.details as { newDiagnostics: { file: string; where: string; code: number }[] })
      .newDiagnostics;
    expect(diags).toEqual([
      expect.objectContaining({ file: "src/app.ts", code: 2339, where: "function `handler`" }),
    ]);
    await edit("ts_insert_member", {
      path: "src/math.ts#config",
      member: "load: (text: string): number => Number(text)",
      position: { before: "nested" },
    });
  });
});

describe("ts_add_import", () => {
  it("merges into an existing import from the same module", async () => {
    const uses = await call(ws, "ts_replace_body", {
      path: "src/app.ts#summary",
      body: "const rect = new Rect(scale(2), 3);\nreturn { area: area(rect), add };",
    });
    expect(uses.content).toContain("Cannot find name 'scale'");
    const r = await call(ws, "ts_add_import", { path: "src/app.ts", module: "./math.ts", named: ["scale"] });
    expect(r.content).toContain("no new type errors");
    expect(await read("src/app.ts")).toContain('import { add, config, double, scale } from "./math.ts";');
    expect(await tscErrors(ws)).toEqual([]);
  });

  it("adds a default import and a type-only import as new declarations", async () => {
    await edit("ts_add_import", { path: "src/app.ts", module: "./util/default-export.ts", default: "main" });
    await edit("ts_add_import", { path: "src/app.ts", module: "./shapes.ts", named: ["type Shape"] });
    const text = await read("src/app.ts");
    expect(text).toContain('import main from "./util/default-export.ts";');
    expect(text).toMatch(/import \{ area, Geometry, type Point, Rect, type Shape \} from "\.\/shapes\.ts";/);
  });

  it("refuses a name already declared in the file, and bad specs", async () => {
    const msg = await refused(
      "ts_add_import",
      { path: "src/app.ts", module: "./shapes.ts", named: ["handler"] },
      "TS_NAME_COLLISION",
    );
    expect(msg).toContain("handler as other");
    await refused(
      "ts_add_import",
      { path: "src/app.ts", module: "./x.ts", named: ["not valid"] },
      "TS_BAD_IMPORT",
    );
  });
});

describe("refresh, schemas, atomic writes", () => {
  it("sees a file changed on disk by someone else before the next call", async () => {
    const file = path.join(ws, "src/util/default-export.ts");
    await writeFile(
      file,
      "export default function main(args: string[]): number {\n  return args.length * 2;\n}\n\nexport function extra(): void {}\n",
    );
    const outline = await call(ws, "ts_outline", { path: "src/util/default-export.ts" });
    expect(outline.content).toContain("#extra function");
    // A new file in a new folder is picked up too.
    await mkdir(path.join(ws, "src/late"), { recursive: true });
    await writeFile(path.join(ws, "src/late/new-file.ts"), "export const late = 1;\n");
    const read = await call(ws, "ts_read", { path: "src/late/new-file.ts#late" });
    expect(read.content).toContain("export const late = 1;");
    expect(getProject(ws).getSourceFile(path.join(ws, "src/late/new-file.ts"))).toBeDefined();
  });

  it("forgets a file deleted on disk", async () => {
    await writeFile(path.join(ws, "src/util/doomed.ts"), "export const doomed = 1;\n");
    expect((await call(ws, "ts_read", { path: "src/util/doomed.ts#doomed" })).content).toContain(
      "doomed = 1",
    );
    await rm(path.join(ws, "src/util/doomed.ts"));
    await refused("ts_read", { path: "src/util/doomed.ts#doomed" }, "TS_NO_FILE");
    expect((await call(ws, "ts_outline", { path: "src/util" })).content).not.toContain("doomed");
  });

  it("serialises concurrent edits of one workspace", async () => {
    const [a, b] = await Promise.all([
      call(ws, "ts_replace_body", { path: "src/shapes.ts#Rect.perimeter", body: "return 1;" }),
      call(ws, "ts_replace_body", {
        path: "src/shapes.ts#Rect.perimeter",
        body: "return 2 * (this.width + this.height);",
      }),
    ]);
    expect(a.content).toContain("+    return 1;");
    expect(b.content).toContain("-    return 1;\n+    return 2 * (this.width + this.height);");
    expect(await read("src/shapes.ts")).toContain(
      "  perimeter(): number {\n    return 2 * (this.width + this.height);\n  }",
    );
  });

  it("writes nothing when the call was cancelled", async () => {
    const controller = new AbortController();
    controller.abort();
    const before = await snapshotDir(ws);
    const err = await call(
      ws,
      "ts_replace_body",
      { path: "src/math.ts#add", body: "return 0;" },
      controller.signal,
    ).then(
      () => null,
      (e: unknown) => e as ToolError,
    );
    expect(err?.code).toBe("TS_CANCELLED");
    expect(await snapshotDir(ws)).toEqual(before);
    expect(getProject(ws).getSourceFileOrThrow(path.join(ws, "src/math.ts")).getFullText()).toBe(
      before.get("src/math.ts"),
    );
  });

  it("restores the first file when writing the second of three fails", async () => {
    const wp = getWorkspaceProject(ws);
    const files = ["src/math.ts", "src/shapes.ts", "src/app.ts"].map((f) =>
      wp.project.getSourceFileOrThrow(path.join(ws, f)),
    );
    const before = await snapshotDir(ws);
    let renames = 0;
    const failingIo: WriteIo = {
      ...nodeIo,
      async rename(from, to) {
        renames++;
        if (renames === 2) throw new Error("disk full (simulated)");
        return nodeIo.rename(from, to);
      },
    };
    const err = await checkedEdit(wp, {
      planned: files,
      apply: () => {
        for (const sf of files) spliceFile(sf, [{ start: 0, end: 0, text: "// touched\n" }]);
      },
      summary: "touch three files",
      io: failingIo,
    }).then(
      () => null,
      (e: unknown) => e as ToolError,
    );
    expect(err?.code).toBe("TS_WRITE_FAILED");
    expect(err?.message).toContain("disk full (simulated)");
    expect(renames).toBeGreaterThanOrEqual(2);
    expect(await snapshotDir(ws)).toEqual(before);
    for (const sf of files) expect(sf.getFullText().startsWith("// touched")).toBe(false);
  });
});
