import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { schemaFingerprint, schemaFingerprintAtRef } from "../../../src/supervisor/git/fingerprint.ts";

let repo: string;

const git = (...args: string[]) =>
  execa("git", ["-c", "user.name=Loom Test", "-c", "user.email=test@loom.invalid", ...args], { cwd: repo });

async function put(rel: string, content: string): Promise<void> {
  const abs = path.join(repo, rel);
  await mkdir(path.dirname(abs), { recursive: true });
  await writeFile(abs, content);
}

beforeEach(async () => {
  repo = await mkdtemp(path.join(os.tmpdir(), "loom-fingerprint-"));
  await git("init", "-q", "-b", "main");
  await put("schemas/usage.ts", "export const a = 1;\n");
  await put("schemas/nested/eval.ts", "export const b = 'ü';\n");
  await put("schemas2/other.ts", "not a schema\n");
  await put("src/app.ts", "outside\n");
  await git("add", "-A");
  await git("commit", "-q", "-m", "init");
});

afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe("schemaFingerprint (working tree)", () => {
  it("is a sha256 hex digest, stable across calls and mtimes", async () => {
    const first = await schemaFingerprint(repo);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    await utimes(path.join(repo, "schemas/usage.ts"), new Date(2000, 1, 1), new Date(2000, 1, 1));
    expect(await schemaFingerprint(repo)).toBe(first);
    expect(await schemaFingerprint(repo, ["schemas/"])).toBe(first);
  });

  it("changes on an edit, an added file, a rename and a removal", async () => {
    const base = await schemaFingerprint(repo);
    const seen = new Set([base]);
    await put("schemas/usage.ts", "export const a = 2;\n");
    seen.add(await schemaFingerprint(repo));
    await put("schemas/extra.json", "{}");
    seen.add(await schemaFingerprint(repo));
    await rename(path.join(repo, "schemas/extra.json"), path.join(repo, "schemas/extra2.json"));
    seen.add(await schemaFingerprint(repo));
    await rm(path.join(repo, "schemas/extra2.json"));
    await put("schemas/usage.ts", "export const a = 1;\n");
    // Back to the original content: back to the original fingerprint.
    expect(await schemaFingerprint(repo)).toBe(base);
    expect(seen.size).toBe(4);
  });

  it("does not depend on creation order (readdir order)", async () => {
    const other = await mkdtemp(path.join(os.tmpdir(), "loom-fingerprint-b-"));
    try {
      await mkdir(path.join(other, "schemas/nested"), { recursive: true });
      await writeFile(path.join(other, "schemas/nested/eval.ts"), "export const b = 'ü';\n");
      await writeFile(path.join(other, "schemas/usage.ts"), "export const a = 1;\n");
      expect(await schemaFingerprint(other)).toBe(await schemaFingerprint(repo));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("ignores files outside the dirs, including a sibling with the same prefix", async () => {
    const base = await schemaFingerprint(repo);
    await put("schemas2/other.ts", "changed\n");
    await put("src/app.ts", "changed\n");
    expect(await schemaFingerprint(repo)).toBe(base);
    expect(await schemaFingerprint(repo, ["schemas", "schemas2"])).not.toBe(base);
  });

  it("treats a missing dir as empty, and refuses dirs that escape the repo or a missing repoRoot", async () => {
    expect(await schemaFingerprint(repo, ["nope"])).toBe(await schemaFingerprint(repo, ["nope2"]));
    for (const bad of ["../x", "/etc", ".", ""]) {
      await expect(schemaFingerprint(repo, [bad])).rejects.toThrow(/relative path inside the repository/);
    }
    await expect(schemaFingerprint(repo, [])).rejects.toThrow(/dirs is empty/);
    await expect(schemaFingerprint(path.join(repo, "missing"))).rejects.toThrow(/is not a directory/);
  });
});

describe("schemaFingerprintAtRef (git objects, no checkout)", () => {
  it("equals the working-tree fingerprint for the same content", async () => {
    expect(await schemaFingerprintAtRef(repo, "main")).toBe(await schemaFingerprint(repo));
    expect(await schemaFingerprintAtRef(repo, "HEAD", ["schemas", "src"])).toBe(
      await schemaFingerprint(repo, ["schemas", "src"]),
    );
  });

  it("matches for symlinks, which git stores as their target", async () => {
    await symlink("usage.ts", path.join(repo, "schemas/link.ts"));
    await git("add", "-A");
    await git("commit", "-q", "-m", "link");
    expect(await schemaFingerprintAtRef(repo, "HEAD")).toBe(await schemaFingerprint(repo));
  });

  it("changes when a branch changes a schema, while main keeps its value", async () => {
    const mainFp = await schemaFingerprintAtRef(repo, "main");
    await git("checkout", "-q", "-b", "lab/gen-1");
    await put("schemas/usage.ts", "export const a = 'tampered';\n");
    await git("commit", "-q", "-am", "tamper");
    const labFp = await schemaFingerprintAtRef(repo, "lab/gen-1");
    expect(labFp).not.toBe(mainFp);
    expect(labFp).toBe(await schemaFingerprint(repo));
    expect(await schemaFingerprintAtRef(repo, "main")).toBe(mainFp);
    // A branch that only touches files outside schemas/ keeps main's fingerprint.
    await git("checkout", "-q", "-b", "lab/gen-2", "main");
    await put("src/app.ts", "a lab edit\n");
    await git("commit", "-q", "-am", "edit");
    expect(await schemaFingerprintAtRef(repo, "lab/gen-2")).toBe(mainFp);
  });

  it("gives the empty-set value when the dir is absent at the ref", async () => {
    expect(await schemaFingerprintAtRef(repo, "main", ["absent"])).toBe(
      await schemaFingerprint(repo, ["absent"]),
    );
  });

  it("rejects unknown refs, option-like refs and non-repositories with a named error", async () => {
    await expect(schemaFingerprintAtRef(repo, "no-such-branch")).rejects.toMatchObject({
      code: "REF_NOT_FOUND",
      message: expect.stringContaining('"no-such-branch"'),
    });
    await expect(schemaFingerprintAtRef(repo, "--output=/tmp/x")).rejects.toMatchObject({
      code: "FINGERPRINT_INVALID",
    });
    await expect(schemaFingerprintAtRef(repo, "main", ["../up"])).rejects.toMatchObject({
      code: "FINGERPRINT_INVALID",
    });
    const plain = await mkdtemp(path.join(os.tmpdir(), "loom-fingerprint-nogit-"));
    try {
      await expect(schemaFingerprintAtRef(plain, "main")).rejects.toMatchObject({
        code: "GIT_FAILED",
        message: expect.stringMatching(/not a git repository/i),
      });
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
  });
});
