import { spawn } from "node:child_process";
import { LoomError } from "../errors.ts";

/** Who makes a commit or tag: passed with -c, never taken from the machine (it may have none). */
export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

export interface RunGitOptions<E extends "utf8" | "buffer" = "utf8"> {
  /** Written to git's stdin; without it stdin is closed. */
  readonly input?: string;
  /** Variables added to the environment (which never carries the caller's GIT_* variables). */
  readonly env?: Readonly<Record<string, string>>;
  /** Author and committer of commits and tags this command makes; also turns signing off. */
  readonly identity?: GitIdentity;
  readonly signal?: AbortSignal;
  /** A hook or a credential prompt that never returns must not hang the caller. */
  readonly timeoutMs?: number;
  /** `buffer` for output as git wrote it (`cat-file --batch`); text is UTF-8 less one final newline. */
  readonly encoding?: E;
}

export interface GitOutput<T extends string | Buffer = string> {
  readonly exitCode: number;
  readonly stdout: T;
  readonly stderr: string;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/** More output than this is a runaway command (a diff of a vendored tree), not something to hold in memory. */
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** git could not be run, or exited non-zero: says the command, the folder and git's own words. */
export class GitCommandError extends LoomError {
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly cwd: string,
    /** Undefined when git did not run to an exit (not found, killed, timed out, aborted). */
    readonly exitCode: number | undefined,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super("GIT_FAILED", message, options);
  }
}

const stripFinalNewline = (text: string): string => text.replace(/\r?\n$/, "");

/** `git rev-parse --verify x`: the command as a person would type it, cut short when long. */
export function describeGitCommand(args: readonly string[]): string {
  const text = ["git", ...args].map((a) => (/^[\w@%+=:,./^~-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * The caller's environment minus GIT_* variables: a GIT_DIR or GIT_INDEX_FILE inherited from a hook
 * or a shell would silently point every command at another repository. C locale: messages are parsed.
 */
function gitEnv(extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("GIT_")) env[k] = v;
  }
  env.GIT_TERMINAL_PROMPT = "0";
  env.LC_ALL = "C";
  return { ...env, ...extra };
}

function identityConfig(identity: GitIdentity | undefined): string[] {
  if (!identity) return [];
  return [
    "-c",
    `user.name=${identity.name}`,
    "-c",
    `user.email=${identity.email}`,
    // A user's global signing setting would make every unattended commit wait for a passphrase.
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
  ];
}

/**
 * Runs git once and returns its outcome whatever the exit code; throws GitCommandError only when git
 * did not run to an exit. Node's spawn, not a wrapper library: git runs on every step of a generation,
 * and a wrapper's per-call cost (about 2 ms) adds up. A started git is not killed when this process
 * exits (nor by a Ctrl-C meant for it): killing it mid-way could tear a ref transaction or leave a lock.
 */
export function tryGit(
  cwd: string,
  args: readonly string[],
  options?: RunGitOptions<"utf8">,
): Promise<GitOutput>;
export function tryGit(
  cwd: string,
  args: readonly string[],
  options: RunGitOptions<"buffer">,
): Promise<GitOutput<Buffer>>;
export function tryGit(
  cwd: string,
  args: readonly string[],
  options: RunGitOptions<"utf8" | "buffer"> = {},
): Promise<GitOutput<string | Buffer>> {
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown, stderr = "") =>
      reject(
        new GitCommandError(
          `could not run ${describeGitCommand(args)} in ${cwd}: ${why}`,
          args,
          cwd,
          undefined,
          stderr,
          { cause },
        ),
      );
    const { signal } = options;
    if (signal?.aborted) {
      fail("aborted before it started", signal.reason);
      return;
    }
    // Its own process group, so a stop also ends the hooks and aliases git started (they hold its pipes).
    const child = spawn("git", [...identityConfig(options.identity), ...args], {
      cwd,
      env: gitEnv(options.env),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let stopped: string | undefined;
    const stop = (why: string) => {
      if (stopped || child.exitCode !== null || child.pid === undefined) return;
      stopped = why;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const take = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) stop(`its output passed ${MAX_OUTPUT_BYTES} bytes`);
      else into.push(chunk);
    };
    child.stdout?.on("data", take(out));
    child.stderr?.on("data", take(err));
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => stop(`timed out after ${timeoutMs} ms`), timeoutMs);
    timer.unref();
    const onAbort = () => stop("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    let spawnError: Error | undefined;
    child.on("error", (e) => {
      spawnError ??= e;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      const stderr = stripFinalNewline(Buffer.concat(err).toString("utf8"));
      if (stopped) return fail(stopped, stopped === "aborted" ? signal?.reason : undefined, stderr);
      if (spawnError || code === null)
        return fail(spawnError?.message ?? "killed by a signal", spawnError, stderr);
      const stdout = Buffer.concat(out);
      const text = options.encoding === "buffer" ? stdout : stripFinalNewline(stdout.toString("utf8"));
      resolve({ exitCode: code, stdout: text, stderr });
    });
    if (child.stdin) {
      // git may exit before reading all of its input (a bad argument); the broken pipe is its answer.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
  });
}

/** Runs git and throws GitCommandError, naming the command and quoting git, when it exits non-zero. */
export async function runGit(
  cwd: string,
  args: readonly string[],
  options?: RunGitOptions<"utf8">,
): Promise<string>;
export async function runGit(
  cwd: string,
  args: readonly string[],
  options: RunGitOptions<"buffer">,
): Promise<Buffer>;
export async function runGit(
  cwd: string,
  args: readonly string[],
  options: RunGitOptions<"utf8" | "buffer"> = {},
): Promise<string | Buffer> {
  const r = await tryGit(cwd, args, options as RunGitOptions<"utf8">);
  if (r.exitCode === 0) return r.stdout;
  const stderr = r.stderr.trim();
  const detail = stderr || String(r.stdout).trim() || "no output";
  throw new GitCommandError(
    `${describeGitCommand(args)} failed in ${cwd} (exit code ${r.exitCode}): ${detail}`,
    args,
    cwd,
    r.exitCode,
    stderr,
  );
}
