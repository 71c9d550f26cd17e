import { GitOpError } from "./git-op-error.ts";
import { assertRepo, checkGeneration, labRef, resolveRef } from "./repo-state.ts";
import { tryGit } from "./run-git.ts";

export interface RollbackInput {
  readonly repo: string;
  readonly generation: number;
}

/** Deletes `lab/gen-N` if it is there; idempotent, and never touches main or tags. */
export async function rollback(input: RollbackInput): Promise<{ deleted: boolean }> {
  const n = checkGeneration(input.generation);
  const repo = await assertRepo(input.repo);
  const sha = await resolveRef(repo, labRef(n));
  if (!sha) return { deleted: false };
  const r = await tryGit(repo, ["update-ref", "-m", `loom: roll back gen-${n}`, "-d", labRef(n), sha]);
  if (r.exitCode !== 0) {
    // Someone deleted it concurrently: the result the caller wanted.
    if (!(await resolveRef(repo, labRef(n)))) return { deleted: false };
    throw new GitOpError("REF_UPDATE_FAILED", `could not delete lab/gen-${n}: ${r.stderr}`);
  }
  return { deleted: true };
}
