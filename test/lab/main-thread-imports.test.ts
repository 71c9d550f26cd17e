import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUN_LAB = fileURLToPath(new URL("../../src/lab/run-lab.ts", import.meta.url));
/** The in-process ts tools: runLab imports them only when no worker thread can be had. */
const FALLBACK = "../agent/ts/tools/index.ts";

/** Whether ts-morph is loaded after importing `modules` (relative to src/lab/) in a fresh node. */
async function loadsTsMorph(modules: readonly string[]): Promise<boolean> {
  const code = `
    import { createRequire } from "node:module";
    const base = new URL("./src/lab/", "file://${ROOT}/");
    for (const m of ${JSON.stringify(modules)}) await import(new URL(m, base).href);
    const cache = createRequire(import.meta.url).cache;
    console.log(Object.keys(cache).some((k) => k.includes("/node_modules/ts-morph/")));
  `;
  const r = await execa(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: ROOT,
  });
  return r.stdout.trim() === "true";
}

describe("the Lab's main thread", () => {
  it("loads no ts-morph: every module runLab imports there, but the in-process fallback, is free of it", async () => {
    const source = await readFile(RUN_LAB, "utf8");
    const imported = [...source.matchAll(/import\("([^"]+)"\)/g)].map((m) => m[1] as string);
    expect(imported).toContain(FALLBACK);
    const mainThread = imported.filter((m) => m !== FALLBACK);
    expect(mainThread.length).toBeGreaterThan(3);
    expect(await loadsTsMorph(mainThread)).toBe(false);
    // The check itself sees ts-morph when it is there.
    expect(await loadsTsMorph([FALLBACK])).toBe(true);
  }, 60_000);
});
