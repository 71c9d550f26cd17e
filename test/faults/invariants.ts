import { readdir, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { GenerationRecord } from "../../schemas/index.ts";
import { readLineage } from "../../src/supervisor/store/index.ts";

const git = async (repo: string, args: string[]) =>
  execa("git", args, { cwd: repo, reject: false, stdin: "ignore" });

/** What one fault left behind, against the promises: each list empty means the fault did no harm. */
export interface Damage {
  /** main neither untouched nor fully promoted (merge + tag + record), a dirty checkout, fsck errors. */
  readonly corruptedMain: string[];
  /** Processes still alive that belong to this scratch setup, containers (by label) still there. */
  readonly orphans: string[];
  /** Records missing, unreadable, invalid, stuck unfinished, or saying what git does not show. */
  readonly lostRecords: string[];
}

export interface Expect {
  readonly repo: string;
  readonly stateDir: string;
  /** Everything under this folder belongs to the case: a live process that mentions it is an orphan. */
  readonly root: string;
  /** The generations allocated so far (each must have a valid record). */
  readonly generations: readonly number[];
  /** The docker label value that marks this case's containers, when docker was used. */
  readonly dockerRepoLabel?: string;
  /** Process groups that are meant to be alive (the Supervisor now running, detached: pgid = pid). */
  readonly exclude?: readonly number[];
}

/** Live processes whose command line, working folder or environment names `root` (not this test's own). */
export async function processesUnder(root: string, exclude: readonly number[] = []): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^[0-9]+$/.test(name) || Number(name) === process.pid || exclude.includes(Number(name))) continue;
    const dir = path.join("/proc", name);
    const [cmd, env, cwd, stat] = await Promise.all([
      readFile(path.join(dir, "cmdline"), "utf8").catch(() => ""),
      readFile(path.join(dir, "environ"), "utf8").catch(() => ""),
      readlink(path.join(dir, "cwd")).catch(() => ""),
      readFile(path.join(dir, "stat"), "utf8").catch(() => ""),
    ]);
    // A zombie is already dead; it only waits for its parent to read its exit status.
    if (/\) Z /.test(stat)) continue;
    // The live Supervisor's own group (its git, tsx's esbuild); Labs run in groups of their own.
    const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (exclude.includes(pgid)) continue;
    if (cmd.includes(root) || env.includes(root) || cwd.startsWith(root)) {
      found.push(`pid ${name}: ${cmd.replaceAll("\0", " ").slice(0, 160)}`);
    }
  }
  return found;
}

/**
 * Checks the promises after a fault and the restart that followed it: main untouched or fully
 * promoted (each promoted record has its tag on main and its branch gone; each tag on main has a
 * promoted record), the checkout clean, `git fsck` clean, every record valid, finished or verifying
 * (never pending/running after a restart), true to git, and the lineage readable.
 */
