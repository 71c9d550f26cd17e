import { utimes } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalEngine } from "../../lab-runtime/eval/engine.ts";
import { makeWorkspace } from "./workspace.ts";

const track = (name: string) => `((globalThis as any).__runs ??= []).push(${JSON.stringify(name)});\n`;

let ws: Awaited<ReturnType<typeof makeWorkspace>>;
let engine: EvalEngine;

beforeAll(async () => {
  ws = await makeWorkspace({
    "src/a.ts": `${track("a")}export const base: number = 1;\n`,
    "src/b.ts": `${track("b")}import { base } from "./a.js";\nexport const twice = (): number => base * 2;\n`,
    "src/c.ts": `${track("c")}import { twice } from "./b";\nexport function c(): number { return twice() + 1; }\n`,
    "src/d.ts": `${track("d")}export const dee = "d";\n`,
    "src/e.ts": `${track("e")}import { dee } from "./d.ts";\nexport const e = dee + "e";\n`,
    "src/lib/index.ts": `export const fromIndex = "index";\n`,
    "src/data.json": `{"answer": 42}`,
    "src/meta.ts": "export const url: string = import.meta.url;\n",
    "src/thrower.ts": `export function fail(): void {\n  const x: number = 1;\n  throw new RangeError("bad " + x);\n}\n`,
    "src/broken.ts": "export const = 1;\n",
    "src/cycle-a.ts": `import { bee } from "./cycle-b.ts";\nexport const ay = (): string => "a" + bee();\n`,
    "src/cycle-b.ts": `import { ay } from "./cycle-a.ts";\nexport const bee = (): string => "b";\nexport const both = (): string => ay();\n`,
    "src/flaky.ts": `throw new Error("not ready");\n`,
    "src/uses-broken.ts": `import "./broken.ts";\n`,
    "node_modules/fake-pkg/package.json": `{"name":"fake-pkg","main":"index.js"}`,
    "node_modules/fake-pkg/index.js": "exports.hello = () => 'from a package';\n",
  });
  engine = new EvalEngine({ workspace: ws.root });
  await engine.warm();
});

afterAll(async () => {
  await engine?.close();
  expect(await engine.eval("1")).toEqual({ status: "error", message: "the eval engine is closed" });
  await engine?.close();
  await ws?.remove();
});

const RUNS_FORM = `import { c } from "./src/c";
import { e } from "./src/e.js";
const g = globalThis as any;
const runs = [...g.__runs];
g.__runs.length = 0;
({ runs, c: c(), e })`;

describe("imports", () => {
  it("resolves paths without extension, with .ts, .js→.ts, index files, JSON, builtins and packages", async () => {
    const res = await engine.eval(`import { twice } from "./src/b.ts";
import { base } from "./src/a";
import { fromIndex } from "./src/lib";
import data from "./src/data.json";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { hello } from "fake-pkg";
[twice(), base, fromIndex, data.answer, path.basename("/x/y.ts"), hello()]`);
    expect(res).toEqual({ status: "ok", value: [2, 1, "index", 42, "y.ts", "from a package"] });
  });

  it("resolves absolute paths and file: URLs to the same module instance", async () => {
    const abs = path.join(ws.root, "src/b.ts");
    const res = await engine.eval(`import { twice as viaPath } from ${JSON.stringify(abs)};
import { twice as viaUrl } from ${JSON.stringify(pathToFileURL(abs).href)};
import { twice } from "./src/b";
viaPath === twice && viaUrl === twice`);
    expect(res).toEqual({ status: "ok", value: true });
  });

  it("gives modules import.meta.url as their file URL", async () => {
    const res = await engine.eval(`import { url } from "./src/meta.ts"; url`);
    expect(res.value).toBe(`file://${path.join(ws.root, "src/meta.ts")}`);
  });

  it("names the specifier when a module cannot be found", async () => {
    const res = await engine.eval(`import { x } from "./src/missing.ts"; x`);
    expect(res.status).toBe("error");
    expect(res.message).toContain("Cannot find module './src/missing.ts'");
  });

  it("reports a module that does not compile with its file and line", async () => {
    const res = await engine.eval(`import "./src/uses-broken.ts"; 1`);
    expect(res.status).toBe("error");
    expect(res.message).toMatch(/cannot compile .*broken\.ts[\s\S]*broken\.ts:1:\d+/);
  });
});

