import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { assertSchemasUnchanged } from "./fixed-points.ts";
import { GitOpError } from "./git-op-error.ts";
import { moveMain } from "./move-main.ts";
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
}

export interface PromoteResult {
  readonly tag: string;
  readonly mergeCommit: string;
}

/** Merges in a throwaway worktree so the user's checkout is never left half-merged. */
async function mergeInWorktree(repo: string, base: string, lab: string, n: number): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), "loom-promote-"));
  const tree = path.join(root, "tree");
  try {
    await git(repo, ["worktree", "add", "--detach", "--quiet", tree, base], { what: "preparing the merge" });
    const r = await tryGit(tree, ["merge", "--no-ff", "--no-edit", "-m", `Promote gen-${n}`, lab]);
    if (r.exitCode !== 0) {
      const conflicts = (await tryGit(tree, ["diff", "--name-only", "--diff-filter=U"])).stdout
        .split("\n")
        .filter(Boolean);
      if (conflicts.length > 0) {
        throw new GitOpError(
          "MERGE_CONFLICT",
          `lab/gen-${n} conflicts with main in ${conflicts.join(", ")}; nothing was changed — roll back gen-${n} ` +
            "and let the next generation start from the current main",
        );
      }
      throw new GitOpError(
        "MERGE_FAILED",
        `merging lab/gen-${n} into main failed: ${(r.stderr || r.stdout).trim()}; nothing was changed`,
      );
    }
    const merged = (await git(tree, ["rev-parse", "HEAD"])).trim();
    if (merged === base) {
      throw new GitOpError("NOTHING_TO_MERGE", `lab/gen-${n} is already part of main; nothing to promote`);
    }
    return merged;
  } finally {
    const removed = await tryGit(repo, ["worktree", "remove", "--force", "--force", tree]);
    await rm(root, { recursive: true, force: true });
    if (removed.exitCode !== 0) await tryGit(repo, ["worktree", "prune"]);
  }
}

async function makeTagObject(repo: string, commit: string, n: number): Promise<string> {
  const when = `${Math.floor(Date.now() / 1000)} +0000`;
  const body =
    `object ${commit}\ntype commit\ntag gen-${n}\n` +
    `tagger ${SUPERVISOR_IDENTITY.name} <${SUPERVISOR_IDENTITY.email}> ${when}\n\nGeneration ${n}\n`;
  return (await git(repo, ["mktag"], { input: body, what: "creating tag gen-" + n })).trim();
}

/**
 * Merges `lab/gen-N` into main (`--no-ff`, "Promote gen-N"), tags it `gen-N` (annotated) and deletes
 * the branch — all or nothing. Every refusal happens before anything changes; after the merge, main,
 * the tag and the branch move in one ref transaction, and a checkout of main is updated with them.
 */
export function promote(input: PromoteInput): Promise<PromoteResult> {
  return serializedOnRepo(String(input?.repo), () => promoteNow(input));
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
  const checkouts = await cleanMainCheckouts(repo);
  await assertSchemasUnchanged(repo, n);
  const mergeCommit = await mergeInWorktree(repo, base, lab, n);
  const tagObject = await makeTagObject(repo, mergeCommit, n);
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
