import { stat } from "node:fs/promises";
import { GitOpError } from "./git-op-error.ts";
import { git, tryGit } from "./run-git.ts";

export const MAIN_REF = "refs/heads/main";
export const labRef = (generation: number): string => `refs/heads/lab/gen-${generation}`;
export const tagRef = (generation: number): string => `refs/tags/gen-${generation}`;

export function checkGeneration(generation: unknown): number {
  if (typeof generation !== "number" || !Number.isInteger(generation) || generation < 1) {
    throw new GitOpError(
      "INVALID_INPUT",
      `generation ${JSON.stringify(generation)} is not accepted; expected an integer ≥ 1`,
    );
  }
  return generation;
}

/** Refuses a path that is not an existing git repository before any command runs in it. */
export async function assertRepo(repo: unknown): Promise<string> {
  if (typeof repo !== "string" || repo.trim() === "") {
    throw new GitOpError("INVALID_INPUT", "repo is empty; pass the path of Loom's git repository");
  }
  const st = await stat(repo).catch(() => undefined);
  if (!st?.isDirectory())
    throw new GitOpError("NOT_A_REPO", `repo ${repo} does not exist or is not a directory`);
  const r = await tryGit(repo, ["rev-parse", "--git-dir"]);
  if (r.exitCode !== 0) {
    throw new GitOpError("NOT_A_REPO", `${repo} is not a git repository: ${r.stderr.trim()}`);
  }
  return repo;
}

/** The object a ref points at (peeled to a commit with `peel`), or undefined when the ref is absent. */
export async function resolveRef(repo: string, ref: string, peel = false): Promise<string | undefined> {
  const r = await tryGit(repo, ["rev-parse", "--verify", "--quiet", peel ? `${ref}^{commit}` : ref]);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** What a ref names: the object itself (a tag object for annotated tags) and the commit it peels to. */
export interface RefTarget {
  readonly object: string;
  readonly commit: string;
}

/** Looks up several full ref names in one git call; absent refs are simply missing from the map. */
export async function readRefs(repo: string, refs: readonly string[]): Promise<Map<string, RefTarget>> {
  const out = await git(repo, ["for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", ...refs]);
  const found = new Map<string, RefTarget>();
  for (const line of out.split("\n")) {
    const [name, object, peeled] = line.split(" ");
    if (name && object && refs.includes(name)) found.set(name, { object, commit: peeled || object });
  }
  return found;
}

export const mainMissing = (repo: string): GitOpError =>
  new GitOpError("MAIN_NOT_FOUND", `${repo} has no branch main; Loom builds on main`);

export const labMissing = (repo: string, generation: number): GitOpError =>
  new GitOpError(
    "BRANCH_NOT_FOUND",
    `${repo} has no branch lab/gen-${generation}; fetch it from the Lab's workspace first, or check the generation number`,
  );

export async function requireMain(repo: string): Promise<string> {
  const sha = await resolveRef(repo, MAIN_REF, true);
  if (!sha) throw mainMissing(repo);
  return sha;
}

export async function requireLabBranch(repo: string, generation: number): Promise<string> {
  const sha = await resolveRef(repo, labRef(generation), true);
  if (!sha) throw labMissing(repo, generation);
  return sha;
}

/** Worktrees (the main one included) whose HEAD is `ref`; git allows at most one per branch. */
export async function worktreesOn(repo: string, ref: string): Promise<string[]> {
  const out = await git(repo, ["worktree", "list", "--porcelain"]);
  return out
    .split(/\n\n+/)
    .map((block) => block.split("\n"))
    .filter((lines) => lines.includes(`branch ${ref}`) && !lines.some((l) => l.startsWith("prunable")))
    .map((lines) => (lines.find((l) => l.startsWith("worktree ")) ?? "").slice("worktree ".length))
    .filter((p) => p !== "");
}

/**
 * The worktrees where main is checked out, refused if any has uncommitted changes to tracked files:
 * those would be lost by the `reset --hard` that undoes a failed move, so nothing is attempted.
 */
export async function cleanMainCheckouts(repo: string): Promise<string[]> {
  const checkouts = await worktreesOn(repo, MAIN_REF);
  for (const wt of checkouts) {
    const status = (await git(wt, ["status", "--porcelain", "--untracked-files=no"])).trimEnd();
    if (status !== "") {
      const lines = status.split("\n");
      const shown =
        lines.slice(0, 10).join("; ") + (lines.length > 10 ? `; … ${lines.length - 10} more` : "");
      throw new GitOpError(
        "REPO_DIRTY",
        `main is checked out in ${wt} with uncommitted changes (${shown}); commit or stash them, then try again — nothing was changed`,
      );
    }
  }
  return checkouts;
}
