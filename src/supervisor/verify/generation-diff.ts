import { DIFF_MAX_CHARS, type GenerationDiff } from "../../../schemas/generation-diff.ts";
import { NotFoundError } from "../errors.ts";
import { archiveRef } from "../git/archive.ts";
import { labRef, MAIN_REF, resolveRef, tagRef } from "../git/repo-state.ts";
import { git, tryGit } from "../git/run-git.ts";
import { mergeBase, numstat, readBlobs } from "./verify-git.ts";

/** Files larger than this are left out of the declaration summary (still in the diff and the stat). */
const SUMMARY_MAX_FILE_CHARS = 1_000_000;

/**
 * Where generation `n`'s work is: lab/gen-N (or, archived, refs/loom/archive/gen-N) against its merge
 * base with main; after a promotion, when
 * the branch is gone, the tag gen-N's merge commit (its second parent is the branch's last commit).
 */
async function locate(repo: string, n: number, outcome: string): Promise<{ base: string; head: string }> {
  // An archived candidate's branch was moved to refs/loom/archive/gen-N: the same work, kept.
  const lab = (await resolveRef(repo, labRef(n), true)) ?? (await resolveRef(repo, archiveRef(n), true));
  if (lab) return { head: lab, base: await mergeBase(repo, MAIN_REF, lab) };
  const merge = await resolveRef(repo, tagRef(n), true);
  const head = merge ? await resolveRef(repo, `${merge}^2`, true) : undefined;
  const first = merge ? await resolveRef(repo, `${merge}^1`, true) : undefined;
  if (merge && head && first) return { head, base: await mergeBase(repo, first, head) };
  const why =
    outcome === "pending" || outcome === "running"
      ? "its Lab is still running; the branch is fetched when it ends"
      : "rolled back, or its branch was never fetched";
  throw new NotFoundError(
    "DIFF_NOT_FOUND",
    `generation ${n} has neither a branch lab/gen-${n} nor a merge tag gen-${n} in the repo (${why}); there is no diff to show`,
  );
}

/** `GET /generations/:n/diff`: the unified diff, its stat, program.md and the declarations it touches. */
export async function generationDiff(repo: string, n: number, outcome: string): Promise<GenerationDiff> {
  const { base, head } = await locate(repo, n, outcome);
  const [stat, fullDiff, names, program] = await Promise.all([
    numstat(repo, base, head),
    git(repo, ["diff", "--no-color", "--no-renames", base, head]),
    git(repo, ["diff", "--name-status", "--no-renames", "-z", base, head]),
    tryGit(repo, ["show", `${head}:program.md`]),
  ]);
  const fields = names.split("\0").filter((f) => f !== "");
  const changed: { status: string; path: string }[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2)
    changed.push({ status: fields[i] as string, path: fields[i + 1] as string });
  const specs = changed.flatMap((c) => [
    ...(c.status !== "A" ? [`${base}:${c.path}`] : []),
    ...(c.status !== "D" ? [`${head}:${c.path}`] : []),
  ]);
  const blobs = await readBlobs(repo, specs);
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  for (const c of changed) {
    const a = blobs.get(`${base}:${c.path}`);
    const b = blobs.get(`${head}:${c.path}`);
    if (a !== undefined && a.length <= SUMMARY_MAX_FILE_CHARS) before.set(c.path, a);
    if (b !== undefined && b.length <= SUMMARY_MAX_FILE_CHARS) after.set(c.path, b);
  }
  const truncated = fullDiff.length > DIFF_MAX_CHARS;
  // Loaded on first use: it brings ts-morph (TypeScript's compiler), a quarter of a second of a
  // Supervisor's start that most starts never need.
  const { summarizeDeclarations } = await import("../../analyze/declaration-diff.ts");
  return {
    generation: n,
    base,
    head,
    program: program.exitCode === 0 ? program.stdout : "",
    stat,
    diff: truncated ? fullDiff.slice(0, DIFF_MAX_CHARS) : fullDiff,
    truncated,
    declarations: summarizeDeclarations(before, after),
  };
}
