import { execa } from "execa";
import { GitOpError } from "./git-op-error.ts";

/** Who the Supervisor's merge commits and tags are from; passed with -c, never taken from the machine. */
export const SUPERVISOR_IDENTITY = { name: "Loom Supervisor", email: "supervisor@loom.invalid" };

const IDENTITY_CONFIG = [
  "-c",
  `user.name=${SUPERVISOR_IDENTITY.name}`,
  "-c",
  `user.email=${SUPERVISOR_IDENTITY.email}`,
  // A user's global signing setting would make every unattended commit wait for a passphrase.
  "-c",
  "commit.gpgsign=false",
  "-c",
  "tag.gpgsign=false",
];

/**
 * The caller's environment minus GIT_* variables: a GIT_DIR or GIT_INDEX_FILE inherited from a hook
 * or a shell would silently point every command at another repository.
 */
function gitEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("GIT_")) env[k] = v;
  }
  env.GIT_TERMINAL_PROMPT = "0";
  env.LC_ALL = "C";
  return env;
}

/** A hook or a credential prompt that never returns must not hang the Supervisor. */
const GIT_TIMEOUT_MS = 5 * 60_000;

export interface GitResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs git and returns its outcome whatever the exit code; callers decide what a failure means. */
export async function tryGit(cwd: string, args: readonly string[], input?: string): Promise<GitResult> {
  const r = await execa("git", [...IDENTITY_CONFIG, ...args], {
    cwd,
    reject: false,
    timeout: GIT_TIMEOUT_MS,
    // A git that has started a step finishes it even if the Supervisor dies: killing it mid-way could
    // tear a ref transaction or leave a lock; the journal settles the rest on the next start.
    cleanup: false,
    extendEnv: false,
    env: gitEnv(),
    ...(input === undefined ? { stdin: "ignore" as const } : { input }),
  });
  if (r.failed && r.exitCode === undefined) {
    throw new GitOpError("GIT_FAILED", `could not run git in ${cwd}: ${r.shortMessage}`, { cause: r });
  }
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs git and throws GIT_FAILED (or `code`) with git's own words when it exits non-zero. */
export async function git(
  cwd: string,
  args: readonly string[],
  options: { input?: string; code?: GitOpError["code"]; what?: string } = {},
): Promise<string> {
  const r = await tryGit(cwd, args, options.input);
  if (r.exitCode !== 0) {
    const detail = (r.stderr || r.stdout).trim() || `exit code ${r.exitCode}`;
    throw new GitOpError(
      options.code ?? "GIT_FAILED",
      `${options.what ?? `git ${args[0]}`} failed in ${cwd}: ${detail}`,
    );
  }
  return r.stdout;
}
