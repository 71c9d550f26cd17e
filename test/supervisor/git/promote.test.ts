import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchLabBranch } from "../../../src/supervisor/git/fetch-lab-branch.ts";
import { checkFixedPoints } from "../../../src/supervisor/git/fixed-points.ts";
import { prepareWorkspace } from "../../../src/supervisor/git/prepare-workspace.ts";
import { promote } from "../../../src/supervisor/git/promote.ts";
import {
  commitFiles,
  labBranch,
  makeFixture,
  expectRefusedUntouched as refusedUntouched,
  sh,
  snapshot,
} from "../git-repo-fixture.ts";

let fx: Awaited<ReturnType<typeof makeFixture>>;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const labWork = (n: number, files: Record<string, string>): Promise<void> => labBranch(fx.repo, n, files);

/** The whole path a Lab's work takes: prepared workspace, a commit on lab/gen-N, fetched back. */
async function labWorkViaWorkspace(n: number, files: Record<string, string>): Promise<void> {
  const workspace = path.join(fx.root, `ws-${n}`);
  await prepareWorkspace({ repo: fx.repo, workspace, generation: n, program: `# gen ${n}\n` });
  await commitFiles(workspace, files, `gen-${n}: work`);
  await fetchLabBranch({ repo: fx.repo, workspace, generation: n });
}

const expectRefusedUntouched = (code: string, run: () => Promise<unknown>): Promise<Error> =>
  refusedUntouched(fx.repo, code, run);

const mainSha = async (): Promise<string> => (await sh(fx.repo, ["rev-parse", "main"])).trim();

describe("promote", () => {
  it("merges, tags and deletes the branch, updating a checked-out main", async () => {
    const oldMain = await mainSha();
    await labWorkViaWorkspace(1, { "src/new.ts": "export const added = 1;\n" });
    const result = await promote({ repo: fx.repo, generation: 1 });
    expect(result.tag).toBe("gen-1");
    expect(result.mergeCommit).toBe(await mainSha());
    expect((await sh(fx.repo, ["log", "-1", "--format=%P%n%s", "main"])).split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^${oldMain} [0-9a-f]{40}$`)),
      "Promote gen-1",
    ]);
    expect((await sh(fx.repo, ["cat-file", "-t", "gen-1"])).trim()).toBe("tag");
    expect((await sh(fx.repo, ["rev-parse", "gen-1^{commit}"])).trim()).toBe(result.mergeCommit);
    expect(await sh(fx.repo, ["branch", "--list", "lab/*"])).toBe("");
    expect(await readFile(path.join(fx.repo, "src/new.ts"), "utf8")).toBe("export const added = 1;\n");
    expect(await readFile(path.join(fx.repo, "program.md"), "utf8")).toBe("# gen 1\n");
    expect(await sh(fx.repo, ["status", "--porcelain", "--untracked-files=all"])).toBe("");
    expect((await sh(fx.repo, ["worktree", "list"])).trim().split("\n")).toHaveLength(1);
  });

  it("leaves the user's checkout alone when main is not checked out", async () => {
    await labWork(1, { "src/new.ts": "x\n" });
    await sh(fx.repo, ["checkout", "-q", "-b", "feature"]);
    await writeFile(path.join(fx.repo, "src/app.ts"), "user edit in progress\n");
    const before = await snapshot(fx.repo);
    const { mergeCommit } = await promote({ repo: fx.repo, generation: 1 });
    const after = await snapshot(fx.repo);
    expect(after.files).toEqual(before.files);
    expect(after.status).toEqual(before.status);
    expect(after.head).toEqual(before.head);
    expect(await mainSha()).toBe(mergeCommit);
    expect(await sh(fx.repo, ["show", "main:src/new.ts"])).toBe("x");
  });

  it("on a merge conflict changes nothing", async () => {
    await labWork(1, { "src/app.ts": "export const app = 'lab';\n" });
    await commitFiles(fx.repo, { "src/app.ts": "export const app = 'main';\n" }, "main moves on");
    const err = await expectRefusedUntouched("MERGE_CONFLICT", () =>
      promote({ repo: fx.repo, generation: 1 }),
    );
    expect(err.message).toMatch(/conflicts with main in src\/app\.ts; nothing was changed/);
  });

  it("refuses when the tag exists, main's checkout is dirty, or the branch is missing", async () => {
    await labWork(1, { "src/new.ts": "x\n" });
    await sh(fx.repo, ["tag", "gen-1", "main"]);
    await expectRefusedUntouched("TAG_EXISTS", () => promote({ repo: fx.repo, generation: 1 }));
    await sh(fx.repo, ["tag", "-d", "gen-1"]);

    await writeFile(path.join(fx.repo, "src/app.ts"), "uncommitted\n");
    const dirty = await expectRefusedUntouched("REPO_DIRTY", () => promote({ repo: fx.repo, generation: 1 }));
    expect(dirty.message).toMatch(/src\/app\.ts.*commit or stash/);
    await sh(fx.repo, ["checkout", "--", "src/app.ts"]);

    await expectRefusedUntouched("BRANCH_NOT_FOUND", () => promote({ repo: fx.repo, generation: 2 }));
    await expectRefusedUntouched("INVALID_INPUT", () => promote({ repo: fx.repo, generation: 0 }));
  });

  it("refuses a Lab branch that changes schemas/", async () => {
    await labWork(1, { "schemas/thing.ts": "export const thing = 2;\n" });
    const err = await expectRefusedUntouched("SCHEMAS_CHANGED", () =>
      promote({ repo: fx.repo, generation: 1 }),
    );
    expect(err.message).toContain("schemas/thing.ts");
    await expect(checkFixedPoints(fx.repo, 1)).rejects.toMatchObject({ code: "SCHEMAS_CHANGED" });
    await labWork(2, { "src/ok.ts": "ok\n" });
    await expect(checkFixedPoints(fx.repo, 2)).resolves.toBeUndefined();
  });

  it("undoes the merge when a pre-merge-commit hook fails", async () => {
    await labWork(1, { "src/new.ts": "x\n" });
    const hook = path.join(fx.repo, ".git/hooks/pre-merge-commit");
    await writeFile(hook, "#!/bin/sh\necho 'policy says no' >&2\nexit 1\n");
    await chmod(hook, 0o755);
    const err = await expectRefusedUntouched("MERGE_FAILED", () => promote({ repo: fx.repo, generation: 1 }));
    expect(err.message).toContain("policy says no");
  });

  it("restores main's checkout when the final ref transaction is refused", async () => {
    await labWork(1, { "src/new.ts": "x\n" });
    // Rejects only the promotion's transaction, after the merge and the checkout update already ran.
    const hook = path.join(fx.repo, ".git/hooks/reference-transaction");
    await writeFile(
      hook,
      '#!/bin/sh\ninput=$(cat)\nif [ "$1" = prepared ] && echo "$input" | grep -q refs/tags/gen-; then exit 1; fi\nexit 0\n',
    );
    await chmod(hook, 0o755);
    await expectRefusedUntouched("REF_UPDATE_FAILED", () => promote({ repo: fx.repo, generation: 1 }));
  });

  it("refuses when an untracked file in main's checkout would be overwritten", async () => {
    await labWork(1, { "src/new.ts": "from the lab\n" });
    await writeFile(path.join(fx.repo, "src/new.ts"), "the user's own file\n");
    await expectRefusedUntouched("WORKTREE_UPDATE_FAILED", () => promote({ repo: fx.repo, generation: 1 }));
  });
});
