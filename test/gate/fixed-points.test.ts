import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATE_PATHS } from "../../schemas/gate.ts";
import { gateFingerprintAtRef } from "../../src/supervisor/git/fingerprint.ts";
import {
  assertSchemasUnchanged,
  checkFixedPoints,
  gateChanges,
} from "../../src/supervisor/git/fixed-points.ts";
import { commitFiles, sh, writeFiles } from "../supervisor/git-repo-fixture.ts";

let root: string;
let repo: string;

/** A lab/gen-N branch off main with `files` written (null removes) and committed. */
async function branch(n: number, files: Record<string, string | null>, mode?: string): Promise<string> {
  await sh(repo, ["checkout", "-q", "-b", `lab/gen-${n}`, "main"]);
  const write: Record<string, string> = {};
  for (const [f, text] of Object.entries(files)) {
    if (text === null) await sh(repo, ["rm", "-q", f]);
    else write[f] = text;
  }
  await writeFiles(repo, write);
  if (mode) await chmod(path.join(repo, mode), 0o755);
  const sha = await commitFiles(repo, {}, `gen-${n}`);
  await sh(repo, ["checkout", "-q", "main"]);
  return sha;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-gate-fp-"));
  repo = path.join(root, "repo");
  await sh(root, ["init", "-q", "-b", "main", repo]);
  await commitFiles(
    repo,
    {
      "schemas/a.ts": "export const a = 1;\n",
      "src/supervisor/verify/fitness.ts": "export const f = 1;\n",
      "src/supervisor/verify/mechanical.ts": "export const m = 1;\n",
      "src/other.ts": "export const o = 1;\n",
    },
    "initial",
  );
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("gateChanges", () => {
  it("lists the gate's files a branch adds, edits or removes, and nothing else", async () => {
    await branch(1, {
      "src/supervisor/verify/fitness.ts": "export const f = 2;\n",
      "src/supervisor/verify/new-step.ts": "export {};\n",
      "src/supervisor/verify/mechanical.ts": null,
      "src/other.ts": "export const o = 2;\n",
    });
    const gate = await gateChanges(repo, "refs/heads/lab/gen-1");
    expect(gate.touched).toBe(true);
    expect([...gate.files].sort()).toEqual([
      "src/supervisor/verify/fitness.ts",
      "src/supervisor/verify/mechanical.ts",
      "src/supervisor/verify/new-step.ts",
    ]);
  });

  it("is untouched for a branch changing only other files, and for a mode-only change of a gate file", async () => {
    await branch(2, { "src/other.ts": "export const o = 3;\n" });
    expect(await gateChanges(repo, "refs/heads/lab/gen-2")).toEqual({ touched: false, files: [] });
    await branch(3, {}, "src/supervisor/verify/fitness.ts");
    expect(await gateChanges(repo, "refs/heads/lab/gen-3")).toEqual({ touched: false, files: [] });
  });

  it("takes the list it is given (the default is schemas/gate.ts's)", async () => {
    expect(await gateChanges(repo, "refs/heads/lab/gen-2", ["src/other.ts"])).toEqual({
      touched: true,
      files: ["src/other.ts"],
    });
    // The fitness lives in src/supervisor/verify/, which the list names as a folder.
    expect(GATE_PATHS).toContain("src/supervisor/verify");
  });
});

describe("the gate's fingerprint", () => {
  it("changes with a gate file's bytes, not with other files or modes", async () => {
    const main = await gateFingerprintAtRef(repo, "main");
    expect(main).toMatch(/^[0-9a-f]{64}$/);
    expect(await gateFingerprintAtRef(repo, "lab/gen-1")).not.toBe(main);
    expect(await gateFingerprintAtRef(repo, "lab/gen-2")).toBe(main);
    expect(await gateFingerprintAtRef(repo, "lab/gen-3")).toBe(main);
  });
});

describe("schemas/ as a fixed point", () => {
  it("refuses a branch changing schemas/ (SCHEMAS_CHANGED names the file) and accepts one that does not", async () => {
    await branch(4, { "schemas/a.ts": "export const a = 2;\n" });
    await expect(assertSchemasUnchanged(repo, 4)).rejects.toMatchObject({
      code: "SCHEMAS_CHANGED",
      message: expect.stringContaining("schemas/a.ts"),
    });
    await expect(checkFixedPoints(repo, 4)).rejects.toMatchObject({ code: "SCHEMAS_CHANGED" });
    await expect(assertSchemasUnchanged(repo, 2)).resolves.toBeUndefined();
    await expect(checkFixedPoints(repo, 2)).resolves.toBeUndefined();
  });

  it("a mode-only change of a schema file is not a change", async () => {
    await branch(5, {}, "schemas/a.ts");
    await expect(assertSchemasUnchanged(repo, 5)).resolves.toBeUndefined();
  });

  it("checks its input: a missing branch or a bad generation is refused before any comparison", async () => {
    await expect(checkFixedPoints(repo, 99)).rejects.toMatchObject({
      code: expect.stringMatching(/LAB|BRANCH/),
    });
    await expect(checkFixedPoints(repo, 0)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});
