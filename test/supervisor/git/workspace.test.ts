import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchLabBranch } from "../../../src/supervisor/git/fetch-lab-branch.ts";
import { cloneAhead, prepareWorkspace } from "../../../src/supervisor/git/prepare-workspace.ts";
import { rollback } from "../../../src/supervisor/git/rollback.ts";
import { commitFiles, labBranch, makeFixture, rejection, sh, snapshot } from "../git-repo-fixture.ts";

let fx: Awaited<ReturnType<typeof makeFixture>>;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

describe("prepareWorkspace", () => {
  it("clones main, starts lab/gen-N and commits program.md even though it is gitignored", async () => {
    const before = await snapshot(fx.repo);
    const workspace = path.join(fx.root, "workspaces", "gen-3");
    const base = await prepareWorkspace({
      repo: fx.repo,
      workspace,
      generation: 3,
      program: "# do things\n",
    });
    expect(base).toBe((await sh(fx.repo, ["rev-parse", "main"])).trim());
    expect((await sh(workspace, ["symbolic-ref", "HEAD"])).trim()).toBe("refs/heads/lab/gen-3");
    expect((await sh(workspace, ["log", "-1", "--format=%P %s"])).trim()).toBe(`${base} gen-3: program`);
    expect(await sh(workspace, ["show", "HEAD:program.md"])).toBe("# do things");
    expect(await sh(workspace, ["status", "--porcelain"])).toBe("");
    expect(await sh(workspace, ["remote"])).toBe("");
    expect(await snapshot(fx.repo)).toEqual(before);
  });

  it("finishes a pooled Lab's clone made ahead: main's commits since, its mount points kept, an archived parent too", async () => {
    const workspace = path.join(fx.root, "pooled");
    await cloneAhead(fx.repo, workspace);
    for (const dir of ["schemas", "acceptance", "node_modules"])
      await mkdir(path.join(workspace, dir), { recursive: true });
    const inode = (await stat(path.join(workspace, "schemas"))).ino;
    expect(await sh(workspace, ["remote"])).toBe("");
    // Main moves on after the clone was made (a promotion between rounds).
    await commitFiles(fx.repo, { "schemas/a.ts": "export const a = 1;\n" }, "a schema");
    const main = (await sh(fx.repo, ["rev-parse", "main"])).trim();
    const base = await prepareWorkspace({
      repo: fx.repo,
      workspace,
      generation: 4,
      program: "p\n",
      pooled: true,
    });
    expect(base).toBe(main);
    expect((await sh(workspace, ["rev-parse", "main"])).trim()).toBe(main);
    expect((await stat(path.join(workspace, "schemas"))).ino).toBe(inode);
    expect(await readFile(path.join(workspace, "schemas", "a.ts"), "utf8")).toBe("export const a = 1;\n");
    expect((await sh(workspace, ["symbolic-ref", "HEAD"])).trim()).toBe("refs/heads/lab/gen-4");
    expect((await sh(workspace, ["log", "-1", "--format=%P %s"])).trim()).toBe(`${main} gen-4: program`);
    // The mount points are untracked empty folders: nothing for git to report.
    expect(await sh(workspace, ["status", "--porcelain"])).toBe("");

    // A stepping stone: the branch starts at the archived ref, not main.
    const other = path.join(fx.root, "pooled-2");
    await cloneAhead(fx.repo, other);
    await sh(fx.repo, ["update-ref", "refs/loom/archive/gen-2", `${main}~1`]);
    const stone = await prepareWorkspace({
      repo: fx.repo,
      workspace: other,
      generation: 5,
      program: "p\n",
      from: "refs/loom/archive/gen-2",
      pooled: true,
    });
    expect(stone).toBe((await sh(fx.repo, ["rev-parse", `${main}~1`])).trim());
    expect(await exists(path.join(other, "schemas", "a.ts"))).toBe(false);

    // Not a clone: refused and removed, never half-made.
    const stray = path.join(fx.root, "stray");
    await mkdir(stray);
    const refused = await rejection(
      prepareWorkspace({ repo: fx.repo, workspace: stray, generation: 6, program: "p", pooled: true }),
    );
    expect(refused).toMatchObject({ code: "CLONE_FAILED" });
    expect(await exists(stray)).toBe(false);
  });

  it("still commits when main already holds the same program.md", async () => {
    await writeFile(path.join(fx.repo, "program.md"), "same\n");
    await sh(fx.repo, ["add", "-f", "program.md"]);
    const base = await commitFiles(fx.repo, {}, "an earlier promotion");
    const workspace = path.join(fx.root, "ws");
    await prepareWorkspace({ repo: fx.repo, workspace, generation: 1, program: "same\n" });
    expect((await sh(workspace, ["rev-parse", "HEAD^"])).trim()).toBe(base);
  });

  it("refuses bad input and removes a half-made workspace", async () => {
    const used = path.join(fx.root, "used");
    await mkdir(used);
    await writeFile(path.join(used, "keep.txt"), "mine");
    const taken = await rejection(
      prepareWorkspace({ repo: fx.repo, workspace: used, generation: 1, program: "p" }),
    );
    expect(taken).toMatchObject({ code: "WORKSPACE_EXISTS" });
    expect(await readFile(path.join(used, "keep.txt"), "utf8")).toBe("mine");

    const ws = path.join(fx.root, "ws");
    const blank = await rejection(
      prepareWorkspace({ repo: fx.repo, workspace: ws, generation: 1, program: " \n" }),
    );
    expect(blank).toMatchObject({ code: "INVALID_INPUT" });
    const notRepo = await rejection(
      prepareWorkspace({ repo: used, workspace: ws, generation: 1, program: "p" }),
    );
    expect(notRepo).toMatchObject({ code: "NOT_A_REPO" });

    // program.md is a folder on main, so writing it fails after the clone: nothing may remain.
    await mkdir(path.join(fx.repo, "program.md"));
    await writeFile(path.join(fx.repo, "program.md", "keep"), "x");
    await sh(fx.repo, ["add", "-f", "program.md/keep"]);
    await commitFiles(fx.repo, {}, "a folder where program.md goes");
    const broken = await rejection(
      prepareWorkspace({ repo: fx.repo, workspace: ws, generation: 1, program: "p" }),
    );
    expect(broken).toMatchObject({ code: "WORKSPACE_FAILED" });
    expect(broken.message).toContain(ws);
    expect(await exists(ws)).toBe(false);
    // A folder the caller made empty beforehand is left empty, not deleted.
    const empty = path.join(fx.root, "empty");
    await mkdir(empty);
    await rejection(prepareWorkspace({ repo: fx.repo, workspace: empty, generation: 1, program: "p" }));
    expect(await readdir(empty)).toEqual([]);
  });
});

