import { realpathSync } from "node:fs";
import { tryGit } from "../shared/git/run-git.ts";
import { loomRoot } from "../shared/loom-root.ts";

/** The commit of the running code when it is a git checkout (Prime on a promoted main), else undefined. */
export async function codeCommit(root = loomRoot()): Promise<string | undefined> {
  if (!root) return undefined;
  const r = await tryGit(root, ["rev-parse", "--show-toplevel", "HEAD"], { timeoutMs: 10_000 }).catch(() => ({
    exitCode: -1,
    stdout: "",
  }));
  if (r.exitCode !== 0) return undefined;
  const [top, sha] = r.stdout.trim().split("\n");
  // An installed Loom inside someone else's repository is not a checkout of Loom.
  const isRoot = Boolean(top) && realpathSync(top as string) === realpathSync(root);
  return isRoot && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sha ?? "") ? sha : undefined;
}
