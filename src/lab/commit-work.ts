import { appendFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { LoomError } from "../shared/errors.ts";
import { runGit } from "../shared/git/run-git.ts";

/** Loom's own scratch folder inside a workspace; kept out of every commit via .git/info/exclude. */
export const WORKSPACE_STATE_DIR = ".loom";

const LAB_AUTHOR = { name: "Loom Lab", email: "lab@loom.invalid" };

/** Makes sure `.loom/` never lands in a Lab commit, whatever the workspace's own .gitignore says. */
export async function excludeStateDir(workspace: string): Promise<void> {
  const excludePath = join(
    workspace,
    (await runGit(workspace, ["rev-parse", "--git-path", "info/exclude"])).trim(),
  );
  const current = await readFile(excludePath, "utf8").catch(() => "");
  if (current.split("\n").some((l) => l.trim() === `/${WORKSPACE_STATE_DIR}/`)) return;
  await mkdir(join(excludePath, ".."), { recursive: true });
  await appendFile(
    excludePath,
    `${current && !current.endsWith("\n") ? "\n" : ""}/${WORKSPACE_STATE_DIR}/\n`,
  );
}

/** Puts the workspace on `branch` (creating it at HEAD if needed) without touching the working tree. */
export async function ensureBranch(workspace: string, branch: string): Promise<string> {
  const git = (args: string[]) => runGit(workspace, args);
  const current = (await git(["rev-parse", "--abbrev-ref", "HEAD"])).trim();
  if (current !== branch) await git(["checkout", "-B", branch]);
  return (await git(["rev-parse", "HEAD"])).trim();
}

export interface CommitOutcome {
  /** The new commit, or null when the Lab left nothing to commit. */
  readonly commit: string | null;
  /** Files that differ between `base` and the branch head after the commit. */
  readonly filesChanged: string[];
}

/**
 * Commits everything the Lab changed (new, modified and deleted files; ignored files stay out) on the
 * current branch. Hooks are skipped: the workspace's hooks are code under test, not Loom's.
 */
export async function commitWork(workspace: string, base: string, message: string): Promise<CommitOutcome> {
  // Identity through -c, not the environment: the machine may have none, and env overrides leak.
  // Identity through -c, not the environment: the machine may have none, and env overrides leak.
  const git = (args: string[]) => runGit(workspace, args, { identity: LAB_AUTHOR });
  try {
    await git(["add", "-A"]);
    const staged = (await git(["diff", "--cached", "--name-only"])).trim();
    let commit: string | null = null;
    if (staged) {
      await git(["commit", "--no-verify", "-q", "-m", message]);
      commit = (await git(["rev-parse", "HEAD"])).trim();
    }
    const changed = (await git(["diff", "--name-only", base, "HEAD"])).split("\n").filter(Boolean);
    return { commit, filesChanged: changed };
  } catch (err) {
    throw new LoomError("LAB_COMMIT_FAILED", `could not commit the Lab's work: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
