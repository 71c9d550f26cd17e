import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nodeIo, type WriteIo, writeFilesAtomically } from "../../../src/agent/ts/project/write-files.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "loom-write-"));
  for (const n of ["a", "b", "c"]) await writeFile(path.join(dir, `${n}.ts`), `old ${n}\n`);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const writes = () =>
  ["a", "b", "c"].map((n) => ({
    file: path.join(dir, `${n}.ts`),
    before: `old ${n}\n`,
    after: `new ${n}\n`,
  }));
const contents = async () =>
  Promise.all(["a", "b", "c"].map((n) => readFile(path.join(dir, `${n}.ts`), "utf8")));

describe("writeFilesAtomically", () => {
  it("writes every file and leaves no temp files", async () => {
    await writeFilesAtomically(writes());
    expect(await contents()).toEqual(["new a\n", "new b\n", "new c\n"]);
    expect((await readdir(dir)).sort()).toEqual(["a.ts", "b.ts", "c.ts"]);
  });

  it("restores the first file when the second rename fails, and cleans up", async () => {
    let renames = 0;
    const io: WriteIo = {
      ...nodeIo,
      rename: async (from, to) => {
        if (++renames === 2) throw new Error("EIO (simulated)");
        return nodeIo.rename(from, to);
      },
    };
    await expect(writeFilesAtomically(writes(), io)).rejects.toThrow(
      /EIO \(simulated\).*no file was changed/,
    );
    expect(await contents()).toEqual(["old a\n", "old b\n", "old c\n"]);
    expect((await readdir(dir)).sort()).toEqual(["a.ts", "b.ts", "c.ts"]);
  });

  it("changes nothing when a temp file cannot be written", async () => {
    const bad = [...writes(), { file: path.join(dir, "missing-dir/d.ts"), before: "", after: "x" }];
    await expect(writeFilesAtomically(bad)).rejects.toThrow(/ENOENT/);
    expect(await contents()).toEqual(["old a\n", "old b\n", "old c\n"]);
    expect((await readdir(dir)).sort()).toEqual(["a.ts", "b.ts", "c.ts"]);
  });
});