export async function inspectDamage(x: Expect): Promise<Damage> {
  const corruptedMain: string[] = [];
  const lostRecords: string[] = [];
  const orphans: string[] = [];

  const fsck = await git(x.repo, ["fsck", "--no-progress", "--no-dangling"]);
  if (fsck.exitCode !== 0 || /error|missing|broken/i.test(fsck.stderr + fsck.stdout)) {
    corruptedMain.push(`git fsck: ${(fsck.stderr + fsck.stdout).trim().slice(0, 400)}`);
  }
  const status = await git(x.repo, ["status", "--porcelain", "--untracked-files=no"]);
  if (status.stdout.trim() !== "") corruptedMain.push(`checkout of main not clean: ${status.stdout.trim()}`);
  const head = await git(x.repo, ["symbolic-ref", "HEAD"]);
  if (head.stdout.trim() !== "refs/heads/main") corruptedMain.push(`HEAD is ${head.stdout.trim()}`);
  const gitDir = (await git(x.repo, ["rev-parse", "--absolute-git-dir"])).stdout.trim();
  for (const lock of ["index.lock", "refs/heads/main.lock", "packed-refs.lock"]) {
    const left = await readFile(path.join(gitDir, lock)).then(
      () => true,
      () => false,
    );
    if (left) corruptedMain.push(`${lock} left`);
  }

  const refs = new Map<string, string>();
  const out = await git(x.repo, ["for-each-ref", "--format=%(refname) %(objectname) %(*objectname)"]);
  for (const line of out.stdout.split("\n").filter(Boolean)) {
    const [name, object, peeled] = line.split(" ");
    if (name && object) refs.set(name, peeled || object);
  }
  const main = refs.get("refs/heads/main");
  if (!main) corruptedMain.push("main is gone");
  // Every commit main reaches, listed once: a tag is on main when its commit is among them (what
  // `merge-base --is-ancestor` answers, without a git process per record and fault).
  const reachable = new Set(
    main ? (await git(x.repo, ["rev-list", main])).stdout.split("\n").filter(Boolean) : [],
  );
  const onMain = (commit: string) => reachable.has(commit);

  // Every merge on main's first-parent line is a promotion, and each must be tagged.
  const merges = (await git(x.repo, ["rev-list", "--first-parent", "--merges", "main"])).stdout
    .split("\n")
    .filter(Boolean);
  const tagged = new Set([...refs].filter(([r]) => r.startsWith("refs/tags/gen-")).map(([, c]) => c));
  for (const m of merges)
    if (!tagged.has(m)) corruptedMain.push(`merge ${m.slice(0, 12)} on main has no gen-N tag`);

  const records = new Map<number, GenerationRecord>();
  const dir = path.join(x.stateDir, "generations");
  // The generations the case made, and any other record file the Supervisor wrote (or half-wrote).
  const onDisk = (await readdir(dir).catch(() => [] as string[])).flatMap((f) => {
    const m = /^gen-([0-9]+)\.json$/.exec(f);
    if (!m && !f.startsWith(".")) lostRecords.push(`stray file in generations/: ${f}`);
    return m ? [Number(m[1])] : [];
  });
  const leftovers = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".tmp"));
  if (leftovers.length > 0) lostRecords.push(`half-written temp files: ${leftovers.join(", ")}`);
  for (const n of [...new Set([...x.generations, ...onDisk])]) {
    const text = await readFile(path.join(dir, `gen-${n}.json`), "utf8").catch(() => undefined);
    if (text === undefined) {
      lostRecords.push(`gen-${n}: no record`);
      continue;
    }
    const parsed = GenerationRecord.safeParse(JSON.parse(text));
    if (!parsed.success) lostRecords.push(`gen-${n}: invalid record: ${parsed.error.message.slice(0, 200)}`);
    else records.set(n, parsed.data);
  }
  await readLineage(path.join(x.stateDir, "lineage.jsonl")).catch((err: Error) =>
    lostRecords.push(`lineage: ${err.message}`),
  );
  for (const [n, r] of records) {
    const tag = refs.get(`refs/tags/gen-${n}`);
    const branch = refs.get(`refs/heads/lab/gen-${n}`);
    const tagOnMain = tag !== undefined && onMain(tag);
    if (r.outcome === "pending" || r.outcome === "running") lostRecords.push(`gen-${n}: still ${r.outcome}`);
    if (r.outcome === "promoted") {
      if (!tagOnMain) lostRecords.push(`gen-${n}: recorded promoted but tag gen-${n} is not on main`);
      if (branch) corruptedMain.push(`gen-${n}: promoted but lab/gen-${n} still there`);
    } else if (tag) {
      lostRecords.push(`gen-${n}: tag gen-${n} exists but the record says ${r.outcome}`);
    }
    if (r.outcome === "verifying" && !branch) lostRecords.push(`gen-${n}: verifying without lab/gen-${n}`);
  }
  const intents = await readdir(path.join(x.stateDir, "intents")).catch(() => []);
  if (intents.length > 0) lostRecords.push(`intents left after the restart: ${intents.join(", ")}`);

  // A process of a killed Supervisor's runtime (tsx's esbuild service) exits once its pipe closes;
  // an orphan is one still running after a short grace.
  let left = await processesUnder(x.root, x.exclude);
  for (let i = 0; i < 20 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = await processesUnder(x.root, x.exclude);
  }
  orphans.push(...left);
  if (x.dockerRepoLabel) {
    const ps = await execa("docker", ["ps", "-aq", "--filter", `label=loom.repo=${x.dockerRepoLabel}`], {
      reject: false,
    });
    for (const id of ps.stdout.split("\n").filter(Boolean)) orphans.push(`container ${id}`);
  }
  return { corruptedMain, orphans, lostRecords };
}
