import { chmod, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GenerationOutcome } from "../../schemas/generation.ts";
import { promote, resetMainTo, rollback } from "../../src/supervisor/git/index.ts";
import {
  allowedFrom,
  canTransition,
  isTerminal,
  PROMOTION_REVERT,
} from "../../src/supervisor/store/transitions.ts";
import { commitFiles, sh } from "../supervisor/git-repo-fixture.ts";

let root: string;

/** A fresh repo on main with one file, plus lab branches made by `labs` (n → files). */
async function repoWith(name: string, labs: Record<number, Record<string, string>> = {}): Promise<string> {
  const repo = path.join(root, name);
  await sh(root, ["init", "-q", "-b", "main", repo]);
  await commitFiles(repo, { "a.txt": "a\n", "schemas/s.ts": "export {};\n" }, "initial");
  for (const [n, files] of Object.entries(labs)) {
    await sh(repo, ["checkout", "-q", "-b", `lab/gen-${n}`, "main"]);
    await commitFiles(repo, files, `gen-${n}`);
    await sh(repo, ["checkout", "-q", "main"]);
  }
  return repo;
}
const rev = async (repo: string, ref: string) => (await sh(repo, ["rev-parse", ref])).trim();

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-gate-git-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("the legal transitions of a generation", () => {
  const TABLE: Record<string, string[]> = {
    pending: ["pending", "running", "failed", "aborted", "timed_out"],
    running: ["running", "verifying", "rolled_back", "failed", "aborted", "timed_out"],
    verifying: [
      "verifying",
      "screened",
      "promoted",
      "rolled_back",
      "archived",
      "failed",
      "aborted",
      "timed_out",
    ],
    // Kept after a round's cheap stages: verified in full when drawn as a parent, then archived or rolled back.
    screened: ["screened", "archived", "rolled_back"],
    promoted: [],
    rolled_back: [],
    archived: [],
    failed: [],
    aborted: [],
    timed_out: [],
  };
  it("promotion only from verifying; nothing leaves a final outcome; the whole table, both ways", () => {
    for (const from of GenerationOutcome.options) {
      expect([...allowedFrom(from)].sort(), from).toEqual([...(TABLE[from] ?? [])].sort());
      for (const to of GenerationOutcome.options) {
        expect(canTransition(from, to), `${from} → ${to}`).toBe((TABLE[from] ?? []).includes(to));
      }
      expect(isTerminal(from), from).toBe((TABLE[from] ?? []).length === 0);
    }
    expect(PROMOTION_REVERT).toEqual({ from: "promoted", to: "rolled_back" });
  });
});

