import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { StepResult } from "../../../schemas/verification.ts";
import type { Config } from "../../shared/config.ts";
import { MAIN_REF } from "../git/repo-state.ts";
import type { ContainerRuntime } from "../runtime/index.ts";
import { runStep, type StepContext } from "./run-step.ts";
import { objectAt } from "./verify-git.ts";

/** What every verification container needs besides its clone. */
export interface StepsContext {
  readonly runtime: ContainerRuntime;
  readonly config: Config;
  readonly image: string;
  readonly signal?: AbortSignal;
}

export interface PreparedSteps {
  readonly context: StepContext;
  /** null when main's installed packages are reused. */
  readonly install: StepResult | null;
  readonly installTimedOut: boolean;
}

/** The repo's installed packages, when there are any (a repo without dependencies has none). */
async function installedPackages(repo: string): Promise<string | undefined> {
  const dir = path.join(repo, "node_modules");
  const st = await stat(dir).catch(() => undefined);
  return st?.isDirectory() ? realpath(dir) : undefined;
}

/**
 * Packages for a clone at `commit`: when its package-lock.json is main's (byte for byte, or both absent),
 * the repo's own node_modules is mounted read-only — nothing to install, nothing the clone can change in
 * it. Otherwise `npm ci` (or `npm install` without a lockfile) runs in a container of its own first.
 */
export async function prepareSteps(
  ctx: StepsContext,
  commit: string,
  clone: string,
  subject: string,
): Promise<PreparedSteps> {
  const repo = ctx.config.repoPath;
  const [onMain, atCommit] = await Promise.all([
    objectAt(repo, MAIN_REF, "package-lock.json"),
    objectAt(repo, commit, "package-lock.json"),
  ]);
  const base = { ...ctx, clone, subject };
  if (onMain === atCommit) {
    return {
      context: { ...base, nodeModules: await installedPackages(repo) },
      install: null,
      installTimedOut: false,
    };
  }
  const context: StepContext = { ...base, nodeModules: undefined };
  const command = atCommit === undefined ? "npm install" : "npm ci";
  const run = await runStep(context, "install", command, ctx.config.verifyTimeoutMs);
  return { context, install: run.result, installTimedOut: run.timedOut };
}
