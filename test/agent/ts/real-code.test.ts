import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disposeProjects } from "../../../src/agent/ts/tools/index.ts";
import { call, repoRoot } from "./helpers.ts";

/**
 * The ts_* tools on published code as a new user meets it (rxjs 7.8.2 and mobx 6.16.1, copied unmodified
 * under test/fixtures/real/): a real file's own style and layout, not one written for the tools.
 */

const OBSERVABLE = "src/internal/Observable.ts";
let rxjs: string;
let mobx: string;
let original: string;

async function copyReal(name: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `loom-ts-real-${name}-`));
  await cp(path.join(repoRoot, "test/fixtures/real", name), dir, { recursive: true });
  return dir;
}

/** Lines `from`..`to` (1-based, inclusive) of a text, as they are in the file. */
const linesOf = (text: string, from: number, to: number): string =>
  text
    .split("\n")
    .slice(from - 1, to)
    .join("\n");

beforeAll(async () => {
  rxjs = await copyReal("rxjs");
  mobx = await copyReal("mobx");
  original = await readFile(path.join(rxjs, OBSERVABLE), "utf8");
});
afterAll(async () => {
  disposeProjects();
  await rm(rxjs, { recursive: true, force: true });
  await rm(mobx, { recursive: true, force: true });
});

describe("an overloaded method (rxjs Observable.forEach)", () => {
  it("ts_read returns both overload signatures, with their JSDoc, and the implementation", async () => {
    const r = await call(rxjs, "ts_read", { path: `${OBSERVABLE}#Observable.forEach` });
    expect(r.content).toBe(
      `${OBSERVABLE}#Observable.forEach (method, lines 244-321)\n${linesOf(original, 244, 321)}`,
    );
    expect(r.details).toMatchObject({ kind: "method", startLine: 244, endLine: 321 });
  });

  it("ts_outline lists the method once and counts the file's lines as wc -l does", async () => {
    const r = await call(rxjs, "ts_outline", { path: OBSERVABLE });
    const lines = r.content.split("\n");
    expect(original.split("\n").length - 1).toBe(487);
    expect(lines[0]).toBe(`${OBSERVABLE} (487 lines)`);
    expect(lines.filter((l) => l.includes("#Observable.forEach "))).toEqual([
      "    #Observable.forEach method L244-288: forEach(next: (value: T) => void): Promise<void>;",
    ]);
  });

  it("ts_replace_declaration replaces the overloads with the implementation", async () => {
    const text = [
      "/** Calls `next` for each value; resolves when the observable completes. */",
      "forEach(next: (value: T) => void): Promise<void> {",
      "  return new Promise<void>((resolve, reject) => {",
      "    this.subscribe({ next, error: reject, complete: resolve });",
      "  });",
      "}",
    ].join("\n");
    const r = await call(rxjs, "ts_replace_declaration", { path: `${OBSERVABLE}#Observable.forEach`, text });
    expect(r.isError).toBeFalsy();
    const after = await readFile(path.join(rxjs, OBSERVABLE), "utf8");
    const indented = text
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n");
    expect(after).toBe(`${linesOf(original, 1, 243)}\n${indented}\n${linesOf(original, 322, 488)}`);
    const read = await call(rxjs, "ts_read", { path: `${OBSERVABLE}#Observable.forEach` });
    expect(read.content).toBe(`${OBSERVABLE}#Observable.forEach (method, lines 244-249)\n${indented}`);
  });
});

describe("ts_add_import in the file's own style", () => {
  it("adds to a single-quoted rxjs file in single quotes, other imports untouched", async () => {
    const file = "src/internal/Subscriber.ts";
    const before = await readFile(path.join(rxjs, file), "utf8");
    await call(rxjs, "ts_add_import", { path: file, module: "./util/pipe", named: ["pipeFromArray"] });
    const after = await readFile(path.join(rxjs, file), "utf8");
    const imports = before.split("\n").filter((l) => l.startsWith("import "));
    const last = before.indexOf(imports.at(-1)!) + imports.at(-1)!.length;
    expect(after).toBe(
      `${before.slice(0, last)}\nimport { pipeFromArray } from './util/pipe';${before.slice(last)}`,
    );
  });

  it("merges into an existing single-quoted import without reformatting it or its neighbours", async () => {
    const file = "src/internal/Subscriber.ts";
    const before = await readFile(path.join(rxjs, file), "utf8");
    const line = "import { isFunction } from './util/isFunction';";
    expect(before).toContain(line);
    await call(rxjs, "ts_add_import", {
      path: file,
      module: "./util/isFunction",
      named: ["type Foo as Bar"],
    });
    expect(await readFile(path.join(rxjs, file), "utf8")).toBe(
      before.replace(line, "import { isFunction, type Foo as Bar } from './util/isFunction';"),
    );
  });

  it("merges into mobx's multi-line import and adds a new one without semicolons, in double quotes", async () => {
    const file = "src/api/when.ts";
    const before = await readFile(path.join(mobx, file), "utf8");
    await call(mobx, "ts_add_import", { path: file, module: "../internal", named: ["fail"] });
    const merged = before.replace("    GenericAbortSignal\n}", "    GenericAbortSignal,\n    fail\n}");
    expect(await readFile(path.join(mobx, file), "utf8")).toBe(merged);
    await call(mobx, "ts_add_import", { path: file, module: "../utils/comparer", named: ["comparer"] });
    expect(await readFile(path.join(mobx, file), "utf8")).toBe(
      merged.replace(
        '} from "../internal"\n',
        '} from "../internal"\nimport { comparer } from "../utils/comparer"\n',
      ),
    );
  });
});
