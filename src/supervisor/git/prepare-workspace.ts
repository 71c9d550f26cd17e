import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { GitOpError } from "./git-op-error.ts";
import { assertRepo, checkGeneration, requireMain } from "./repo-state.ts";
import { git } from "./run-git.ts";

export interface PrepareWorkspaceInput {
  readonly repo: string;
  /** Where the Lab's clone goes; must not exist yet, or be an empty directory. */
  readonly workspace: string;
  readonly generation: number;
  /** The program.md text the Lab works from; committed on the branch so it travels with the work. */
  readonly program: string;
  /** The ref the branch starts from (an archived generation, refs/loom/archive/gen-P); absent: main. */
  readonly from?: string;
  /**
   * The workspace is a pooled Lab's folder (lifecycle/lab-pool.ts) holding a clone of main made ahead
   * by `cloneAhead`, its folders mounted in the Lab's container: it is brought to main's commit (or
   * `from`) by a fetch and a checkout in place, which keep those folders, instead of cloned.
   */
  readonly pooled?: boolean;
}

/** A clone of main for a pooled Lab, made ahead of its generation (finished by prepareWorkspace). */
export async function cloneAhead(repo: string, workspace: string): Promise<void> {
  await requireMain(await assertRepo(repo));
  await cloneMain(repo, workspace);
}

async function cloneMain(repo: string, workspace: string): Promise<void> {
  await git(
    path.dirname(workspace),
    ["clone", "--no-hardlinks", "--quiet", "-b", "main", "--", path.resolve(repo), workspace],
    { code: "CLONE_FAILED", what: "cloning main" },
  );
  // The Lab reaches the repo only through the Supervisor's fetch, never by pushing to origin.
  await git(workspace, ["remote", "remove", "origin"]);
}

/**
 * Clones main into the workspace (or finishes a pooled Lab's clone made ahead), starts `lab/gen-N` there and commits program.md on it. Returns the
 * main commit the Lab starts from. On failure the workspace is removed, never left half-made.
 */
export async function prepareWorkspace(input: PrepareWorkspaceInput): Promise<string> {
  const n = checkGeneration(input.generation);
  if (typeof input.program !== "string" || input.program.trim() === "") {
    throw new GitOpError("INVALID_INPUT", "program is empty; pass the program.md text for the Lab");
  }
  if (typeof input.workspace !== "string" || input.workspace.trim() === "") {
    throw new GitOpError("INVALID_INPUT", "workspace is empty; pass the folder for the Lab's clone");
  }
  const repo = await assertRepo(input.repo);
  await requireMain(repo);
  const workspace = path.resolve(input.workspace);
  const createdHere = input.pooled ? false : await claimWorkspace(workspace);
  const stone = input.from !== undefined && input.from !== "refs/heads/main" ? input.from : undefined;
  const fetch = (refspec: string) =>
    git(workspace, ["fetch", "--quiet", "--no-tags", "--update-head-ok", "--", path.resolve(repo), refspec], {
      code: "CLONE_FAILED",
      what: `fetching ${refspec}`,
    });
  try {
    if (input.pooled) {
      // Main may have moved since the clone was made: its branch follows, then the Lab's starts there.
      await fetch("+refs/heads/main:refs/heads/main");
      if (stone) await fetch(stone);
      await git(workspace, [
        "checkout",
        "--quiet",
        "--force",
        "-B",
        `lab/gen-${n}`,
        stone ? "FETCH_HEAD" : "main",
      ]);
    } else {
      await cloneMain(repo, workspace);
      if (stone) {
        // A stepping stone: its ref is not a branch, so the clone did not bring it; fetch just that.
        await fetch(stone);
        await git(workspace, ["checkout", "--quiet", "--detach", "FETCH_HEAD"]);
      }
      await git(workspace, ["checkout", "--quiet", "-b", `lab/gen-${n}`]);
    }
    const base = (await git(workspace, ["rev-parse", "HEAD"])).trim();
    await atomicWriteFile(path.join(workspace, "program.md"), input.program);
    await git(workspace, ["add", "-f", "program.md"]);
    // --allow-empty: main may already hold an identical program.md from an earlier promotion.
    await git(workspace, ["commit", "--quiet", "--no-verify", "--allow-empty", "-m", `gen-${n}: program`]);
    return base;
  } catch (err) {
    await rm(workspace, { recursive: true, force: true });
    if (!createdHere && !input.pooled) await mkdir(workspace).catch(() => {});
    if (err instanceof GitOpError) throw err;
    throw new GitOpError(
      "WORKSPACE_FAILED",
      `could not prepare workspace ${workspace} for gen-${n}: ${(err as Error).message}; it was removed`,
      { cause: err },
    );
  }
}

/**
 * Takes the workspace folder: creates it (exclusively, so two callers cannot share one), or accepts
 * an existing empty folder. Returns whether it was created here, so a failure can put things back.
 */
async function claimWorkspace(workspace: string): Promise<boolean> {
  await mkdir(path.dirname(workspace), { recursive: true });
  try {
    await mkdir(workspace);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new GitOpError(
        "WORKSPACE_EXISTS",
        `workspace ${workspace} cannot be created: ${(err as Error).message}`,
      );
    }
  }
  const entries = await readdir(workspace).catch((err: Error) => {
    throw new GitOpError("WORKSPACE_EXISTS", `workspace ${workspace} cannot be used: ${err.message}`);
  });
  if (entries.length > 0) {
    throw new GitOpError(
      "WORKSPACE_EXISTS",
      `workspace ${workspace} already exists and is not empty; pass a fresh folder for each generation`,
    );
  }
  return false;
}
