import { constants } from "node:fs";
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { assertSchemasUnchanged } from "./fixed-points.ts";
import { GitOpError } from "./git-op-error.ts";
import { moveMain } from "./move-main.ts";
import type { PromotionPlan } from "./recover.ts";
import { serializedOnRepo } from "./repo-queue.ts";
import {
  assertRepo,
  checkGeneration,
  cleanMainCheckouts,
  labMissing,
  labRef,
  MAIN_REF,
  mainMissing,
  readRefs,
  tagRef,
} from "./repo-state.ts";
import { git, SUPERVISOR_IDENTITY, tryGit } from "./run-git.ts";

export interface PromoteInput {
  readonly repo: string;
  readonly generation: number;
  /**
   * Called with what is about to change, after every refusal and before the first change to a ref or
   * a checkout (the merge commit and tag object are only unreferenced objects until then): the caller
   * journals it so a restart can finish or undo the move. A throw cancels the promotion, nothing changed.
   */
  readonly onPlanned?: (plan: PromotionPlan) => Promise<void>;
}

export interface PromoteResult {
  readonly tag: string;
  readonly mergeCommit: string;
}

const conflictError = (n: number, conflicts: readonly string[]) =>
  new GitOpError(
    "MERGE_CONFLICT",
    `lab/gen-${n} conflicts with main in ${conflicts.join(", ")}; nothing was changed — roll back gen-${n} ` +
      "and let the next generation start from the current main",
  );

const nothingToMerge = (n: number) =>
  new GitOpError("NOTHING_TO_MERGE", `lab/gen-${n} is already part of main; nothing to promote`);

/** Hooks `git merge` runs on its commit; a repo with any of them merges in a worktree, so they still run. */
const MERGE_HOOKS = ["pre-merge-commit", "prepare-commit-msg", "commit-msg", "post-merge"];

async function hasMergeHooks(repo: string): Promise<boolean> {
  const dir = await git(repo, ["rev-parse", "--path-format=absolute", "--git-path", "hooks"]);
  const found = await Promise.allSettled(MERGE_HOOKS.map((h) => access(path.join(dir, h), constants.X_OK)));
  return found.some((r) => r.status === "fulfilled");
}

/**
 * The merge commit of `lab` into `base`, made in the object store alone (`git merge-tree
 * --write-tree`, git 2.38+): no checkout of any file, so no user's checkout can be left half-merged
 * and a big repository merges as fast as a small one. undefined when this git cannot (older git) or
 * the repo has hooks a merge must run.
 */
async function mergeInObjectStore(
  repo: string,
  base: string,
  lab: string,
  n: number,
): Promise<string | undefined> {
  const [merged, hooks] = await Promise.all([
    tryGit(repo, ["merge-base", "--is-ancestor", lab, base]),
    hasMergeHooks(repo),
  ]);
  if (merged.exitCode === 0) throw nothingToMerge(n);
  if (hooks) return undefined;
  const r = await tryGit(repo, ["merge-tree", "--write-tree", "--name-only", "--no-messages", base, lab]);
  // 0: clean; 1: conflicts (the tree, then the conflicted paths); anything else: a git without --write-tree.
  if (r.exitCode > 1) return undefined;
  const [tree, ...paths] = r.stdout.split("\n");
  if (r.exitCode === 1) throw conflictError(n, [...new Set(paths)]);
  return git(repo, ["commit-tree", tree as string, "-p", base, "-p", lab, "-m", `Promote gen-${n}`]);
}

/** Merges in a throwaway worktree (git before 2.38) so the user's checkout is never left half-merged. */
async function mergeInWorktree(repo: string, base: string, lab: string, n: number): Promise<string> {
  // Stryker disable next-line StringLiteral: the folder's name
  const root = await mkdtemp(path.join(tmpdir(), "loom-promote-"));
  // Stryker disable next-line StringLiteral: the folder's name (worktree add accepts the empty root too)
  const tree = path.join(root, "tree");
  try {
    await git(repo, ["worktree", "add", "--detach", "--quiet", tree, base]);
    const r = await tryGit(tree, ["merge", "--no-ff", "--no-edit", "-m", `Promote gen-${n}`, lab]);
    if (r.exitCode !== 0) {
      const conflicts = (await tryGit(tree, ["diff", "--name-only", "--diff-filter=U"])).stdout
        .split("\n")
        .filter(Boolean);
      if (conflicts.length > 0) throw conflictError(n, conflicts);
      throw new GitOpError(
        "MERGE_FAILED",
        `merging lab/gen-${n} into main failed: ${r.stderr || r.stdout}; nothing was changed`,
      );
    }
    return await git(tree, ["rev-parse", "HEAD"]);
  } finally {
    // The folder first, then git forgets the worktree whose folder is gone.
    await rm(root, { recursive: true });
    await tryGit(repo, ["worktree", "prune"]);
  }
}

async function makeTagObject(repo: string, commit: string, n: number): Promise<string> {
  const when = `${Math.floor(Date.now() / 1000)} +0000`;
  const body =
    `object ${commit}\ntype commit\ntag gen-${n}\n` +
    `tagger ${SUPERVISOR_IDENTITY.name} <${SUPERVISOR_IDENTITY.email}> ${when}\n\nGeneration ${n}\n`;
  return git(repo, ["mktag"], { input: body });
}

/**
 * Merges `lab/gen-N` into main (`--no-ff`, "Promote gen-N"), tags it `gen-N` (annotated) and deletes
 * the branch — all or nothing. Every refusal happens before anything changes; after the merge, main,
 * the tag and the branch move in one ref transaction, and a checkout of main is updated with them.
 */
export function promote(input: PromoteInput): Promise<PromoteResult> {
  return serializedOnRepo(input.repo, () => promoteNow(input));
}

async function promoteNow(input: PromoteInput): Promise<PromoteResult> {
  const n = checkGeneration(input.generation);
  const repo = await assertRepo(input.repo);
  const refs = await readRefs(repo, [MAIN_REF, labRef(n), tagRef(n)]);
  const base = refs.get(MAIN_REF)?.commit;
  if (!base) throw mainMissing(repo);
  const lab = refs.get(labRef(n))?.commit;
  if (!lab) throw labMissing(repo, n);
  const existing = refs.get(tagRef(n));
  if (existing) {
    throw new GitOpError(
      "TAG_EXISTS",
      `tag gen-${n} already exists (${existing.object.slice(0, 12)}), so gen-${n} was promoted before; nothing was changed`,
    );
  }
  // Independent refusals, asked side by side; reported in this order when both apply.
  const [clean, schemas] = await Promise.allSettled([
    cleanMainCheckouts(repo),
    assertSchemasUnchanged(repo, n),
  ]);
  if (clean.status === "rejected") throw clean.reason;
  if (schemas.status === "rejected") throw schemas.reason;
  const checkouts = clean.value;
  const mergeCommit =
    (await mergeInObjectStore(repo, base, lab, n)) ?? (await mergeInWorktree(repo, base, lab, n));
  const tagObject = await makeTagObject(repo, mergeCommit, n);
  await input.onPlanned?.({ generation: n, base, lab, mergeCommit, tagObject });
  await moveMain({
    repo,
    checkouts,
    from: base,
    to: mergeCommit,
    alsoRefs: [`create ${tagRef(n)} ${tagObject}`, `delete ${labRef(n)} ${lab}`],
    message: `loom: promote gen-${n}`,
  });
  return { tag: `gen-${n}`, mergeCommit };
}