describe("rollback", () => {
  it("deletes lab/gen-N, idempotently, and never touches main or tags", async () => {
    const repo = await repoWith("rb", { 1: { "b.txt": "b\n" } });
    const main = await rev(repo, "main");
    expect(await rollback({ repo, generation: 1 })).toEqual({ deleted: true });
    expect((await sh(repo, ["branch", "--list", "lab/gen-1"])).trim()).toBe("");
    expect(await rollback({ repo, generation: 1 })).toEqual({ deleted: false });
    expect(await rev(repo, "main")).toBe(main);
    const reflog = await sh(repo, ["reflog", "show", "--all", "--format=%gs"]);
    expect(reflog).not.toContain("roll back gen-1");
    await expect(rollback({ repo, generation: 0 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    // A branch git cannot delete (its ref is locked) is reported, not taken as deleted.
    await sh(repo, ["branch", "lab/gen-2", "main"]);
    const lock = path.join(repo, ".git", "refs", "heads", "lab", "gen-2.lock");
    await writeFile(lock, "");
    try {
      const err = (await rollback({ repo, generation: 2 }).catch((e: unknown) => e)) as Error & {
        code?: string;
      };
      expect(err.code).toBe("REF_UPDATE_FAILED");
      expect(err.message).toMatch(/^could not delete lab\/gen-2: \S/);
      expect(err.message).not.toMatch(/\s$/);
    } finally {
      await rm(lock, { force: true });
    }
    expect(await rollback({ repo, generation: 2 })).toEqual({ deleted: true });
    // Deleted by someone else while git held the lock: the delete fails, the branch is gone — not an error.
    await sh(repo, ["branch", "lab/gen-3", "main"]);
    const hook = path.join(repo, ".git", "hooks", "reference-transaction");
    await writeFile(
      hook,
      `#!/bin/sh\n[ "$1" = prepared ] || exit 0\nrm -f "$(git rev-parse --git-dir)/refs/heads/lab/gen-3"\nexit 1\n`,
    );
    await chmod(hook, 0o755);
    try {
      expect(await rollback({ repo, generation: 3 })).toEqual({ deleted: false });
    } finally {
      await rm(hook, { force: true });
    }
    expect((await sh(repo, ["branch", "--list", "lab/gen-3"])).trim()).toBe("");
    await expect(rollback({ repo: path.join(root, "nope"), generation: 1 })).rejects.toMatchObject({
      code: "NOT_A_REPO",
    });
  });
});

describe("reset of main", () => {
  it("refuses bad input before anything moves, naming what is accepted", async () => {
    const repo = await repoWith("reset-bad");
    const main = await rev(repo, "main");
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ expected: main }, "INVALID_INPUT", /pass exactly one of tag \(e\.g\. "gen-3"\) or commit/],
      [{ expected: main, tag: "gen-1", commit: main }, "INVALID_INPUT", /pass exactly one of tag/],
      [
        { expected: main, commit: "abc" },
        "INVALID_INPUT",
        /^commit "abc" is not accepted; pass a full lowercase commit sha$/,
      ],
      [
        { expected: main, commit: "f".repeat(40) },
        "INVALID_INPUT",
        new RegExp(`has no commit ${"f".repeat(40)}; pass a commit that exists$`),
      ],
      [
        { expected: main, tag: "-x" },
        "INVALID_INPUT",
        /^tag "-x" is not a valid tag name; pass e\.g\. "gen-3"$/,
      ],
      [{ expected: main, tag: "a..b" }, "INVALID_INPUT", /^tag "a\.\.b" is not a valid tag name/],
      [{ expected: main, tag: 5 }, "INVALID_INPUT", /^tag 5 is not a valid tag name/],
      [{ expected: main, tag: "gen-9" }, "TAG_NOT_FOUND", /has no tag gen-9; pass a tag that exists$/],
      [
        { expected: "xyz", commit: main },
        "INVALID_INPUT",
        /^expected "xyz" is not accepted; pass the full commit sha main is at now$/,
      ],
      [
        { expected: main, commit: main, dropTag: "-t" },
        "INVALID_INPUT",
        /^dropTag "-t" is not a valid tag name; pass e\.g\. "gen-4"$/,
      ],
      [
        { expected: main, commit: main, dropTag: "gen-7" },
        "TAG_NOT_FOUND",
        /has no tag gen-7 to delete with the reset; nothing was changed$/,
      ],
    ];
    for (const [input, code, message] of cases) {
      const err = await resetMainTo({ repo, ...input } as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(input)).toMatchObject({ code });
      expect((err as Error).message, JSON.stringify(input)).toMatch(message);
    }
    expect(await rev(repo, "main")).toBe(main);
  });

  it("moves main to a commit or a tag only from the expected commit, and drops a tag with it", async () => {
    const repo = await repoWith("reset-ok");
    const first = await rev(repo, "main");
    await sh(repo, ["tag", "gen-1", first]);
    const second = await commitFiles(repo, { "c.txt": "c\n" }, "second");
    await sh(repo, ["tag", "-a", "-m", "t", "gen-2", second]);
    await expect(resetMainTo({ repo, commit: first, expected: first })).rejects.toMatchObject({
      code: "MAIN_MOVED",
    });
    expect(await resetMainTo({ repo, tag: "gen-1", expected: second, dropTag: "gen-2" })).toEqual({
      previous: second,
      main: first,
      droppedTag: "gen-2",
    });
    expect(await rev(repo, "main")).toBe(first);
    expect((await sh(repo, ["tag", "--list", "gen-2"])).trim()).toBe("");
    expect(await sh(repo, ["reflog", "show", "main", "--format=%gs", "-n", "1"])).toBe(
      "loom: reset main to gen-1, dropping gen-2",
    );
    // Already there: nothing to move, and the answer says so without a droppedTag.
    const same = await resetMainTo({ repo, commit: first, expected: first });
    expect(same).toEqual({ previous: first, main: first });
    expect(Object.keys(same)).not.toContain("droppedTag");
    // Already there, with a tag to drop: the tag still goes.
    await sh(repo, ["tag", "gen-3", first]);
    expect(await resetMainTo({ repo, commit: first, expected: first, dropTag: "gen-3" })).toMatchObject({
      droppedTag: "gen-3",
    });
    expect((await sh(repo, ["tag", "--list", "gen-3"])).trim()).toBe("");
    const third = await commitFiles(repo, { "d.txt": "d\n" }, "third");
    await resetMainTo({ repo, commit: first, expected: third });
    expect(await sh(repo, ["reflog", "show", "main", "--format=%gs", "-n", "1"])).toBe(
      `loom: reset main to ${first.slice(0, 12)}`,
    );
  });
});

