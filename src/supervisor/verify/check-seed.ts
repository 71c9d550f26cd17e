import { randomBytes } from "node:crypto";
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { SingleFlight } from "../../shared/keyed-queue.ts";
import { prepareSteps, type StepsContext } from "./prepare-steps.ts";
import { runStep } from "./run-step.ts";
import { scriptCommandFrom } from "./script-command.ts";
import { cloneAt, readBlobs } from "./verify-git.ts";

/**
 * The folder a repository's `check` script keeps its caches in (Loom's own: tsc's build info, so a
 * one-module change is checked incrementally). It belongs to the verifier: a candidate may not commit
 * one (fixed points), and before a candidate's check the verifier replaces whatever is there with the
 * seed main's own check left. A build info says which files were checked and what was found; a forged
 * one makes tsc report a type error as checked and clean, so only one tsc wrote over main's tree is used.
 */
export const CHECK_CACHE = ".loom-cache";

/** Bigger than any tool cache worth copying per verification. */
export const MAX_SEED_BYTES = 64 * 1024 * 1024;

/** A repository opts in by naming the folder in its check script (e.g. `--tsBuildInfoFile .loom-cache/…`). */
export const usesCheckCache = (checkScript: unknown): boolean =>
  typeof checkScript === "string" && checkScript.includes(CHECK_CACHE);

/** Where the seed of one runtime is kept: `cache/` (the folder) and `commit` (main's, that made it). */
export const checkSeedDir = (stateDir: string, runtime: string): string =>
  // Stryker disable next-line StringLiteral: the folder's name under the state folder
  path.join(stateDir, "check-seed", runtime);

/**
 * The regular files under `dir`, relative, with their total size; symlinks and anything else are left
 * out (a copy must never follow a link out of the folder). Undefined when the folder is absent or holds
 * more than `maxBytes`.
 */
async function regularFiles(dir: string, maxBytes: number): Promise<string[] | undefined> {
  const files: string[] = [];
  let bytes = 0;
  const walk = async (rel: string): Promise<boolean> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (!(await walk(child))) return false;
      } else if (e.isFile()) {
        bytes += (await lstat(path.join(dir, child))).size;
        if (bytes > maxBytes) return false;
        files.push(child);
      }
    }
    return true;
  };
  const root = await lstat(dir).catch(() => undefined);
  if (!root?.isDirectory()) return undefined;
  return (await walk("")) ? files : undefined;
}

async function copyFiles(from: string, to: string, files: readonly string[]): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const f of files) {
    await mkdir(path.dirname(path.join(to, f)), { recursive: true });
    await copyFile(path.join(from, f), path.join(to, f));
  }
}

/** The commit whose check made the kept seed, or undefined when there is none. */
export async function seedCommit(stateDir: string, runtime: string): Promise<string | undefined> {
  // Stryker disable next-line StringLiteral: whatever an unreadable file reads as, it is not a commit
  const text = await readFile(path.join(checkSeedDir(stateDir, runtime), "commit"), "utf8").catch(() => "");
  return /^[0-9a-f]{40,64}$/.test(text.trim()) ? text.trim() : undefined;
}

/** Seeds being made, by state folder and runtime: a check waits for one rather than doing its work twice. */
const making = new Map<string, Promise<unknown>>();
// Stryker disable next-line ArrowFunction,StringLiteral: a coarser key only makes a check wait longer
const makingKey = (stateDir: string, runtime: string) => `${stateDir}\0${runtime}`;

/**
 * Before a check in `clone`: whatever `.loom-cache` the candidate's tree holds is removed (a link is
 * removed, never followed), and the seed of `runtime`, when there is one, is copied in, writable by a
 * container's user. A seed still being made is waited for: the check it saves is the same work. Returns
 * the commit of the seed planted, or undefined when none was.
 */
export async function plantCheckSeed(
  stateDir: string,
  runtime: string,
  clone: string,
): Promise<string | undefined> {
  const target = path.join(clone, CHECK_CACHE);
  await rm(target, { recursive: true, force: true });
  await making.get(makingKey(stateDir, runtime));
  const seed = checkSeedDir(stateDir, runtime);
  const commit = await seedCommit(stateDir, runtime);
  const files = commit ? await regularFiles(path.join(seed, "cache"), MAX_SEED_BYTES) : undefined;
  if (!commit || !files) return undefined;
  await copyFiles(path.join(seed, "cache"), target, files);
  await chmod(target, 0o777);
  for (const f of files) await chmod(path.join(target, f), 0o666);
  return commit;
}

/**
 * Keeps `clone/.loom-cache`, as main's check at `commit` left it, as the seed of `runtime`, replacing
 * the one before: regular files only, at most `maxBytes`. False when there was nothing to keep.
 */
