import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { labTools } from "../src/agent/catalog.ts";
import { ToolRegistry } from "../src/agent/tool-registry.ts";
import { MATH, TSCONFIG, workspace } from "./workspace.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function setup() {
  const ws = await workspace({ "tsconfig.json": TSCONFIG, "src/math.ts": MATH });
  cleanups.push(ws.remove);
  const registry = new ToolRegistry(labTools());
  const run = (name: string, input: unknown) =>
    registry.execute(name, input, { workspace: ws.root, signal: new AbortController().signal });
  return { ws, run, read: () => readFile(path.join(ws.root, "src/math.ts"), "utf8") };
}

describe("structural edits check themselves", () => {
  it("ts_replace_body refuses a body that breaks the syntax, leaving the file byte-identical", async () => {
    const { run, read } = await setup();
    const result = await run("ts_replace_body", { path: "src/math.ts#add", body: "return a + ;" });
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/syntax error/i);
    expect(await read()).toBe(MATH);
  });

  it("ts_replace_body applies a valid body and answers with a diff", async () => {
    const { run, read } = await setup();
    const result = await run("ts_replace_body", { path: "src/math.ts#add", body: "return b + a;" });
    expect(result.isError, result.content).toBe(false);
    expect(result.content).toContain("+  return b + a;");
    expect(await read()).toContain("return b + a;");
  });

  it("a Lab's tools cannot modify Loom itself (no self-modify effect in its catalog)", () => {
    expect(labTools().map((t) => t.effect)).not.toContain("self-modify");
  });
});