describe("promote in the object store (no merge hooks)", () => {
  it("needs no worktree or temporary folder, and refuses what has nothing to merge or no main", async () => {
    const repo = await repoWith("os-ok", {
      1: { "b.txt": "b\n" },
      2: { "c.txt": "c\n" },
      3: { "a.txt": "lab\n" },
    });
    const saved = process.env.TMPDIR;
    // A temporary folder cannot be made: only the object-store merge can succeed.
    process.env.TMPDIR = path.join(root, "no-such-tmp");
    try {
      const base = await rev(repo, "main");
      const r = await promote({ repo, generation: 1 });
      expect(await rev(repo, "main")).toBe(r.mergeCommit);
      expect((await sh(repo, ["log", "-1", "--format=%s%n%P", "main"])).split("\n")).toEqual([
        "Promote gen-1",
        `${base} ${await rev(repo, "gen-1^{commit}^2")}`,
      ]);
      expect(await sh(repo, ["show", "main:b.txt"])).toBe("b");
      await commitFiles(repo, { "a.txt": "main\n" }, "main moves");
      await expect(promote({ repo, generation: 3 })).rejects.toMatchObject({
        code: "MERGE_CONFLICT",
        message: expect.stringContaining("conflicts with main in a.txt;"),
      });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    await sh(repo, ["branch", "-f", "lab/gen-2", "main~1"]);
    await expect(promote({ repo, generation: 2 })).rejects.toMatchObject({ code: "NOTHING_TO_MERGE" });
    const headless = path.join(root, "no-main");
    await sh(root, ["init", "-q", "-b", "trunk", headless]);
    await commitFiles(headless, { "a.txt": "a\n" }, "initial");
    await sh(headless, ["branch", "lab/gen-1"]);
    await expect(promote({ repo: headless, generation: 1 })).rejects.toMatchObject({
      code: "MAIN_NOT_FOUND",
    });
  });
});

describe("promote in a worktree (a repo with merge hooks)", () => {
  async function withHook(name: string, labs: Record<number, Record<string, string>>): Promise<string> {
    const repo = await repoWith(name, labs);
    const hook = path.join(repo, ".git", "hooks", "post-merge");
    await writeFile(hook, `#!/bin/sh\necho ran >> "$(git rev-parse --git-common-dir)/post-merge-ran"\n`);
    await chmod(hook, 0o755);
    return repo;
  }
  const worktrees = async (repo: string) =>
    (await sh(repo, ["worktree", "list", "--porcelain"])).match(/^worktree /gm)?.length;
  const leftovers = async () => (await readdir(tmpdir())).filter((d) => d.startsWith("loom-promote-"));

  it("merges, runs the hook, tags, deletes the branch, and leaves no worktree or temp folder", async () => {
    const before = await leftovers();
    const repo = await withHook("wt-ok", { 1: { "b.txt": "b\n" } });
    const base = await rev(repo, "main");
    const r = await promote({ repo, generation: 1 });
    expect(r.tag).toBe("gen-1");
    expect(await rev(repo, "main")).toBe(r.mergeCommit);
    expect((await sh(repo, ["log", "-1", "--format=%s%n%P", "main"])).split("\n")).toEqual([
      "Promote gen-1",
      `${base} ${await rev(repo, "gen-1^{commit}^2")}`,
    ]);
    expect(await sh(repo, ["show", "main:b.txt"])).toBe("b");
    expect(await readdir(path.join(repo, ".git"))).toContain("post-merge-ran");
    expect(await worktrees(repo)).toBe(1);
    expect(await leftovers()).toEqual(before);
  });

  it("a conflict names the files and changes nothing; a branch already in main has nothing to merge", async () => {
    const repo = await withHook("wt-conflict", {
      1: { "a.txt": "lab\n", "schemas/../b.txt": "lab b\n" },
      2: { "z.txt": "z\n" },
    });
    await commitFiles(repo, { "a.txt": "main\n", "b.txt": "main b\n" }, "main moves");
    const main = await rev(repo, "main");
    const err = await promote({ repo, generation: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MERGE_CONFLICT" });
    expect((err as Error).message).toBe(
      "lab/gen-1 conflicts with main in a.txt, b.txt; nothing was changed — roll back gen-1 and let the next generation start from the current main",
    );
    expect(await rev(repo, "main")).toBe(main);
    expect(await worktrees(repo)).toBe(1);
    // gen-2 has no commit of its own beyond main's first: it is already part of main.
    await sh(repo, ["branch", "-f", "lab/gen-2", `${main}~1`]);
    await expect(promote({ repo, generation: 2 })).rejects.toMatchObject({
      code: "NOTHING_TO_MERGE",
      message: "lab/gen-2 is already part of main; nothing to promote",
    });
  });

  it("a merge a hook refuses fails with git's words, and nothing changes", async () => {
    const repo = await repoWith("wt-refused", { 1: { "b.txt": "b\n" } });
    const hook = path.join(repo, ".git", "hooks", "pre-merge-commit");
    await writeFile(hook, "#!/bin/sh\necho refused by the hook >&2\nexit 1\n");
    await chmod(hook, 0o755);
    const main = await rev(repo, "main");
    const err = (await promote({ repo, generation: 1 }).catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(err.code).toBe("MERGE_FAILED");
    expect(err.message).toMatch(
      /^merging lab\/gen-1 into main failed: refused by the hook\n[^\n]*merge\.; nothing was changed$/,
    );
    expect(await rev(repo, "main")).toBe(main);
    expect(await worktrees(repo)).toBe(1);
  });

  it("a tag that already exists refuses with the tag's object", async () => {
    const repo = await repoWith("tag-exists", { 1: { "b.txt": "b\n" } });
    await sh(repo, ["tag", "gen-1", "main"]);
    const main = await rev(repo, "main");
    await expect(promote({ repo, generation: 1 })).rejects.toMatchObject({
      code: "TAG_EXISTS",
      message: `tag gen-1 already exists (${main.slice(0, 12)}), so gen-1 was promoted before; nothing was changed`,
    });
  });
});
