import { GitOpError } from "./git-op-error.ts";
import { MAIN_REF } from "./repo-state.ts";
import { tryGit } from "./run-git.ts";

export interface MoveMain {
  readonly repo: string;
  /** Worktrees with main checked out, already known to be clean (cleanMainCheckouts). */
  readonly checkouts: readonly string[];
  readonly from: string;
  readonly to: string;
  /** More `git update-ref --stdin` lines that must succeed or fail together with main's move. */
  readonly alsoRefs?: readonly string[];
  readonly message: string;
}

/** Puts a clean checkout's index and files back at HEAD; only ever called on checkouts that were clean. */
async function restore(checkouts: readonly string[]): Promise<void> {
  for (const wt of checkouts) await tryGit(wt, ["reset", "--hard", "--quiet"]);
}

/**
 * Moves main from `from` to `to` together with `alsoRefs` in one ref transaction (main only moves if
 * it is still at `from`). A checkout of main gets its files first — `read-tree -m -u` refuses to
 * overwrite untracked files — and is reset back if the transaction then fails, so either everything
 * moved or nothing did.
 */
export async function moveMain(move: MoveMain): Promise<void> {
  for (const wt of move.checkouts) {
    const r = await tryGit(wt, ["read-tree", "-m", "-u", move.from, move.to]);
    if (r.exitCode !== 0) {
      await restore(move.checkouts);
      throw new GitOpError(
        "WORKTREE_UPDATE_FAILED",
        `could not update the checkout of main in ${wt}: ${r.stderr.trim()}; move or remove the files named, then try again — nothing was changed`,
      );
    }
  }
  const lines = [`update ${MAIN_REF} ${move.to} ${move.from}`, ...(move.alsoRefs ?? [])];
  const r = await tryGit(move.repo, ["update-ref", "-m", move.message, "--stdin"], `${lines.join("\n")}\n`);
  if (r.exitCode !== 0) {
    await restore(move.checkouts);
    const detail = r.stderr.trim();
    const moved = detail.includes(MAIN_REF) && /expected|is at/.test(detail);
    throw new GitOpError(
      moved ? "MAIN_MOVED" : "REF_UPDATE_FAILED",
      `${moved ? "main moved while the operation ran" : "the ref update was refused"} (${detail}); nothing was changed — check the repo and try again`,
    );
  }
}