describe("incremental re-evaluation", () => {
  it("re-runs a changed module and its importers only, reusing the rest", async () => {
    const first = await engine.eval(RUNS_FORM);
    expect(first.status).toBe("ok");
    // Whatever ran first, a second eval with no edit re-runs nothing.
    expect(await engine.eval(RUNS_FORM)).toEqual({ status: "ok", value: { runs: [], c: 3, e: "de" } });

    await ws.write("src/a.ts", `${track("a")}export const base: number = 10;\n`);
    expect(await engine.eval(RUNS_FORM)).toEqual({
      status: "ok",
      value: { runs: ["a", "b", "c"], c: 21, e: "de" },
    });

    await ws.write("src/d.ts", `${track("d")}export const dee = "D!";\n`);
    expect(await engine.eval(RUNS_FORM)).toEqual({
      status: "ok",
      value: { runs: ["d", "e"], c: 21, e: "D!e" },
    });
  });

  it("does not re-run a module whose mtime changed but content did not", async () => {
    await engine.eval(RUNS_FORM);
    const later = new Date(Date.now() + 5000);
    await utimes(path.join(ws.root, "src/b.ts"), later, later);
    expect(await engine.eval(RUNS_FORM)).toEqual({ status: "ok", value: { runs: [], c: 21, e: "D!e" } });
  });
});

describe("module edge cases", () => {
  it("runs import cycles and re-runs the whole cycle when one side changes", async () => {
    expect(await engine.eval(`import { both } from "./src/cycle-b.ts"; both()`)).toEqual({
      status: "ok",
      value: "ab",
    });
    await ws.write(
      "src/cycle-b.ts",
      `import { ay } from "./cycle-a.ts";\nexport const bee = (): string => "B";\nexport const both = (): string => ay();\n`,
    );
    expect(await engine.eval(`import { both } from "./src/cycle-b.ts"; both()`)).toEqual({
      status: "ok",
      value: "aB",
    });
  });

  it("retries a module whose top level threw, once it is fixed", async () => {
    const failed = await engine.eval(`import "./src/flaky.ts"; 1`);
    expect(failed.status).toBe("error");
    expect(failed.message).toMatch(/^Error: not ready\n {4}at .*src\/flaky\.ts:1:7/);
    await ws.write("src/flaky.ts", "export const ready = true;\n");
    expect(await engine.eval(`import { ready } from "./src/flaky.ts"; ready`)).toEqual({
      status: "ok",
      value: true,
    });
  });

  it("serves dynamic import() through the same module system", async () => {
    const res = await engine.eval(`import { twice as fromStatic } from "./src/b.ts";
const { twice } = await import("./src/b.js");
twice === fromStatic`);
    expect(res).toEqual({ status: "ok", value: true });
  });
});

