import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disposeProjects } from "../../../src/agent/ts/tools/index.ts";
import { call } from "./helpers.ts";

/**
 * The edit tools type-check only what the edited files can see (their imports, the libs, global scripts
 * and augmentations) and skip the declaration emit when the kind of edit settles the question. These
 * prove the answers are still those of a whole-project check.
 */

let ws: string;

const files: Record<string, string> = {
  "tsconfig.json": JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: [],
    },
    include: ["src"],
  }),
  "package.json": JSON.stringify({ type: "module" }),
  // A script (no import/export): its declarations are global, and no module imports it.
  "src/globals.ts": "declare const BUILD_ID: string;\n",
  "src/augment.ts": "export {};\ndeclare global {\n  var APP_VERSION: number;\n}\n",
  "src/a.ts": [
    "export function label(): string {",
    "  return BUILD_ID;",
    "}",
    "",
    "export function count() {",
    "  return 1;",
    "}",
    "",
    "export interface Shape {",
    "  area(): number;",
    "}",
    "",
  ].join("\n"),
  // Only re-exports: it sees names and kinds, so a new member of Shape cannot change it, a new name can.
  "src/index.ts": 'export * from "./a.ts";\nexport * from "./c.ts";\n',
  "src/c.ts": "export function other(): number {\n  return 3;\n}\n",
  "src/b.ts": [
    'import { count, type Shape } from "./a.ts";',
    "",
    "export const total: number = count();",
    "",
    "export class Square implements Shape {",
    "  area(): number {",
    "    return 4;",
    "  }",
    "}",
    "",
  ].join("\n"),
};

interface Diag {
  file: string;
  code: number;
  where: string;
}

async function diagnostics(name: string, input: unknown): Promise<Diag[]> {
  const r = await call(ws, name, input);
  expect(r.isError).toBeFalsy();
  return (r.details as { newDiagnostics: Diag[] }).newDiagnostics.map(({ file, code, where }) => ({
    file,
    code,
    where,
  }));
}

beforeAll(async () => {
  ws = await mkdtemp(path.join(os.tmpdir(), "loom-ts-scope-"));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(ws, rel)), { recursive: true });
    await writeFile(path.join(ws, rel), text);
  }
});
afterAll(async () => {
  disposeProjects();
  await rm(ws, { recursive: true, force: true });
});

describe("the type check of an edit sees what the whole project sees", () => {
  it("knows globals from a script and a `declare global` no import leads to", async () => {
    // Were the globals missing, both would be "Cannot find name" (2304) instead of a type mismatch.
    expect(
      await diagnostics("ts_replace_body", { path: "src/a.ts#label", body: "return APP_VERSION;" }),
    ).toEqual([{ file: "src/a.ts", code: 2322, where: "function `label`" }]);
    expect(
      await diagnostics("ts_replace_body", { path: "src/a.ts#label", body: "return BUILD_ID;" }),
    ).toEqual([]);
  });

  it("re-checks importers when an inferred return type changes", async () => {
    expect(await diagnostics("ts_replace_body", { path: "src/a.ts#count", body: 'return "one";' })).toEqual([
      { file: "src/b.ts", code: 2322, where: "variable `total`" },
    ]);
    expect(await diagnostics("ts_replace_body", { path: "src/a.ts#count", body: "return 2;" })).toEqual([]);
  });

  it("re-checks importers after a new member, without emitting declarations first", async () => {
    expect(
      await diagnostics("ts_insert_member", { path: "src/a.ts#Shape", member: "perimeter(): number;" }),
    ).toEqual([{ file: "src/b.ts", code: 2420, where: "class `Square`" }]);
  });

  it("re-checks a file that only re-exports when a name comes or goes", async () => {
    expect(
      await diagnostics("ts_replace_declaration", {
        path: "src/c.ts#other",
        text: "export function count(): number {\n  return 3;\n}",
      }),
    ).toEqual([{ file: "src/index.ts", code: 2308, where: "top level" }]);
    expect(
      await diagnostics("ts_replace_declaration", {
        path: "src/c.ts#count",
        text: "export function other(): number {\n  return 3;\n}",
      }),
    ).toEqual([]);
    // Kept names leave the re-exporter's cached result valid; it still counts as "before" next time.
    expect(
      await diagnostics("ts_insert_member", { path: "src/a.ts#Shape", member: "corners(): number;" }),
    ).toEqual([{ file: "src/b.ts", code: 2420, where: "class `Square`" }]);
    expect(
      await diagnostics("ts_replace_declaration", {
        path: "src/c.ts#other",
        text: "export function label(): number {\n  return 3;\n}",
      }),
    ).toEqual([{ file: "src/index.ts", code: 2308, where: "top level" }]);
  });

  it("resolves an import again once its file appears on disk", async () => {
    await writeFile(
      path.join(ws, "src/d.ts"),
      'import { later } from "./later.ts";\n\nexport function useLater(): number {\n  return 0;\n}\n',
    );
    // The import cannot resolve yet: the body's use of `later` is fine only once it does.
    expect(
      await diagnostics("ts_replace_body", { path: "src/d.ts#useLater", body: "return later;" }),
    ).toEqual([]);
    await writeFile(path.join(ws, "src/later.ts"), 'export const later = "soon";\n');
    // With a stale "not found" `later` would still be `any` and nothing new reported; resolved, it is a string.
    expect(
      await diagnostics("ts_replace_body", {
        path: "src/d.ts#useLater",
        body: "return later.toFixed(2);",
      }),
    ).toEqual([{ file: "src/d.ts", code: 2551, where: "function `useLater`" }]);
  });

  it("sees a file another process rewrote, in the edited file's imports", async () => {
    await writeFile(
      path.join(ws, "src/a.ts"),
      "export function count(): string {\n  return 'x';\n}\nexport interface Shape {\n  area(): number;\n}\n",
    );
    // b.ts's own error (a string into `total`) existed before the edit: only the new one is reported.
    expect(
      await diagnostics("ts_replace_body", { path: "src/b.ts#Square.area", body: "return count();" }),
    ).toEqual([{ file: "src/b.ts", code: 2322, where: "method `Square.area`" }]);
  });
});
