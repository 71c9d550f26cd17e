import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { tryGit as tryGitBytes } from "../../shared/git/run-git.ts";
import { git, tryGit } from "../git/run-git.ts";

/** The object `rev:path` names (a blob or tree sha), or undefined when that path is absent at rev. */
export async function objectAt(repo: string, rev: string, file: string): Promise<string | undefined> {
  const r = await tryGit(repo, ["rev-parse", "--verify", "--quiet", `${rev}:${file}`]);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

export async function mergeBase(repo: string, a: string, b: string): Promise<string> {
  return (await git(repo, ["merge-base", a, b], { what: `finding the merge base of ${a} and ${b}` })).trim();
}

/**
 * A fresh clone of `repo` checked out (detached) at `commit` in `dir`, replacing whatever was there.
 * --no-hardlinks: the clone is handed to a container that may chmod or write anything in it.
 */
export async function cloneAt(repo: string, commit: string, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await git(path.dirname(dir), ["clone", "--no-hardlinks", "--quiet", "--no-checkout", "--", repo, dir], {
    code: "CLONE_FAILED",
    what: `cloning ${repo} for verification`,
  });
  await git(dir, ["checkout", "--quiet", "--detach", commit], {
    code: "CLONE_FAILED",
    what: `checking out ${commit} for verification`,
  });
  await git(dir, ["remote", "remove", "origin"]);
}

export interface NumStat {
  readonly files: number;
  readonly insertions: number;
  readonly deletions: number;
}

/** `git diff --numstat`, summed; binary files count as changed files with no lines. */
export async function numstat(repo: string, base: string, head: string): Promise<NumStat> {
  const out = await git(repo, ["diff", "--numstat", "--no-renames", base, head]);
  let files = 0;
  let insertions = 0;
  let deletions = 0;
  for (const line of out.split("\n")) {
    const [add, del] = line.split("\t");
    if (add === undefined || del === undefined) continue;
    files += 1;
    insertions += Number(add) || 0;
    deletions += Number(del) || 0;
  }
  return { files, insertions, deletions };
}

/** Texts of `rev:path` for many paths in one `git cat-file --batch`; absent objects are left out. */
export async function readBlobs(repo: string, specs: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (specs.length === 0) return found;
  const r = await tryGitBytes(repo, ["cat-file", "--batch"], {
    input: specs.map((s) => `${s}\n`).join(""),
    encoding: "buffer",
  });
  const out = r.stdout;
  let at = 0;
  for (const spec of specs) {
    const nl = out.indexOf(0x0a, at);
    if (nl < 0) break;
    const header = out.subarray(at, nl).toString("utf8").split(" ");
    if (header.at(-1) === "missing" || header.length < 3) {
      at = nl + 1;
      continue;
    }
    const size = Number(header[2]);
    if (header[1] === "blob") found.set(spec, out.subarray(nl + 1, nl + 1 + size).toString("utf8"));
    at = nl + 1 + size + 1;
  }
  return found;
}
