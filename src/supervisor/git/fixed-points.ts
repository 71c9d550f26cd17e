import { schemaFingerprintAtRef } from "../../shared/fingerprint.ts";
import { GitOpError } from "./git-op-error.ts";
import {
  assertRepo,
  checkGeneration,
  labRef,
  MAIN_REF,
  requireLabBranch,
  requireMain,
} from "./repo-state.ts";
import { git } from "./run-git.ts";

/**
 * Refuses a Lab branch whose `schemas/` differs from main's: the schemas are the fixed points every
 * generation is judged against, so a Lab may read them but never promote a change to them.
 */
export async function checkFixedPoints(repo: string, generation: number): Promise<void> {
  const n = checkGeneration(generation);
  await assertRepo(repo);
  await requireMain(repo);
  await requireLabBranch(repo, n);
  await assertSchemasUnchanged(repo, n);
}

/** The comparison alone, for callers that have already checked the repo, main and the branch. */
export async function assertSchemasUnchanged(repo: string, n: number): Promise<void> {
  const changed = (await git(repo, ["diff", "--name-only", MAIN_REF, labRef(n), "--", "schemas"]))
    .split("\n")
    .filter(Boolean);
  // Identical trees mean identical fingerprints; only a difference needs the (costlier) fingerprint,
  // which ignores mode-only changes.
  if (changed.length === 0) return;
  const [onMain, onLab] = await Promise.all([
    schemaFingerprintAtRef(repo, MAIN_REF),
    schemaFingerprintAtRef(repo, labRef(n)),
  ]);
  if (onMain === onLab) return;
  throw new GitOpError(
    "SCHEMAS_CHANGED",
    `lab/gen-${n} changes schemas/ (${changed.join(", ") || "contents differ"}); schemas are fixed points ` +
      `a Lab may not change — roll back gen-${n}`,
  );
}