describe("fetchLabBranch", () => {
  it("brings lab/gen-N back after a Lab commit, after none, and after a rewrite", async () => {
    const workspace = path.join(fx.root, "ws");
    await prepareWorkspace({ repo: fx.repo, workspace, generation: 1, program: "p\n" });
    const programOnly = (await sh(workspace, ["rev-parse", "HEAD"])).trim();
    expect(await fetchLabBranch({ repo: fx.repo, workspace, generation: 1 })).toBe(programOnly);
    expect((await sh(fx.repo, ["rev-parse", "lab/gen-1"])).trim()).toBe(programOnly);

    const work = await commitFiles(workspace, { "src/lab.ts": "lab\n" }, "gen-1: work");
    expect(await fetchLabBranch({ repo: fx.repo, workspace, generation: 1 })).toBe(work);
    expect(await sh(fx.repo, ["show", "lab/gen-1:src/lab.ts"])).toBe("lab");

    await sh(workspace, ["reset", "-q", "--hard", programOnly]);
    const rewritten = await commitFiles(workspace, { "src/other.ts": "o\n" }, "gen-1: redo");
    expect(await fetchLabBranch({ repo: fx.repo, workspace, generation: 1 })).toBe(rewritten);
    expect((await sh(fx.repo, ["rev-parse", "lab/gen-1"])).trim()).toBe(rewritten);
    expect(await sh(fx.repo, ["tag"])).toBe("");
  });

  it("says clearly when the workspace or its branch is gone", async () => {
    const workspace = path.join(fx.root, "ws");
    await prepareWorkspace({ repo: fx.repo, workspace, generation: 1, program: "p\n" });
    const wrong = await rejection(fetchLabBranch({ repo: fx.repo, workspace, generation: 2 }));
    expect(wrong).toMatchObject({ code: "BRANCH_NOT_FOUND" });
    expect(wrong.message).toContain("has no branch lab/gen-2");
    await rm(workspace, { recursive: true, force: true });
    const gone = await rejection(fetchLabBranch({ repo: fx.repo, workspace, generation: 1 }));
    expect(gone).toMatchObject({ code: "WORKSPACE_MISSING" });
    expect(gone.message).toContain(workspace);
    expect(await sh(fx.repo, ["branch", "--list", "lab/*"])).toBe("");
  });
});

describe("rollback", () => {
  it("deletes the Lab branch once, then is a no-op, never touching main or tags", async () => {
    await labBranch(fx.repo, 4, { "src/x.ts": "x\n" });
    await sh(fx.repo, ["tag", "gen-1", "main"]);
    const main = (await sh(fx.repo, ["rev-parse", "main"])).trim();
    expect(await rollback({ repo: fx.repo, generation: 4 })).toEqual({ deleted: true });
    expect(await rollback({ repo: fx.repo, generation: 4 })).toEqual({ deleted: false });
    expect(await sh(fx.repo, ["for-each-ref", "--format=%(refname) %(objectname)"])).toBe(
      `refs/heads/main ${main}\nrefs/tags/gen-1 ${main}`,
    );
    await expect(rollback({ repo: fx.repo, generation: -1 })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(rollback({ repo: path.join(fx.root, "nope"), generation: 1 })).rejects.toMatchObject({
      code: "NOT_A_REPO",
    });
  });
});
