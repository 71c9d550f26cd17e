import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaFingerprint, schemaFingerprintAtRef } from "../../src/supervisor/git/fingerprint.ts";
import { commitFiles, sh } from "../supervisor/git-repo-fixture.ts";

let root: string;
let repo: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-gate-fp2-"));
  repo = path.join(root, "repo");
  await sh(root, ["init", "-q", "-b", "main", repo]);
  // Many names written out of order: readdir's order is not git's, so only sorting makes them agree.
  const names = ["q", "b", "zz", "a", "m", "c9", "c10", "k", "e", "y", "d", "x1", "x0", "p", "f"];
  const files: Record<string, string> = {};
  for (const n of names) files[`schemas/${n}.ts`] = `export const ${n.replace(/\d/g, "n")} = "${n}";\n`;
  files["schemas/sub/inner.ts"] = "export {};\n";
  await commitFiles(repo, files, "schemas");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("the fixed-point fingerprint", () => {
  it("the working tree and the commit agree for many files in any directory order", async () => {
    expect(await schemaFingerprint(repo)).toBe(await schemaFingerprintAtRef(repo, "main"));
  });

  it("does not depend on the order the folders are given or walked in", async () => {
    const forward = await schemaFingerprint(repo, ["schemas/sub", "schemas"]);
    expect(await schemaFingerprint(repo, ["schemas", "schemas/sub"])).toBe(forward);
    expect(await schemaFingerprintAtRef(repo, "main", ["schemas/sub", "schemas"])).toBe(forward);
    const pair = await schemaFingerprint(repo, ["schemas/zz.ts", "schemas/a.ts"]);
    expect(await schemaFingerprint(repo, ["schemas/a.ts", "schemas/zz.ts"])).toBe(pair);
    expect(await schemaFingerprintAtRef(repo, "main", ["schemas/zz.ts", "schemas/a.ts"])).toBe(pair);
  });

  it("ignores what is neither file, symlink nor folder (a FIFO) in the working tree", async () => {
    const before = await schemaFingerprint(repo);
    const fifo = path.join(repo, "schemas", "pipe");
    await execa("mkfifo", [fifo]);
    try {
      expect(await schemaFingerprint(repo)).toBe(before);
    } finally {
      await rm(fifo, { force: true });
    }
  });

  it("refuses every folder spelling that leaves the repo or names all of it; accepts Windows separators", async () => {
    for (const bad of ["..", "..\\x", " ", "./", "schemas/../.."]) {
      await expect(schemaFingerprint(repo, [bad]), bad).rejects.toMatchObject({
        code: "FINGERPRINT_INVALID",
      });
    }
    expect(await schemaFingerprint(repo, ["schemas\\sub"])).toBe(
      await schemaFingerprint(repo, ["schemas/sub"]),
    );
    expect(await schemaFingerprint(repo, ["schemas//"])).toBe(await schemaFingerprint(repo, ["schemas"]));
  });

  it("is sha256 over length-prefixed names and bytes, in path order", async () => {
    const one = path.join(root, "one");
    await sh(root, ["init", "-q", "-b", "main", one]);
    await commitFiles(one, { "schemas/b.ts": "B", "schemas/a.ts": "AA" }, "two files");
    const framed = createHash("sha256");
    for (const [name, bytes] of [
      ["schemas/a.ts", "AA"],
      ["schemas/b.ts", "B"],
    ] as const) {
      framed.update(`${name.length}:`).update(name).update(`${bytes.length}:`).update(bytes);
    }
    const want = framed.digest("hex");
    expect(await schemaFingerprint(one)).toBe(want);
    expect(await schemaFingerprintAtRef(one, "main")).toBe(want);
  });

  it("matches a folder name as written at a ref too, never as a glob", async () => {
    const empty = await schemaFingerprint(repo, ["schem*"]);
    expect(empty).toBe(createHash("sha256").digest("hex"));
    expect(await schemaFingerprintAtRef(repo, "main", ["schem*"])).toBe(empty);
    expect(await schemaFingerprintAtRef(repo, "main", ["schemas/[ab].ts"])).toBe(empty);
  });

  it("a folder under a file is absent, as git sees it; a name no filesystem holds is an error", async () => {
    const empty = createHash("sha256").digest("hex");
    expect(await schemaFingerprint(repo, ["schemas/a.ts/x"])).toBe(empty);
    expect(await schemaFingerprintAtRef(repo, "main", ["schemas/a.ts/x"])).toBe(empty);
    await expect(schemaFingerprint(repo, ["x".repeat(300)])).rejects.toMatchObject({ code: "ENAMETOOLONG" });
  });

  it("names a damaged repository whose schema blob is missing instead of hashing garbage", async () => {
    const broken = path.join(root, "broken");
    await sh(root, ["init", "-q", "-b", "main", broken]);
    await commitFiles(broken, { "schemas/a.ts": "A", "schemas/b.ts": "B" }, "two files");
    const sha = (await execa("git", ["rev-parse", "main:schemas/b.ts"], { cwd: broken })).stdout;
    await rm(path.join(broken, ".git", "objects", sha.slice(0, 2), sha.slice(2)));
    await expect(schemaFingerprintAtRef(broken, "main")).rejects.toMatchObject({
      code: "GIT_FAILED",
      message: `git cat-file in ${broken}: ${sha} missing`,
    });
  });

  it("refuses bad input with what is accepted", async () => {
    await expect(schemaFingerprint(repo, [])).rejects.toMatchObject({
      code: "FINGERPRINT_INVALID",
      message: "dirs is empty; pass at least one repo-relative directory",
    });
    const file = path.join(root, "file.txt");
    await writeFile(file, "x");
    await expect(schemaFingerprint(file)).rejects.toMatchObject({
      code: "FINGERPRINT_INVALID",
      message: `repoRoot ${JSON.stringify(file)} is not a directory`,
    });
    for (const ref of ["", "  "]) {
      await expect(schemaFingerprintAtRef(repo, ref), JSON.stringify(ref)).rejects.toMatchObject({
        code: "FINGERPRINT_INVALID",
      });
    }
    await expect(schemaFingerprintAtRef(repo, "-x")).rejects.toMatchObject({
      code: "FINGERPRINT_INVALID",
      message: 'ref "-x" is not accepted; pass a branch, tag or commit',
    });
    const plain = path.join(root, "plain");
    await mkdir(plain);
    const err = (await schemaFingerprintAtRef(plain, "main").catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^git rev-parse --verify --quiet "main\^\{commit\}" failed in .*plain \(exit code 128\): fatal: not a git repository/,
    );
    expect(err.message).not.toMatch(/\s$/);
  });
});
