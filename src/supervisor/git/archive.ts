import { GitOpError } from "./git-op-error.ts";
import { assertRepo, checkGeneration, labRef, resolveRef } from "./repo-state.ts";
import { tryGit } from "./run-git.ts";

export const archiveRef = (generation: number): string => `refs/loom/archive/gen-${generation}`;

export interface ArchiveInput {
  readonly repo: string;
  readonly generation: number;
}

/**
 * Moves `lab/gen-N` to `refs/loom/archive/gen-N` in one ref transaction (both or neither), so the
 * candidate stays reachable as a stepping stone while the branch list holds only live work. Idempotent:
 * already moved → the archive ref's commit; never touches main or tags.
 */
export async function archive(input: ArchiveInput): Promise<{ ref: string; commit: string }> {
  const n = checkGeneration(input.generation);
  const repo = await assertRepo(input.repo);
  const [lab, kept] = await Promise.all([resolveRef(repo, labRef(n)), resolveRef(repo, archiveRef(n))]);
  if (!lab) {
    if (kept) return { ref: archiveRef(n), commit: kept };
    throw new GitOpError(
      "BRANCH_NOT_FOUND",
      `${repo} has neither lab/gen-${n} nor ${archiveRef(n)}, so there is nothing to archive`,
    );
  }
  const zero = "0".repeat(lab.length);
  const r = await tryGit(
    repo,
    ["update-ref", "-m", `loom: archive gen-${n}`, "--stdin"],
    `start\nupdate ${archiveRef(n)} ${lab} ${kept ?? zero}\ndelete ${labRef(n)} ${lab}\nprepare\ncommit\n`,
  );
  if (r.exitCode !== 0) {
    throw new GitOpError("REF_UPDATE_FAILED", `could not move lab/gen-${n} to ${archiveRef(n)}: ${r.stderr}`);
  }
  return { ref: archiveRef(n), commit: lab };
}