describe("forms", () => {
  it("returns the last expression statement, with types stripped and top-level await", async () => {
    const res = await engine.eval(`const n: number = await Promise.resolve(41);
interface Shape { k: number }
const s: Shape = { k: n + 1 };
s.k;
const unused = 0;`);
    expect(res).toEqual({ status: "ok", value: 42 });
  });

  it("awaits a promise value and omits value for undefined", async () => {
    expect(await engine.eval("Promise.resolve('later')")).toEqual({ status: "ok", value: "later" });
    expect(await engine.eval("const x = 1;")).toEqual({ status: "ok" });
  });

  it("captures console output, prefixed by kind, into message", async () => {
    const res = await engine.eval(
      `console.log("hello", { a: 1 }); console.warn("careful\\nsecond line"); console.error(new Map([[1, 2]])); 7`,
    );
    expect(res).toEqual({
      status: "ok",
      value: 7,
      message: "[log] hello { a: 1 }\n[warn] careful\n[warn] second line\n[error] Map(1) { 1 => 2 }",
    });
  });

  it("refuses export statements with a message saying what is accepted", async () => {
    const res = await engine.eval("const a = 1;\nexport const b = 2;");
    expect(res.status).toBe("error");
    expect(res.message).toContain("line 2: `export` is not supported");
  });

  it("reports a syntax error in the form", async () => {
    const res = await engine.eval("const = ;");
    expect(res.status).toBe("error");
    expect(res.message).toMatch(/^the form does not compile:\n\[eval\]:1:7: /);
  });
});

describe("errors", () => {
  it("returns name, message and a stack mapped to the TypeScript lines, plus earlier console output", async () => {
    const res = await engine.eval(`import { fail } from "./src/thrower.ts";
console.log("before");
fail();`);
    expect(res.status).toBe("error");
    const lines = (res.message ?? "").split("\n");
    expect(lines[0]).toBe("RangeError: bad 1");
    expect(lines[1]).toBe("    at fail (src/thrower.ts:3:9)");
    expect(lines[2]).toMatch(/^ {4}at .*\[eval\]:3:1\)?$/);
    expect(res.message).toContain("console output before the error:\n[log] before");
  });

  it("maps columns on the form's first line despite the hoisted imports", async () => {
    const res = await engine.eval(`import { fail } from "./src/thrower.ts"; const k = 1; fail()`);
    expect(res.message?.split("\n")[2]).toMatch(/\[eval\]:1:55\)?$/);
  });

  it("describes thrown non-errors", async () => {
    expect(await engine.eval(`throw { code: 7 }`)).toEqual({
      status: "error",
      message: "Uncaught { code: 7 }",
    });
  });
});

describe("value serialisation", () => {
  const value = async (form: string) => {
    const res = await engine.eval(form);
    expect(res.status).toBe("ok");
    return res.value;
  };

  it("passes JSON-faithful values through as JSON", async () => {
    expect(await value(`({ a: [1, "x", null, true], b: { c: 1.5 } })`)).toEqual({
      a: [1, "x", null, true],
      b: { c: 1.5 },
    });
    expect(await value(`new Date(0)`)).toBe("1970-01-01T00:00:00.000Z");
  });

  it("falls back to inspect text for bigint, Map, Set, functions, cycles, undefined inside and NaN", async () => {
    expect(await value("10n ** 20n")).toBe("100000000000000000000n");
    expect(await value(`new Map([["k", 1]])`)).toBe("Map(1) { 'k' => 1 }");
    expect(await value("new Set([1, 2])")).toBe("Set(2) { 1, 2 }");
    expect(await value("function named() {}; named")).toBe("[Function: named]");
    expect(await value("const o: any = { n: 1 }; o.self = o; o")).toBe(
      "<ref *1> { n: 1, self: [Circular *1] }",
    );
    expect(await value("({ a: undefined })")).toBe("{ a: undefined }");
    expect(await value("NaN")).toBe("NaN");
    expect(await value("class P { x = 1 }; new P()")).toBe("P { x: 1 }");
  });

  it("bounds large values with a truncation marker", async () => {
    const text = (await value(`"x".repeat(200_000)`)) as string;
    expect(text.startsWith("xxx")).toBe(true);
    expect(text).toContain("…[truncated: 65536 of 200000 characters shown]");
    expect(text.length).toBeLessThan(66_000);
    const big = (await value(`Array.from({ length: 50_000 }, (_, i) => ({ i }))`)) as string;
    expect(typeof big).toBe("string");
    expect(big.length).toBeLessThan(66_000);
  });
});
