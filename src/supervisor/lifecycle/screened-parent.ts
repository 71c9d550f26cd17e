import { archiveRef } from "../git/archive.ts";
import { MAIN_REF } from "../git/repo-state.ts";
import type { GenerationStore } from "../store/index.ts";
import type { ParentChoice } from "./choose-parent.ts";
import type { SupervisorEmit } from "./events.ts";

/** What finishing a screened parent needs of the controller: its verifier and its decisions. */
export interface ScreenedParentPorts {
  readonly store: GenerationStore;
  readonly emit: SupervisorEmit;
  /** Stage 1 through every stage, awaited until it is on the record. */
  verifyInFull(generation: number): Promise<void>;
  archive(generation: number, reason: string): Promise<unknown>;
  rollback(generation: number, reason: string): Promise<unknown>;
}

/**
 * Where candidate n starts. A parent drawn from the screened candidates (only a round's cheap stages
 * ran) is first verified in full, where it is, once however many candidates drew it (`finishing`):
 * passing, it is archived and the candidate starts from refs/loom/archive/gen-P; failing, it is rolled
 * back and the candidate starts from main (its record's parent says so). A verification that cannot
 * end (a shutdown) ends the candidate failed, or aborted, with the reason.
 */
export async function startingPoint(
  ports: ScreenedParentPorts,
  n: number,
  drawn: ParentChoice | undefined,
  round: number,
  finishing: Map<number, Promise<ParentChoice>>,
  signal: AbortSignal,
): Promise<ParentChoice | undefined> {
  if (!drawn?.screened || drawn.generation === null) return drawn;
  const p = drawn.generation;
  let ready = finishing.get(p);
  if (!ready) {
    ready = finishScreened(ports, p, round, signal);
    finishing.set(p, ready);
  }
  try {
    const parent = await ready;
    if (parent.generation !== p) await ports.store.update(n, { parent: parent.generation });
    return parent;
  } catch (err) {
    const reason = `its parent gen-${p} (screened) could not be verified in full: ${(err as Error).message}`;
    const outcome = signal.aborted ? "aborted" : "failed";
    await ports.store.update(n, { outcome, reason });
    ports.emit({ type: "generation", at: new Date().toISOString(), generation: n, outcome, reason });
    throw new Error(reason);
  }
}

async function finishScreened(
  ports: ScreenedParentPorts,
  p: number,
  round: number,
  signal: AbortSignal,
): Promise<ParentChoice> {
  ports.emit({
    type: "log",
    at: new Date().toISOString(),
    generation: p,
    message: `round ${round}: gen-${p} was drawn as a parent after only the cheap stages; verifying it in full first`,
  });
  await ports.verifyInFull(p);
  const r = await ports.store.get(p);
  const run = r?.verificationRun;
  if (signal.aborted || run?.state !== "done" || !r?.verification)
    throw new Error(run?.error?.message ?? "its verification was stopped before it ended");
  const m = r.verification.mechanical;
  if (m.passed && m.complete !== false) {
    await ports.archive(p, `drawn as a parent in round ${round}: verified in full, kept as a stepping stone`);
    return { generation: p, ref: archiveRef(p) };
  }
  await ports.rollback(
    p,
    `drawn as a parent in round ${round}, it failed its full verification: ${m.failures.join("; ")}`.slice(
      0,
      2000,
    ),
  );
  const main = (await ports.store.list()).filter((g) => g.outcome === "promoted").at(-1);
  return { generation: main?.generation ?? null, ref: MAIN_REF };
}
