import type { GenerationDiff } from "../../schemas/generation-diff.ts";
import type { GenerationRecord } from "../../schemas/generation-record.ts";
import type {
  ArchiveResponse,
  PromoteResponse,
  RollbackResponse,
  SpawnResponse,
  SupervisorStats,
} from "../../schemas/supervisor.ts";
import type { ReviewRequest, Verification, VerifyThrough } from "../../schemas/verification.ts";

export type { SupervisorStats };

/** What the HTTP server asks of the Supervisor; failures are the domain's errors (errors.ts), StoreError or GitOpError. */
export interface SupervisorApi {
  /** Starts a round of `candidates` Labs (default LOOM_CANDIDATES) on this program.md. */
  spawn(
    program: string,
    request?: { candidates?: number; hints?: readonly string[]; parent?: number },
  ): Promise<SpawnResponse>;
  /** `approveGateChange`: a person's explicit approval, required for (and only for) a generation that touches the gate. */
  promote(generation: number, approveGateChange?: boolean): Promise<PromoteResponse>;
  rollback(generation: number, reason: string | undefined): Promise<RollbackResponse>;
  /** Keeps a verifying candidate that passed what it ran as refs/loom/archive/gen-N (outcome archived). */
  archive(generation: number, reason: string): Promise<ArchiveResponse>;
  /**
   * Starts stage 1 (a job): answers the record with `verificationRun` running; the result lands on it.
   * `through: "reachable"` stops the cascade after the reachable tests (not complete, not promotable).
   */
  verify(generation: number, through?: VerifyThrough): Promise<GenerationRecord>;
  review(request: ReviewRequest): Promise<Verification>;
  diff(generation: number): Promise<GenerationDiff>;
  list(): Promise<GenerationRecord[]>;
  get(generation: number): Promise<GenerationRecord | undefined>;
  stats(): Promise<SupervisorStats>;
}
