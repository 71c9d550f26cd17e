import { copyFile, cp, lstat, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { LoomError } from "../shared/errors.ts";
import { type GitIdentity, runGit, tryGit } from "../shared/git/run-git.ts";
import type { Task } from "./tasks.ts";

/** Who makes a task's commits, with a fixed date: the same task gives the same base commit on every run. */
export const BENCH_IDENTITY: GitIdentity = { name: "Loom bench", email: "bench@loom.invalid" };
const FIXED_DATE = "2000-01-01T00:00:00Z";
const GIT_ENV = { GIT_AUTHOR_DATE: FIXED_DATE, GIT_COMMITTER_DATE: FIXED_DATE };
const NPM_TIMEOUT_MS = 120_000;

/** A task's workspace could not be made: names the task, the command and the end of what it said. */
export class TaskMaterializeError extends LoomError {
  constructor(task: string, what: string, options?: { cause?: unknown }) {
    super("TASK_MATERIALIZE_FAILED", `task ${task}: ${what}`, options);
  }
}

const tail = (text: string, chars = 600): string => {
  const flat = text.trim().split("\n").join(" | ");
  return flat.length > chars ? `…${flat.slice(-chars)}` : flat || "no output";
};

const withoutLogLine = (stderr: string): string =>
  stderr
    .split("\n")
    .filter((l) => !l.includes("A complete log of this run"))
    .join("\n");

/** `npm pack` of the task's exact version into a scratch folder, unpacked at `dest`'s root. */
async function unpackNpm(task: Task, spec: string, dest: string): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), "loom-bench-pack-"));
  try {
    // --prefer-offline: the npm cache answers a second run without the network. --loglevel=error rather
    // than --silent: stdout is still only the file name, and a failure keeps npm's own words on stderr.
    const pack = await execa("npm", ["pack", "--prefer-offline", "--loglevel=error", spec], {
      cwd: scratch,
      reject: false,
      stdin: "ignore",
      timeout: NPM_TIMEOUT_MS,
    });
    const tgz = String(pack.stdout ?? "")
      .trim()
      .split("\n")
      .at(-1);
    if (pack.exitCode !== 0 || !tgz?.endsWith(".tgz")) {
      const why = pack.timedOut
        ? `timed out after ${NPM_TIMEOUT_MS} ms`
        : `exit ${pack.exitCode ?? pack.shortMessage}`;
      throw new TaskMaterializeError(
        task.name,
        `npm pack ${spec} failed (${why}): ${tail(withoutLogLine(String(pack.stderr ?? "")))}`,
      );
    }
    const untar = await execa("tar", ["xzf", path.join(scratch, tgz), "--strip-components=1", "-C", dest], {
      reject: false,
      stdin: "ignore",
    });
    if (untar.exitCode !== 0) {
      throw new TaskMaterializeError(task.name, `tar xzf ${tgz} failed: ${tail(String(untar.stderr ?? ""))}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function commitAll(dest: string, message: string): Promise<void> {
  // --force: a package's own .gitignore (or the user's global one) must not keep files out of the task.
  await runGit(dest, ["add", "--all", "--force", "."]);
  await runGit(dest, ["commit", "-q", "--no-verify", "-m", message], {
    identity: BENCH_IDENTITY,
    env: GIT_ENV,
  });
}

/**
 * Makes a task's starting workspace at `dest` (which must not exist or be empty), as TASKS.md's recipe:
 * the npm package unpacked (or repo/ copied), `git init -b main`, committed as "task: <name> package",
 * inject.patch applied with `git apply` and committed as "task: <name>". Returns the commit the agent
 * starts from. On any failure `dest` is removed and a TaskMaterializeError names the task and the step.
 */
export async function materializeTask(task: Task, dest: string): Promise<{ base: string }> {
  const existing = await readdir(dest).catch(() => undefined);
  if (existing && existing.length > 0) {
    throw new TaskMaterializeError(
      task.name,
      `${dest} is not empty; a task is materialized into a new folder`,
    );
  }
  await mkdir(dest, { recursive: true });
  try {
    if (task.spec.source) await unpackNpm(task, task.spec.source.npm, dest);
    else if (task.repoDir) await cp(task.repoDir, dest, { recursive: true, verbatimSymlinks: true });
    else throw new TaskMaterializeError(task.name, "has neither source.npm nor repo/");
    await runGit(dest, ["init", "-q", "-b", "main"]);
    // CRLF sources (reselect) and their patches must reach the agent byte for byte.
    await runGit(dest, ["config", "core.autocrlf", "false"]);
    await commitAll(dest, `task: ${task.name} package`);
    if (task.injectPatch) {
      // --whitespace=nowarn: a user's apply.whitespace=error must not refuse a patch with trailing blanks.
      const applied = await tryGit(dest, ["apply", "--whitespace=nowarn", task.injectPatch]);
      if (applied.exitCode !== 0) {
        throw new TaskMaterializeError(
          task.name,
          `git apply inject.patch failed (exit ${applied.exitCode}): ${tail(applied.stderr)}`,
        );
      }
      await commitAll(dest, `task: ${task.name}`);
    }
    return { base: await runGit(dest, ["rev-parse", "HEAD"]) };
  } catch (err) {
    await rm(dest, { recursive: true, force: true });
    if (err instanceof TaskMaterializeError) throw err;
    throw new TaskMaterializeError(task.name, (err as Error).message, { cause: err });
  }
}

/** Makes `rel`'s parent folders real folders under `root`: a symlink or a file in the way is removed. */
async function realParents(root: string, rel: string): Promise<void> {
  let at = root;
  for (const part of path
    .dirname(rel)
    .split(path.sep)
    .filter((p) => p !== "" && p !== ".")) {
    at = path.join(at, part);
    const stat = await lstat(at).catch(() => undefined);
    if (stat?.isDirectory()) continue;
    if (stat) await rm(at, { recursive: true, force: true });
    await mkdir(at);
  }
}

/**
 * Copies hidden/ over the workspace after the agent has finished. The hidden files are authoritative:
 * a file of the agent's at the same path is overwritten, and a symlink or file standing where a
 * hidden path needs a folder is replaced, so nothing the agent left can redirect a copy outside it.
 */
export async function copyHidden(task: Pick<Task, "hiddenDir">, workspace: string): Promise<void> {
  const files = (await readdir(task.hiddenDir, { recursive: true, withFileTypes: true })).filter(
    (e) => !e.isDirectory(),
  );
  for (const entry of files) {
    const from = path.join(entry.parentPath, entry.name);
    const rel = path.relative(task.hiddenDir, from);
    await realParents(workspace, rel);
    const to = path.join(workspace, rel);
    await rm(to, { recursive: true, force: true });
    await copyFile(from, to);
  }
}
