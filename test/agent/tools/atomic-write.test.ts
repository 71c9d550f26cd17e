import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atomicWriteFile } from "../../../src/shared/atomic-write.ts";

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-atomic-"));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

describe("atomicWriteFile", () => {
  it("creates and replaces files, leaving no temp files", async () => {
    const file = path.join(dir, "a.json");
    await atomicWriteFile(file, "one");
    await atomicWriteFile(file, new TextEncoder().encode("two"));
    expect(await fs.readFile(file, "utf8")).toBe("two");
    expect(await fs.readdir(dir)).toEqual(["a.json"]);
  });

  it("keeps an existing file's permissions", async () => {
    const file = path.join(dir, "run.sh");
    await fs.writeFile(file, "#!/bin/sh\n");
    await fs.chmod(file, 0o755);
    await atomicWriteFile(file, "#!/bin/sh\necho hi\n");
    expect((await fs.stat(file)).mode & 0o777).toBe(0o755);
  });

  it("fails without touching the target or leaving a temp file when the rename cannot happen", async () => {
    // Renaming a file over a non-empty directory fails for real (EISDIR/ENOTEMPTY).
    const sub = path.join(dir, "occupied");
    await fs.mkdir(sub);
    await fs.writeFile(path.join(sub, "keep.txt"), "keep");
    await expect(atomicWriteFile(sub, "data")).rejects.toThrow();
    expect((await fs.readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    expect(await fs.readFile(path.join(sub, "keep.txt"), "utf8")).toBe("keep");
  });

  it("fails when the directory does not exist", async () => {
    await expect(atomicWriteFile(path.join(dir, "no/such/dir/x"), "x")).rejects.toMatchObject({
      code: "ENOENT",
    });
  });
});
