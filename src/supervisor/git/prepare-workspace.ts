import { mkdir, readdir, rename, rm } from "node:fs/promises";
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
   * A pooled Lab's folder (lifecycle/lab-pool.ts): it already holds these mount points, each an empty
   * folder its container has mounted, and is cloned into around them (they keep their identity).
   */
  readonly mountPoints?: readonly string[];
}

/**
 * Clones main into the workspace, starts `lab/gen-N` there and commits program.md on it. Returns the
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
  const createdHere = await claimWorkspace(workspace, input.mountPoints ?? []);
  const beside = `${workspace}.clone`;
  try {
    const into = input.mountPoints ? beside : workspace;
    await git(
      path.dirname(workspace),
      [
        "clone",
        "--no-hardlinks",
        "--quiet",
        ...(input.mountPoints ? ["--no-checkout"] : []),
        "-b",
        "main",
        "--",
        path.resolve(repo),
        into,
      ],
      { code: "CLONE_FAILED", what: "cloning main" },
    );
    if (input.mountPoints) {
      // The clone's repository moves in; its files are checked out around the mount points.
      await rename(path.join(beside, ".git"), path.join(workspace, ".git"));
      await rm(beside, { recursive: true, force: true });
      await git(workspace, ["reset", "--hard", "--quiet"], {
        code: "CLONE_FAILED",
        what: "checking out main",
      });
    }
    // The Lab reaches the repo only through the Supervisor's fetch, never by pushing to origin.
    await git(workspace, ["remote", "remove", "origin"]);
    if (input.from !== undefined && input.from !== "refs/heads/main") {
      // A stepping stone: its ref is not a branch, so the clone did not bring it; fetch just that.
      await git(workspace, ["fetch", "--quiet", "--no-tags", "--", path.resolve(repo), input.from], {
        code: "CLONE_FAILED",
        what: `fetching ${input.from}`,
      });
      await git(workspace, ["checkout", "--quiet", "--detach", "FETCH_HEAD"]);
    }
    const base = (await git(workspace, ["rev-parse", "HEAD"])).trim();
    await git(workspace, ["checkout", "--quiet", "-b", `lab/gen-${n}`]);
    await atomicWriteFile(path.join(workspace, "program.md"), input.program);
    await git(workspace, ["add", "-f", "program.md"]);
    // --allow-empty: main may already hold an identical program.md from an earlier promotion.
    await git(workspace, ["commit", "--quiet", "--no-verify", "--allow-empty", "-m", `gen-${n}: program`]);
    return base;
  } catch (err) {
    await rm(beside, { recursive: true, force: true });
    await rm(workspace, { recursive: true, force: true });
    if (!createdHere) await mkdir(workspace).catch(() => {});
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
 * an existing folder that holds nothing but the given mount points, each an empty folder. Returns
 * whether it was created here, so a failure can put things back.
 */
async function claimWorkspace(workspace: string, mountPoints: readonly string[]): Promise<boolean> {
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
  for (const entry of entries) {
    const emptyMountPoint =
      mountPoints.includes(entry) &&
      (await readdir(path.join(workspace, entry)).then(
        (inner) => inner.length === 0,
        () => false,
      ));
    if (!emptyMountPoint)
      throw new GitOpError(
        "WORKSPACE_EXISTS",
        `workspace ${workspace} already exists and holds ${entry}; pass a fresh folder for each generation${mountPoints.length ? ` (only the empty mount points ${mountPoints.join(", ")} may be there)` : ""}`,
      );
  }
  return false;
}
