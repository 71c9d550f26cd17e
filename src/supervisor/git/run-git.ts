import { GitCommandError, type GitOutput, runGit, tryGit as tryShared } from "../../shared/git/run-git.ts";
import { GitOpError } from "./git-op-error.ts";

/** Who the Supervisor's merge commits and tags are from; passed with -c, never taken from the machine. */
export const SUPERVISOR_IDENTITY = { name: "Loom Supervisor", email: "supervisor@loom.invalid" };

export type GitResult = GitOutput;

/**
 * The shared git runner bound to the Supervisor: its identity on every command, and the domain's
 * GitOpError (GIT_FAILED) when git cannot be run at all. Callers decide what a non-zero exit means.
 */
export async function tryGit(cwd: string, args: readonly string[], input?: string): Promise<GitResult> {
  try {
    return await tryShared(cwd, args, { input, identity: SUPERVISOR_IDENTITY });
  } catch (err) {
    throw new GitOpError("GIT_FAILED", (err as Error).message, { cause: err });
  }
}

/** Runs git and throws GIT_FAILED (or `code`) with the command and git's own words when it exits non-zero. */
export async function git(
  cwd: string,
  args: readonly string[],
  options: { input?: string; code?: GitOpError["code"]; what?: string } = {},
): Promise<string> {
  try {
    return await runGit(cwd, args, { input: options.input, identity: SUPERVISOR_IDENTITY });
  } catch (err) {
    if (!(err instanceof GitCommandError)) throw err;
    const message = options.what ? `${options.what} failed: ${err.message}` : err.message;
    throw new GitOpError(options.code ?? "GIT_FAILED", message, { cause: err });
  }
}
