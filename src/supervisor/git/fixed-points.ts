import { GATE_PATHS, type GateStage } from "../../../schemas/gate.ts";
import { schemaFingerprintAtRef } from "./fingerprint.ts";
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

/**
 * The gate's paths (schemas/gate.ts) that `ref` changes against main. A path counts only when its
 * fingerprint differs, so a mode-only change is not a change; renames count on both sides.
 */
export async function gateChanges(
  repo: string,
  ref: string,
  paths: readonly string[] = GATE_PATHS,
): Promise<GateStage> {
  const changed = (await git(repo, ["diff", "--no-renames", "--name-only", MAIN_REF, ref, "--", ...paths]))
    .split("\n")
    .filter(Boolean);
  if (changed.length === 0) return { touched: false, files: [] };
  const [onMain, onRef] = await Promise.all([
    schemaFingerprintAtRef(repo, MAIN_REF, paths),
    schemaFingerprintAtRef(repo, ref, paths),
  ]);
  // Only mode changes: the bytes are main's.
  if (onMain === onRef) return { touched: false, files: [] };
  return { touched: true, files: changed };
}
