import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { promote } from "../../src/supervisor/git/index.ts";
import type { PromotionPlan } from "../../src/supervisor/git/recover.ts";
import { commitFiles, sh } from "../supervisor/git-repo-fixture.ts";

let root: string;

async function repoWith(name: string, files: Record<string, string>): Promise<string> {
  const repo = path.join(root, name);
  await sh(root, ["init", "-q", "-b", "main", repo]);
  await commitFiles(repo, { "a.txt": "a\n", "schemas/s.ts": "export {};\n" }, "initial");
  await sh(repo, ["checkout", "-q", "-b", "lab/gen-1", "main"]);
  await commitFiles(repo, files, "gen-1");
  await sh(repo, ["checkout", "-q", "main"]);
  return repo;
}
const rev = async (repo: string, ref: string) => (await sh(repo, ["rev-parse", ref])).trim();
const worktrees = async (repo: string) =>
  (await sh(repo, ["worktree", "list", "--porcelain"])).match(/^worktree /gm)?.length;

/** Runs `body` with `env` set, restoring the previous values on every path. */
async function withEnv<T>(env: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-gate-promote-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("promote runs every hook a merge runs", () => {
  // Each of these makes the merge go through a worktree, where git runs it; the object store would skip it.
  for (const hook of ["pre-merge-commit", "prepare-commit-msg", "commit-msg", "post-merge"]) {
    it(`runs a ${hook} hook`, async () => {
      const repo = await repoWith(`hook-${hook}`, { "b.txt": "b\n" });
      const marker = path.join(root, `${hook}.ran`);
      await writeFile(path.join(repo, ".git", "hooks", hook), `#!/bin/sh\necho "$@" > "${marker}"\n`);
      await chmod(path.join(repo, ".git", "hooks", hook), 0o755);
      const ownTmp = path.join(root, `tmp-${hook}`);
      await mkdir(ownTmp);
      const r = await withEnv({ TMPDIR: ownTmp }, () => promote({ repo, generation: 1 }));
      expect(await rev(repo, "main")).toBe(r.mergeCommit);
      expect(await readdir(root)).toContain(`${hook}.ran`);
      expect(await worktrees(repo)).toBe(1);
      expect(await readdir(ownTmp)).toEqual([]);
    });
  }

  it("does not take a hook file that cannot be executed as a hook", async () => {
    const repo = await repoWith("hook-not-executable", { "b.txt": "b\n" });
    await writeFile(path.join(repo, ".git", "hooks", "post-merge"), "#!/bin/sh\nexit 1\n");
    // A temporary folder cannot be made: only the object-store merge can succeed.
    const r = await withEnv({ TMPDIR: path.join(root, "no-such-tmp") }, () =>
      promote({ repo, generation: 1 }),
    );
    expect(await rev(repo, "main")).toBe(r.mergeCommit);
  });
});

describe("promote with a git older than 2.38 (no merge-tree --write-tree)", () => {
  /** A `git` first on PATH that answers --write-tree as git 2.37 does, and runs the real git otherwise. */
  async function olderGit(): Promise<string> {
    const bin = path.join(root, "old-git-bin");
    await mkdir(bin, { recursive: true });
    const real = (await sh(root, ["--exec-path"])).trim();
    const script =
      '#!/bin/sh\nfor a in "$@"; do [ "$a" = "--write-tree" ] && { echo "error: unknown option \\`write-tree\'" >&2; exit 129; }; done\n' +
      `exec "${real}/git" "$@"\n`;
    await writeFile(path.join(bin, "git"), script);
    await chmod(path.join(bin, "git"), 0o755);
    return bin;
  }

  it("merges in a worktree instead, with the same merge, tag and no leftovers", async () => {
    const bin = await olderGit();
    const repo = await repoWith("old-git", { "b.txt": "b\n" });
    const base = await rev(repo, "main");
    const lab = await rev(repo, "lab/gen-1");
    const ownTmp = path.join(root, "tmp-old-git");
    await mkdir(ownTmp);
    const r = await withEnv({ PATH: `${bin}:${process.env.PATH}`, TMPDIR: ownTmp }, () =>
      promote({ repo, generation: 1 }),
    );
    expect((await sh(repo, ["log", "-1", "--format=%s%n%P", "main"])).split("\n")).toEqual([
      "Promote gen-1",
      `${base} ${lab}`,
    ]);
    expect(await rev(repo, "main")).toBe(r.mergeCommit);
    expect(await sh(repo, ["show", "main:b.txt"])).toBe("b");
    expect(await worktrees(repo)).toBe(1);
    expect(await readdir(ownTmp)).toEqual([]);
  });

  it("still names the conflicting files", async () => {
    const bin = await olderGit();
    const repo = await repoWith("old-git-conflict", { "a.txt": "lab\n" });
    await commitFiles(repo, { "a.txt": "main\n" }, "main moves");
    const main = await rev(repo, "main");
    await expect(
      withEnv({ PATH: `${bin}:${process.env.PATH}` }, () => promote({ repo, generation: 1 })),
    ).rejects.toMatchObject({ code: "MERGE_CONFLICT", message: expect.stringContaining("in a.txt;") });
    expect(await rev(repo, "main")).toBe(main);
  });
});

describe("what promote records", () => {
  it("tells the journal the whole move before it, and tags with the time of the promotion", async () => {
    const repo = await repoWith("plan", { "b.txt": "b\n" });
    const base = await rev(repo, "main");
    const lab = await rev(repo, "lab/gen-1");
    const plans: PromotionPlan[] = [];
    const before = Math.floor(Date.now() / 1000);
    const r = await promote({
      repo,
      generation: 1,
      onPlanned: async (plan) => {
        plans.push(plan);
        // Nothing has moved yet when the journal is written.
        expect(await rev(repo, "main")).toBe(base);
      },
    });
    const after = Math.ceil(Date.now() / 1000);
    expect(plans).toEqual([
      { generation: 1, base, lab, mergeCommit: r.mergeCommit, tagObject: await rev(repo, "refs/tags/gen-1") },
    ]);
    const tagged = Number(await sh(repo, ["for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/gen-1"]));
    expect(tagged).toBeGreaterThanOrEqual(before);
    expect(tagged).toBeLessThanOrEqual(after);
  });
});
