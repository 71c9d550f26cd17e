import { lstat, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { serializedOnRepo } from "./repo-queue.ts";
import { labRef, MAIN_REF, readRefs, tagRef, worktreesOn } from "./repo-state.ts";
import { git, tryGit } from "./run-git.ts";

/** What putting a checkout of main back did: paths set back to main, and paths someone else had changed. */
export interface CheckoutRepair {
  readonly restored: readonly string[];
  readonly kept: readonly string[];
}

/** `git ls-tree` of `paths` at `commit`: path → blob id (absent paths are missing). */
async function blobsAt(wt: string, commit: string, paths: readonly string[]): Promise<Map<string, string>> {
  const out = await git(wt, ["--literal-pathspecs", "ls-tree", "-r", "-z", commit, "--", ...paths]);
  const map = new Map<string, string>();
  for (const entry of out.split("\0").filter(Boolean)) {
    const tab = entry.indexOf("\t");
    const [, , sha] = entry.slice(0, tab).split(" ");
    if (sha) map.set(entry.slice(tab + 1), sha);
  }
  return map;
}

/** The blob id each existing file would have (missing files are absent from the map); one git call. */
async function blobsOnDisk(wt: string, paths: readonly string[]): Promise<Map<string, string>> {
  const present: string[] = [];
  for (const p of paths) {
    if ((await lstat(path.join(wt, p)).catch(() => undefined))?.isFile()) present.push(p);
  }
  const map = new Map<string, string>();
  if (present.length === 0) return map;
  // A name with a newline cannot go through --stdin-paths; such a name gets its own call.
  for (const odd of present.filter((p) => p.includes("\n"))) {
    map.set(odd, (await git(wt, ["hash-object", "--", odd])).trim());
  }
  present.splice(0, present.length, ...present.filter((p) => !p.includes("\n")));
  if (present.length === 0) return map;
  const ids = (await git(wt, ["hash-object", "--stdin-paths"], { input: `${present.join("\n")}\n` }))
    .split("\n")
    .filter(Boolean);
  present.forEach((p, i) => {
    const id = ids[i];
    if (id) map.set(p, id);
  });
  return map;
}

/**
 * Puts every checkout of main, whose HEAD is `head`, back to `head` where an interrupted
 * `read-tree -m -u head other` left it at `other`: for each path the two commits differ in, a file that
 * holds `other`'s version (or is missing/present as `other` has it) gets `head`'s back; a file holding
 * neither was changed by a person and is kept as it is. The index is then set to `head` for those paths
 * and a lock a killed git left is removed. Only safe while nothing else writes to the checkout, which
 * is why it runs on start-up, before the server listens.
 */
export async function restoreCheckouts(repo: string, head: string, other: string): Promise<CheckoutRepair> {
  const restored: string[] = [];
  const kept: string[] = [];
  const changed = (await git(repo, ["diff", "--name-only", "-z", "--no-renames", head, other]))
    .split("\0")
    .filter(Boolean);
  for (const wt of await worktreesOn(repo, MAIN_REF)) {
    const gitDir = (await git(wt, ["rev-parse", "--absolute-git-dir"])).trim();
    await rm(path.join(gitDir, "index.lock"), { force: true });
    if ((await git(wt, ["rev-parse", "HEAD"])).trim() !== head || changed.length === 0) continue;
    const [atHead, atOther, onDisk] = await Promise.all([
      blobsAt(wt, head, changed),
      blobsAt(wt, other, changed),
      blobsOnDisk(wt, changed),
    ]);
    const back: string[] = [];
    const drop: string[] = [];
    for (const p of changed) {
      const now = onDisk.get(p);
      if (now === atHead.get(p)) continue;
      if (now !== atOther.get(p)) {
        kept.push(path.join(wt, p));
        continue;
      }
      if (atHead.has(p)) back.push(p);
      else drop.push(p);
      restored.push(path.join(wt, p));
    }
    if (back.length > 0) await git(wt, ["--literal-pathspecs", "checkout", head, "--", ...back]);
    for (const p of drop) await unlink(path.join(wt, p)).catch(() => {});
    // The index of every changed path back to head; a kept file shows as an unstaged change, nothing lost.
    await tryGit(wt, ["--literal-pathspecs", "reset", "-q", head, "--", ...changed]);
  }
  return { restored, kept };
}

/** Lock files a git killed inside a ref transaction leaves; nothing else holds them while the Supervisor starts. */
async function dropRefLocks(repo: string, refs: readonly string[]): Promise<void> {
  const common = (await git(repo, ["rev-parse", "--path-format=absolute", "--git-common-dir"])).trim();
  for (const ref of [...refs, "packed-refs"]) await rm(path.join(common, `${ref}.lock`), { force: true });
}

async function isAncestor(repo: string, commit: string, of: string): Promise<boolean> {
  return (await tryGit(repo, ["merge-base", "--is-ancestor", commit, of])).exitCode === 0;
}

export interface PromotionPlan {
  readonly generation: number;
  readonly base: string;
  readonly lab: string;
  readonly mergeCommit: string;
  readonly tagObject: string;
}

export type PromotionState =
  /** Main holds the merge; the tag and the branch deletion are in place too. */
  | { readonly state: "promoted" }
  /** Main never moved; any half-updated checkout was put back. */
  | ({ readonly state: "not-moved" } & CheckoutRepair)
  /** Main is somewhere else entirely: someone moved it; nothing was touched. */
  | { readonly state: "diverged"; readonly main: string | undefined };

/**
 * Where an interrupted promotion left the repo, made whole: if main moved to the merge, the rest of the
 * ref transaction (tag, branch deletion) is completed should a torn write have lost it; if main did
 * not move, a checkout left half-updated is restored to main.
 */
export function recoverPromotion(repo: string, plan: PromotionPlan): Promise<PromotionState> {
  return serializedOnRepo(repo, async () => {
    const n = plan.generation;
    await dropRefLocks(repo, [MAIN_REF, tagRef(n), labRef(n)]);
    const refs = await readRefs(repo, [MAIN_REF, tagRef(n), labRef(n)]);
    const main = refs.get(MAIN_REF)?.commit;
    if (main && (main === plan.mergeCommit || (await isAncestor(repo, plan.mergeCommit, main)))) {
      const lines: string[] = [];
      if (!refs.has(tagRef(n))) lines.push(`create ${tagRef(n)} ${plan.tagObject}`);
      if (refs.get(labRef(n))?.commit === plan.lab) lines.push(`delete ${labRef(n)} ${plan.lab}`);
      if (lines.length > 0) {
        await git(repo, ["update-ref", "-m", `loom: finish promoting gen-${n}`, "--stdin"], {
          input: `${lines.join("\n")}\n`,
          what: `finishing the promotion of gen-${n}`,
        });
      }
      return { state: "promoted" };
    }
    if (main === plan.base)
      return { state: "not-moved", ...(await restoreCheckouts(repo, main, plan.mergeCommit)) };
    return { state: "diverged", main };
  });
}

export interface RevertPlan {
  readonly generation: number;
  readonly mergeCommit: string;
  readonly previous: string;
}

/**
 * Finishes reverting a promotion whose Prime was unhealthy: main back at `previous` and tag `gen-N`
 * gone, in one ref transaction, whether the interrupted revert had moved main or not (a checkout
 * left half-updated is restored to the merge first). "diverged" when main is at neither commit.
 */
export function recoverRevert(repo: string, plan: RevertPlan): Promise<"reverted" | "diverged"> {
  return serializedOnRepo(repo, async () => {
    const n = plan.generation;
    await dropRefLocks(repo, [MAIN_REF, tagRef(n)]);
    const refs = await readRefs(repo, [MAIN_REF, tagRef(n)]);
    const main = refs.get(MAIN_REF)?.commit;
    const tag = refs.get(tagRef(n));
    const dropTag = tag && tag.commit === plan.mergeCommit ? [`delete ${tagRef(n)} ${tag.object}`] : [];
    if (main === plan.mergeCommit) await restoreCheckouts(repo, main, plan.previous);
    else if (main !== plan.previous) return "diverged";
    if (main === plan.mergeCommit) {
      // The checkout first (read-tree refuses to overwrite a person's change), then the refs.
      for (const wt of await worktreesOn(repo, MAIN_REF)) {
        await git(wt, ["read-tree", "-m", "-u", plan.mergeCommit, plan.previous], {
          what: `restoring the checkout in ${wt} to ${plan.previous.slice(0, 12)}`,
        });
      }
      await git(repo, ["update-ref", "-m", `loom: finish reverting gen-${n}`, "--stdin"], {
        input: `${[`update ${MAIN_REF} ${plan.previous} ${plan.mergeCommit}`, ...dropTag].join("\n")}\n`,
        what: `finishing the revert of gen-${n}`,
      });
    } else if (dropTag.length > 0) {
      await git(repo, ["update-ref", "-m", `loom: finish reverting gen-${n}`, "--stdin"], {
        input: `${dropTag.join("\n")}\n`,
        what: `dropping tag gen-${n}`,
      });
    }
    return "reverted";
  });
}