export async function keepCheckSeed(
  stateDir: string,
  runtime: string,
  clone: string,
  commit: string,
  maxBytes = MAX_SEED_BYTES,
): Promise<boolean> {
  const from = path.join(clone, CHECK_CACHE);
  const files = await regularFiles(from, maxBytes);
  if (!files || files.length === 0) return false;
  const dir = checkSeedDir(stateDir, runtime);
  const tmp = `${dir}.tmp-${randomBytes(4).toString("hex")}`;
  try {
    await copyFiles(from, path.join(tmp, "cache"), files);
    await atomicWriteFile(path.join(tmp, "commit"), commit);
    // The old seed steps aside, the new one takes its name: a reader sees one whole seed or none.
    const old = `${dir}.old-${randomBytes(4).toString("hex")}`;
    // Stryker disable BlockStatement,ConditionalExpression: a rename that fails otherwise fails the next one too
    await rename(dir, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    // Stryker restore BlockStatement,ConditionalExpression
    await rename(tmp, dir);
    await rm(old, { recursive: true, force: true });
    return true;
    // Stryker disable BlockStatement,BooleanLiteral: only an error leaves the temporary folder behind
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  // Stryker restore BlockStatement,BooleanLiteral
}

/**
 * What a keep killed half way left beside the seeds (a folder half copied, or the old seed set aside):
 * removed when a Supervisor starts, before it makes or plants any seed. Returns the names removed.
 */
export async function sweepCheckSeeds(stateDir: string): Promise<string[]> {
  const dir = path.dirname(checkSeedDir(stateDir, "x"));
  const stale = (await readdir(dir).catch(() => [] as string[])).filter((name) =>
    /\.(tmp|old)-[0-9a-f]{8}$/.test(name),
  );
  for (const name of stale) await rm(path.join(dir, name), { recursive: true });
  return stale;
}

/** One seed made per state folder, runtime and commit at a time. */
const seeding = new SingleFlight<boolean>();

/**
 * Runs main's own `check` script on a fresh clone of main at `commit` (as a candidate's check runs, in a
 * fresh container, with main's installed packages) and keeps what it left in `.loom-cache` as the seed
 * every later candidate's check starts from. Only for a repository whose check script names the folder,
 * and only from a check that passed. True
 * when a seed for `commit` is kept (made now or before).
 */
export function makeCheckSeed(ctx: StepsContext, commit: string): Promise<boolean> {
  const key = `${ctx.config.stateDir}\0${ctx.runtime.name}\0${commit}`;
  return seeding.run(key, () => {
    const byRuntime = makingKey(ctx.config.stateDir, ctx.runtime.name);
    const task = makeSeed(ctx, commit);
    // What a waiting check sees: done, however it ended (a failed seed only means a whole check).
    // Stryker disable next-line ArrowFunction,BooleanLiteral: the value is never read
    const settled = task.catch(() => false);
    making.set(byRuntime, settled);
    // Stryker disable BlockStatement,ConditionalExpression,EqualityOperator: a settled seed left in the map is only waited on at once
    void settled.then(() => {
      if (making.get(byRuntime) === settled) making.delete(byRuntime);
    });
    // Stryker restore BlockStatement,ConditionalExpression,EqualityOperator
    return task;
  });
}

/** makeCheckSeed's work, once per key. */
async function makeSeed(ctx: StepsContext, commit: string): Promise<boolean> {
  if ((await seedCommit(ctx.config.stateDir, ctx.runtime.name)) === commit) return true;
  const pkg = (await readBlobs(ctx.config.repoPath, [`${commit}:package.json`])).get(
    `${commit}:package.json`,
  );
  let script: unknown;
  try {
    // Stryker disable next-line OptionalChaining: without scripts, the TypeError is caught the same way
    script = (JSON.parse(pkg ?? "") as { scripts?: Record<string, unknown> }).scripts?.check;
  } catch {}
  if (!usesCheckCache(script)) return false;
  // Under swarm a step clones main through the gateway into its own container: what its check leaves
  // never reaches this host's clone, so there is nothing to keep (and candidates start without a seed).
  if (ctx.gateway && ctx.runtime.name === "swarm") return false;
  const name = `seed-${commit.slice(0, 12)}`;
  // Beside the candidates' clones (verify/gen-N), at their depth: the build info's paths are relative.
  // Stryker disable next-line StringLiteral: a seed made elsewhere is as sound, only less reused (bench/check-seed.bench.ts)
  const clone = path.join(ctx.config.stateDir, "verify", name);
  try {
    await cloneAt(ctx.config.repoPath, commit, clone);
    const steps = await prepareSteps(ctx, commit, clone, name);
    const run = await runStep(
      steps.context,
      // Stryker disable next-line StringLiteral: the step's name, a label
      "seed",
      scriptCommandFrom(pkg, "check"),
      ctx.config.verifyTimeoutMs,
    );
    return run.result.passed && (await keepCheckSeed(ctx.config.stateDir, ctx.runtime.name, clone, commit));
  } finally {
    await rm(clone, { recursive: true }).catch(() => {});
  }
}
