import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unifiedDiff } from "../../../src/agent/ts/syntax/unified-diff.ts";

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "loom-diff-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Applies our diff with real `git apply` and returns the patched text. */
async function applyWithGit(oldText: string, newText: string): Promise<string> {
  const file = "f.ts";
  await writeFile(path.join(dir, file), oldText);
  const patch = unifiedDiff(oldText, newText, file);
  await writeFile(path.join(dir, "change.patch"), patch);
  await run("git", ["apply", "--unidiff-zero", "change.patch"], { cwd: dir });
  return readFile(path.join(dir, file), "utf8");
}

const lines = (n: number, tag = "line") => Array.from({ length: n }, (_, i) => `${tag} ${i + 1}`);

describe("unifiedDiff", () => {
  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n", "x.ts")).toBe("");
  });

  it("writes standard hunks with three lines of context", () => {
    const a = `${lines(10).join("\n")}\n`;
    const b = a.replace("line 5\n", "line five\n");
    expect(unifiedDiff(a, b, "src/x.ts")).toBe(
      "--- a/src/x.ts\n+++ b/src/x.ts\n@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n line 7\n line 8\n",
    );
  });

  it("produces patches git applies exactly: insertions, deletions, separate hunks, file edges", async () => {
    const base = lines(40);
    const cases: Array<[string[], string[]]> = [
      [base, [...base.slice(0, 10), "inserted", ...base.slice(10)]],
      [base, [...base.slice(0, 3), ...base.slice(8)]],
      [base, base.map((l, i) => (i === 2 || i === 30 ? `${l} changed` : l))],
      [base, ["new first", ...base, "new last"]],
      [[], ["only"]],
      [base, []],
    ];
    for (const [a, b] of cases) {
      const oldText = a.length ? `${a.join("\n")}\n` : "";
      const newText = b.length ? `${b.join("\n")}\n` : "";
      expect(await applyWithGit(oldText, newText)).toBe(newText);
    }
  });

  it("splits far-apart changes into separate hunks", () => {
    const a = `${lines(40).join("\n")}\n`;
    const b = a.replace("line 2\n", "line two\n").replace("line 35\n", "line thirty-five\n");
    expect(unifiedDiff(a, b, "x.ts").match(/^@@/gm)).toHaveLength(2);
  });
});
