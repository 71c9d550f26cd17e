import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CACHE_MODULE = fileURLToPath(new URL("../../src/lab/compile-cache.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let dir: string;
const cacheDir = () => path.join(dir, "cache");

/** A CommonJS package that requires a sibling and resolves a path, as real packages do. */
async function writePackage(version: string): Promise<void> {
  const pkg = path.join(dir, "node_modules", "demo-pkg");
  await mkdir(pkg, { recursive: true });
  await writeFile(path.join(pkg, "part.js"), `module.exports = { version: ${JSON.stringify(version)} };\n`);
  await writeFile(
    path.join(pkg, "index.js"),
    'const part = require("./part.js");\nmodule.exports = { hello: (n) => "hello " + n + " from " + part.version, here: require.resolve("./part.js"), self: __filename };\n',
  );
}

/** Loads the package in a fresh node through the cache; what it answered and the cache's counts. */
async function load(record: boolean) {
  const code = `
    import { createRequire } from "node:module";
    import { useCompileCache } from ${JSON.stringify(CACHE_MODULE)};
    const cache = useCompileCache(${JSON.stringify(cacheDir())}, { record: ${record} });
    const pkg = createRequire(${JSON.stringify(path.join(dir, "x.js"))})("demo-pkg");
    const answer = { said: pkg.hello("ada"), here: pkg.here, self: pkg.self, hits: cache.hits, misses: cache.misses };
    if (${record}) cache.save();
    console.log(JSON.stringify(answer));
  `;
  const r = await execa(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: ROOT,
  });
  return JSON.parse(r.stdout) as { said: string; here: string; self: string; hits: number; misses: number };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "loom-compile-cache-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("useCompileCache", () => {
  it("records package code, then compiles it from the cache with the same behaviour", async () => {
    await writePackage("1.0.0");
    const first = await load(true);
    expect(first).toMatchObject({ said: "hello ada from 1.0.0", hits: 0, misses: 2 });
    expect((await readdir(cacheDir())).length).toBe(2);
    const second = await load(false);
    expect(second).toEqual({ ...first, hits: 2, misses: 0 });
    expect(second.here).toBe(path.join(dir, "node_modules", "demo-pkg", "part.js"));
  }, 60_000);

  it("keys on content: a changed file is compiled anew and runs its new code", async () => {
    await writePackage("2.0.0");
    const changed = await load(false);
    expect(changed.said).toBe("hello ada from 2.0.0");
    // index.js is the same text, so it still hits; part.js changed, so it does not.
    expect(changed).toMatchObject({ hits: 1, misses: 1 });
  }, 60_000);

  it("a cache V8 refuses (corrupt) is a miss, not a failure", async () => {
    for (const f of await readdir(cacheDir())) await writeFile(path.join(cacheDir(), f), "not v8 data");
    const broken = await load(false);
    expect(broken).toMatchObject({ said: "hello ada from 2.0.0", hits: 0 });
  }, 60_000);
});
