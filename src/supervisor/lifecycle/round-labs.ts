import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { Candidate } from "../../../schemas/round.ts";
import { MAIN_REF } from "../git/repo-state.ts";
import type { Verifier } from "../verify/verifier.ts";
import type { ParentChoice } from "./choose-parent.ts";
import { candidateProgram } from "./round.ts";
import { type LifecyclePorts, runGeneration } from "./run-generation.ts";
import { type ScreenedParentPorts, startingPoint } from "./screened-parent.ts";

/** A round just allocated: its records, in candidate order, with each one's candidate and parent. */
export interface AllocatedRound {
  readonly round: number;
  readonly program: string;
  readonly records: readonly GenerationRecord[];
  readonly candidates: readonly Candidate[];
  readonly parents: readonly ParentChoice[];
}

export interface RoundLabsPorts {
  readonly lifecycle: LifecyclePorts;
  readonly verifier: Verifier;
  /** How a screened parent that loses its full verification is set aside. */
  readonly archive: ScreenedParentPorts["archive"];
  readonly rollback: ScreenedParentPorts["rollback"];
}

/**
 * Announces a round (each record pending; a round of several named in the log) and runs its K
 * generations at once, each from its starting point (main, or an archived parent
 * verified in full first, once however many candidates drew it) through `runGeneration`. One failing
 * never stops its siblings: an unexpected error is logged on its generation. `ended(n)` is called as
 * each one ends; the promise settles when all have. Main's test count is measured while the Labs work,
 * once every Lab of the round is up (so no start competes with it), at background priority.
 */
export function runRoundLabs(
  ports: RoundLabsPorts,
  allocated: AllocatedRound,
  signal: AbortSignal,
  ended: (n: number) => void,
): Promise<unknown> {
  const { lifecycle, verifier } = ports;
  const { round, program, records, candidates, parents } = allocated;
  const at = () => new Date().toISOString();
  for (const r of records) {
    lifecycle.emit({
      type: "generation",
      at: at(),
      generation: r.generation,
      outcome: "pending",
      reason: null,
    });
  }
  if (records.length > 1) {
    lifecycle.emit({
      type: "log",
      at: at(),
      generation: null,
      message: `round ${round}: ${records.length} candidates, ${records.map((r) => `gen-${r.generation} (${r.candidate?.model})`).join(", ")}`,
    });
  }
  // A screened parent is verified in full once, however many of the round's candidates drew it.
  const finishing = new Map<number, Promise<ParentChoice>>();
  const screened: ScreenedParentPorts = {
    store: lifecycle.store,
    emit: lifecycle.emit,
    verifyInFull: async (p) => {
      await verifier.verify(p, "full");
      await verifier.settled(p);
    },
    archive: ports.archive,
    rollback: ports.rollback,
  };
  let starting = records.length;
  const started = (n: number) => {
    if (--starting === 0) verifier.warmBaseline(n);
  };
  const runs = records.map((record, i) => {
    const n = record.generation;
    const candidate = candidates[i] as Candidate;
    let up = false;
    return startingPoint(screened, n, parents[i], round, finishing, signal)
      .then((parent) =>
        runGeneration(lifecycle, {
          generation: n,
          program: candidateProgram(program, candidate),
          signal,
          ...(parent && parent.ref !== MAIN_REF ? { from: parent.ref } : {}),
          ...(candidate.model ? { model: candidate.model } : {}),
          ...(records.length > 1
            ? { roundLabel: `round ${round}, candidate ${candidate.index} of ${candidate.of}` }
            : {}),
          onLabStarted: () => {
            up = true;
            started(n);
          },
        }),
      )
      .catch((err: Error) =>
        lifecycle.emit({
          type: "log",
          at: at(),
          generation: n,
          message: `gen-${n} failed unexpectedly: ${err.message}`,
        }),
      )
      .finally(() => {
        // One that ended without a Lab (its workspace failed, say) holds back no measurement.
        if (!up) started(n);
        ended(n);
      });
  });
  return Promise.allSettled(runs);
}
