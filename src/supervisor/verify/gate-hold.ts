import type { GateStage } from "../../../schemas/gate.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { ConflictError } from "../errors.ts";

/**
 * A generation waiting for a person: verified and approved by the review, still `verifying`, and its
 * diff touches the gate (schemas/gate.ts). Nothing promotes it without `approveGateChange: true`.
 */
export function isHeldForPerson(record: GenerationRecord): boolean {
  return (
    record.outcome === "verifying" &&
    record.verification?.passed === true &&
    record.verification.mechanical.gate?.touched === true
  );
}

/**
 * The gate's rule for one promotion of a verified generation `n`, given what its verified commit
 * changes of the gate: a gate change needs a person's explicit approval, and an approval is accepted
 * only for a gate change (it is never a flag passed along with every promotion).
 */
export function assertGateRule(n: number, gate: GateStage, approveGateChange: boolean | undefined): void {
  if (gate.touched && approveGateChange !== true) {
    throw new ConflictError(
      "GATE_CHANGE_HELD",
      `generation ${n} changes the gate (${gate.files.join(", ")}), so it is held for a person: ` +
        `read its diff, then POST /promote {"generation": ${n}, "approveGateChange": true} to approve it, ` +
        `or POST /rollback {"generation": ${n}}`,
    );
  }
  if (!gate.touched && approveGateChange !== undefined) {
    throw new ConflictError(
      "GATE_APPROVAL_UNEXPECTED",
      `generation ${n} does not change the gate (the paths in schemas/gate.ts), so approveGateChange is ` +
        `not accepted for it; promote it with {"generation": ${n}} alone`,
    );
  }
}
