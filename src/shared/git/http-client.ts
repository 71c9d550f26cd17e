import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { LoomError } from "../errors.ts";
import { formatIssues } from "../zod-issues.ts";
import { GitCommandError, runGit } from "./run-git.ts";

/**
 * The client side of the Supervisor's git endpoint (src/supervisor/git-http/), here in shared so a Lab
 * can use it: its bundle holds nothing from src/supervisor/.
 * GIT_TRANSPORT_INVALID: an input it cannot use (the message names it); GIT_TRANSPORT_FAILED: git over
 * the endpoint failed (what was asked, of which URL, and git's own words).
 */
export class GitTransportError extends LoomError {
  constructor(
    code: "GIT_TRANSPORT_INVALID" | "GIT_TRANSPORT_FAILED",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

const Url = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), "expected an http:// or https:// URL")
  .refine(
    (u) => !new URL(u).username && !new URL(u).password,
    "the URL must carry no credentials; pass token",
  );
const Token = z
  .string()
  .min(1)
  .regex(/^[\x21-\x7e]+$/, "expected the token as granted (printable, no spaces)");
const Dir = z.string().min(1);
const Branch = z
  .string()
  .regex(/^(?!\/|.*\/\/|.*\.\.|.*\/$|.*\.lock$|-)[\w./-]+$/, "expected a branch name such as lab/gen-3");
const Common = { url: Url, token: Token, dir: Dir, timeoutMs: z.number().int().positive().optional() };

const CloneAtInput = z
  .object({
    ...Common,
    /** The commit to check out (full hex id). */
    commit: z
      .string()
      .regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, "expected a full commit id (40 or 64 hex digits)")
      .optional(),
    /** Or a ref to check out (`main`, `refs/loom/archive/gen-2`). */
    ref: z
      .string()
      .regex(/^(?!-)[\w./-]+$/, "expected a ref name such as main or refs/heads/main")
      .optional(),
    /** A branch to create at the checked-out commit (`lab/gen-N`); absent: a detached HEAD. */
    branch: Branch.optional(),
    /** A shallow clone of this many commits; absent: the whole history. */
    depth: z.number().int().positive().optional(),
  })
  .strict()
  .refine((i) => (i.commit === undefined) !== (i.ref === undefined), {
    message: "pass exactly one of commit or ref",
    path: ["commit"],
  });
export type CloneAtInput = z.input<typeof CloneAtInput>;

const PushBranchInput = z.object({ ...Common, branch: Branch }).strict();
export type PushBranchInput = z.input<typeof PushBranchInput>;

function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success)
    throw new GitTransportError(
      "GIT_TRANSPORT_INVALID",
      `${what}: ${formatIssues(r.error, { root: "(input)" })}`,
    );
  return r.data;
}

/**
 * The token travels in the environment as an extra header, so it is in no process's argv and in no
 * config file; no credential helper or askpass program is asked, so a refusal fails at once.
 */
function authEnv(token: string): Record<string, string> {
  const basic = Buffer.from(`loom:${token}`, "utf8").toString("base64");
  return {
    GIT_CONFIG_COUNT: "2",
    GIT_CONFIG_KEY_0: "http.extraHeader",
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    GIT_CONFIG_KEY_1: "credential.helper",
    GIT_CONFIG_VALUE_1: "",
    SSH_ASKPASS: "",
  };
}

async function over(
  dir: string,
  args: string[],
  input: { url: string; token: string; timeoutMs?: number | undefined },
  what: string,
): Promise<string> {
  try {
    return await runGit(dir, args, { env: authEnv(input.token), timeoutMs: input.timeoutMs ?? 5 * 60_000 });
  } catch (err) {
    if (!(err instanceof GitCommandError)) throw err;
    throw new GitTransportError(
      "GIT_TRANSPORT_FAILED",
      `${what} at ${input.url} failed: ${explain(err.stderr || err.message)}`,
      {
        cause: err,
      },
    );
  }
}

/** git's words, with the one case git says badly (a refused token) said plainly first. */
function explain(stderr: string): string {
  const text = stderr.trim();
  if (/returned error: 401|HTTP 401|Authentication failed|could not read Username/.test(text)) {
    return `the endpoint refused the token (HTTP 401: never granted, or revoked); git said: ${text}`;
  }
  if (/returned error: 413|HTTP 413/.test(text)) {
    return `the push is larger than the endpoint accepts (HTTP 413; its maxPushBytes); git said: ${text}`;
  }
  return text || "git gave no reason";
}

/**
 * Makes `dir` (new or empty) a checkout of one commit or ref of the endpoint's repository: `git init`,
 * a fetch of just that (shallow with `depth`), a checkout; `branch` starts a branch there. The URL is
 * never saved as a remote and the token never lands in .git/config. Returns the commit checked out.
 */
export async function cloneAt(input: CloneAtInput): Promise<string> {
  const i = parse(CloneAtInput, input, "cloneAt");
  const dir = path.resolve(i.dir);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) {
    throw new GitTransportError(
      "GIT_TRANSPORT_INVALID",
      `cloneAt: dir ${dir} is not empty; pass a new or empty folder`,
    );
  }
  await runGit(dir, ["init", "--quiet"]);
  const what = i.commit ?? (i.ref as string);
  await over(
    dir,
    ["fetch", "--quiet", "--no-tags", ...(i.depth ? [`--depth=${i.depth}`] : []), "--", i.url, what],
    i,
    `fetching ${what}`,
  );
  const sha = await runGit(dir, ["rev-parse", "--verify", "FETCH_HEAD^{commit}"]);
  if (i.commit !== undefined && sha !== i.commit) {
    throw new GitTransportError(
      "GIT_TRANSPORT_FAILED",
      `fetching ${i.commit} from ${i.url} gave ${sha}, not the commit asked for`,
    );
  }
  await runGit(dir, ["checkout", "--quiet", ...(i.branch ? ["-b", i.branch, sha] : ["--detach", sha])]);
  return sha;
}

/**
 * Pushes the local `branch` to the same branch of the endpoint's repository (forced: the workspace is
 * the truth for its own branch, as the Supervisor's fetch of it always was). Returns the commit pushed.
 */
export async function pushBranch(input: PushBranchInput): Promise<string> {
  const i = parse(PushBranchInput, input, "pushBranch");
  const dir = path.resolve(i.dir);
  const sha = await runGit(dir, ["rev-parse", "--verify", `refs/heads/${i.branch}^{commit}`]).catch(
    (err: Error) => {
      throw new GitTransportError(
        "GIT_TRANSPORT_INVALID",
        `pushBranch: ${dir} has no branch ${i.branch} (${err.message})`,
      );
    },
  );
  const ref = `refs/heads/${i.branch}`;
  await over(
    dir,
    ["push", "--quiet", "--no-verify", "--", i.url, `+${ref}:${ref}`],
    i,
    `pushing ${i.branch}`,
  );
  return sha;
}
