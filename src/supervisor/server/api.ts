import type { GenerationOutcome } from "../../../schemas/generation.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { PromoteResponse, RollbackResponse, SpawnResponse } from "../../../schemas/supervisor.ts";
import type { Usage } from "../../../schemas/usage.ts";

export interface SupervisorStats {
  readonly generations: number;
  readonly byOutcome: Readonly<Record<GenerationOutcome, number>>;
  readonly tokens: Usage;
  readonly totalTokens: number;
  /** The generation whose Lab is running now, if any. */
  readonly running: number | null;
  readonly runtime: string;
}

/** What the HTTP server asks of the Supervisor; failures are HttpError, StoreError or GitOpError. */
export interface SupervisorApi {
  spawn(program: string): Promise<SpawnResponse>;
  promote(generation: number): Promise<PromoteResponse>;
  rollback(generation: number, reason: string | undefined): Promise<RollbackResponse>;
  list(): Promise<GenerationRecord[]>;
  get(generation: number): Promise<GenerationRecord | undefined>;
  stats(): Promise<SupervisorStats>;
}
