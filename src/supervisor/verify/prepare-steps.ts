import { mkdir, readdir, realpath, stat, symlink } from "node:fs/promises";
import path from "node:path";
import type { StepResult } from "../../../schemas/verification.ts";
import type { Config } from "../../shared/config.ts";
import type { Gateway } from "../gateway/gateway.ts";
import { MAIN_REF } from "../git/repo-state.ts";
import { shareWorkspace } from "../lifecycle/share-workspace.ts";
import type { ContainerRuntime } from "../runtime/index.ts";
import { runStep, type StepContext, VERIFY_PACKAGES } from "./run-step.ts";
import type { TaskRunner } from "./task-fitness.ts";
import { objectAt } from "./verify-git.ts";

/** What every verification container needs besides its clone. */
export interface StepsContext {
  readonly runtime: ContainerRuntime;
  readonly config: Config;
  readonly image: string;
  readonly signal?: AbortSignal;
  /** "background" for work done ahead of time (main's baseline while a Lab works): it yields the CPU. */
  readonly priority?: "background";
  /** LOOM_FITNESS=tasks: runs a commit's Lab agent on main's tasks (the cascade's task stages). */
  readonly tasks?: TaskRunner;
  /** Under swarm: steps clone the candidate through the gateway (run-step.ts). */
  readonly gateway?: Gateway;
}

export interface PreparedSteps {
  readonly context: StepContext;
  /** null when main's installed packages are reused. */
  readonly install: StepResult | null;
  readonly installTimedOut: boolean;
  /** What the install step ran (when it ran). */
  readonly installCommand: string | null;
}

/** The repo's installed packages, when there are any (a repo without dependencies has none). */
async function installedPackages(repo: string): Promise<string | undefined> {
  const dir = path.join(repo, "node_modules");
  const st = await stat(dir).catch(() => undefined);
  return st?.isDirectory() ? realpath(dir) : undefined;
}

/** Caches tools write below node_modules; each clone gets its own, writable, instead of a link. */
const OWN_CACHES = new Set([".cache", ".vite", ".vite-temp", ".vitest"]);

/**
 * The clone's node_modules as a folder of links to each of the repo's packages, as the step sees
 * them (`seenAt`): the packages stay read-only, while tools that write their caches into node_modules
 * (vite's bundled config, .cache) write into the clone.
 */
async function linkPackages(clone: string, packages: string, seenAt: string): Promise<void> {
  const dir = path.join(clone, "node_modules");
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(packages)) {
    if (OWN_CACHES.has(name)) continue;
    await symlink(path.posix.join(seenAt, name), path.join(dir, name));
  }
}

/**
 * Packages for a clone at `commit`: when its package-lock.json is main's (byte for byte, or both absent),
 * the repo's own node_modules is reused read-only — nothing to install, nothing the clone can change in
 * it. Otherwise `npm ci` (or `npm install` without a lockfile) runs in a container of its own first.
 * The clone is made writable for the container's user before anything runs in it.
 */
export async function prepareSteps(
  ctx: StepsContext,
  commit: string,
  clone: string,
  subject: string,
): Promise<PreparedSteps> {
  const repo = ctx.config.repoPath;
  const local = ctx.runtime.name === "local";
  const [onMain, atCommit] = await Promise.all([
    objectAt(repo, MAIN_REF, "package-lock.json"),
    objectAt(repo, commit, "package-lock.json"),
  ]);
  const base = { ...ctx, clone, subject };
  if (onMain === atCommit) {
    const packages = await installedPackages(repo);
    // A container sees the packages through a read-only mount; a local process at their host path.
    if (packages) await linkPackages(clone, packages, local ? packages : VERIFY_PACKAGES);
    if (!local) await shareWorkspace(clone);
    return {
      context: { ...base, packages: local ? undefined : packages },
      install: null,
      installTimedOut: false,
      installCommand: null,
    };
  }
  if (!local) await shareWorkspace(clone);
  const command = atCommit === undefined ? "npm install" : "npm ci";
  if (ctx.gateway) {
    // Behind the gateway the install runs in a clone of its own, which sends what it installed back;
    // the steps after it get those packages as they would get main's.
    const installed = path.join(clone, ".loom-packages", "node_modules");
    const installing: StepContext = { ...base, packages: undefined, uploadPackagesTo: installed };
    const run = await runStep(installing, "install", command, ctx.config.verifyTimeoutMs);
    return {
      context: run.result.passed ? { ...base, packages: installed } : installing,
      install: run.result,
      installTimedOut: run.timedOut,
      installCommand: command,
    };
  }
  // The install writes node_modules into this clone: the steps after it must see the clone itself.
  const context: StepContext = { ...base, packages: undefined, viaMounts: true };
  const run = await runStep(context, "install", command, ctx.config.verifyTimeoutMs);
  return { context, install: run.result, installTimedOut: run.timedOut, installCommand: command };
}
