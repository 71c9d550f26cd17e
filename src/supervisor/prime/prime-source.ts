import { lstat, mkdir, readlink, rm, stat, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import { git, tryGit } from "../git/run-git.ts";

/**
 * Where Prime's code comes from. A repo that is itself Loom (self-hosting) runs Prime from a checkout
 * of main at the commit being served, so a promotion changes the running agent; any other repo gets
 * the Loom the Supervisor runs from, and a restart after a promotion only reloads Prime's state.
 */
export type PrimeSource =
  | { readonly kind: "repo"; readonly repo: string; readonly stateDir: string }
  | { readonly kind: "installed"; readonly loomRoot: string; readonly why: string };

/** Why `commit` of `repo` is not a Loom checkout, or undefined when it is (bin/loom.js, package.json name "loom"). */
export async function notLoomAt(repo: string, commit: string): Promise<string | undefined> {
  const bin = await tryGit(repo, ["cat-file", "-e", `${commit}:bin/loom.js`]);
  if (bin.exitCode !== 0) return `${commit.slice(0, 12)} has no bin/loom.js`;
  const pkg = await tryGit(repo, ["show", `${commit}:package.json`]);
  if (pkg.exitCode !== 0) return `${commit.slice(0, 12)} has no package.json`;
  try {
    const name = (JSON.parse(pkg.stdout) as { name?: unknown }).name;
    return name === "loom" ? undefined : `its package.json is named ${JSON.stringify(name)}, not "loom"`;
  } catch {
    return `its package.json is not valid JSON`;
  }
}

/** Decided once, from main when the Supervisor starts: a promotion cannot switch a repo's Prime to another Loom. */
export async function choosePrimeSource(input: {
  repo: string;
  stateDir: string;
  mainCommit: string;
  loomRoot: string;
}): Promise<PrimeSource> {
  const why = await notLoomAt(input.repo, input.mainCommit);
  if (why === undefined) return { kind: "repo", repo: input.repo, stateDir: input.stateDir };
  return { kind: "installed", loomRoot: input.loomRoot, why: `the repo is not a Loom checkout (${why})` };
}

export const checkoutsDir = (stateDir: string): string => path.join(stateDir, "prime");
export const checkoutOf = (stateDir: string, commit: string): string =>
  path.join(checkoutsDir(stateDir), commit);

/** The repo's worktrees: path → HEAD commit. */
async function worktrees(repo: string): Promise<Map<string, string>> {
  const out = await git(repo, ["worktree", "list", "--porcelain"]);
  const found = new Map<string, string>();
  for (const block of out.split(/\n\n+/)) {
    const lines = block.split("\n");
    const dir = lines.find((l) => l.startsWith("worktree "))?.slice("worktree ".length);
    const head = lines.find((l) => l.startsWith("HEAD "))?.slice("HEAD ".length);
    if (dir && head) found.set(path.resolve(dir), head);
  }
  return found;
}

async function removeCheckout(repo: string, dir: string): Promise<void> {
  await tryGit(repo, ["worktree", "remove", "--force", "--force", dir]);
  await rm(dir, { recursive: true, force: true });
  await tryGit(repo, ["worktree", "prune"]);
}

/**
 * How the checkout sees the repo's node_modules: a symlink (host processes follow it), or an empty
 * folder an engine mounts the repo's node_modules on, read-only (a symlink would point outside the
 * container's mounts).
 */
export type NodeModulesMode = "link" | "mountpoint";

async function placeNodeModules(dir: string, source: string, mode: NodeModulesMode): Promise<void> {
  const target = path.join(dir, "node_modules");
  const st = await lstat(target).catch(() => undefined);
  if (mode === "link") {
    if (st?.isSymbolicLink() && (await readlink(target)) === source) return;
    if (st?.isSymbolicLink()) await unlink(target);
    else if (st?.isDirectory()) await rm(target, { recursive: true, force: true });
    await symlink(source, target);
    return;
  }
  if (st?.isDirectory()) return;
  if (st) await unlink(target);
  await mkdir(target);
}

export interface PreparedCheckout {
  readonly dir: string;
  /** The repo's node_modules the checkout uses; undefined when the repo has none. */
  readonly nodeModules: string | undefined;
  readonly reused: boolean;
}

/**
 * A detached worktree of `commit` at `<stateDir>/prime/<sha>/`, reused when it is already there. It is
 * made under a temporary name and moved into place, so a crash never leaves a half-made checkout that
 * looks finished. The repo's node_modules are made available to it (see NodeModulesMode).
 */
export async function prepareCheckout(input: {
  repo: string;
  stateDir: string;
  commit: string;
  nodeModules: NodeModulesMode;
}): Promise<PreparedCheckout> {
  const { repo, commit } = input;
  const dir = checkoutOf(input.stateDir, commit);
  const modules = path.join(repo, "node_modules");
  const hasModules = (await stat(modules).catch(() => undefined))?.isDirectory() === true;
  const place = async () => {
    if (hasModules) await placeNodeModules(dir, modules, input.nodeModules);
  };
  const known = await worktrees(repo);
  if (known.get(dir) === commit && (await stat(dir).catch(() => undefined))) {
    await place();
    return { dir, nodeModules: hasModules ? modules : undefined, reused: true };
  }
  // Something else at that path (an interrupted run, a hand-made folder): start it over.
  if (known.has(dir) || (await stat(dir).catch(() => undefined))) await removeCheckout(repo, dir);
  await mkdir(checkoutsDir(input.stateDir), { recursive: true });
  const tmp = path.join(
    checkoutsDir(input.stateDir),
    `.tmp-${commit.slice(0, 12)}-${process.pid}-${Date.now()}`,
  );
  try {
    await git(repo, ["worktree", "add", "--detach", "--quiet", tmp, commit], {
      what: `checking out ${commit.slice(0, 12)} for Prime`,
    });
    await git(repo, ["worktree", "move", tmp, dir], {
      what: `moving Prime's checkout of ${commit.slice(0, 12)} into place`,
    });
  } catch (err) {
    await removeCheckout(repo, tmp);
    throw err;
  }
  await place();
  return { dir, nodeModules: hasModules ? modules : undefined, reused: false };
}

/** Removes Prime checkouts other than `keep` (the running commit and the one a revert would go back to). */
export async function pruneCheckouts(
  repo: string,
  stateDir: string,
  keep: readonly string[],
): Promise<string[]> {
  const root = checkoutsDir(stateDir);
  const kept = new Set(keep.map((c) => checkoutOf(stateDir, c)));
  const removed: string[] = [];
  for (const dir of (await worktrees(repo)).keys()) {
    if (path.dirname(dir) !== root || kept.has(dir)) continue;
    await removeCheckout(repo, dir);
    removed.push(dir);
  }
  return removed;
}
