import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type {
  PromoteResponse,
  RollbackResponse,
  SpawnResponse,
  SupervisorStats,
} from "../../../schemas/supervisor.ts";

export type { SupervisorStats };

/** What the HTTP server asks of the Supervisor; failures are HttpError, StoreError or GitOpError. */
export interface SupervisorApi {
  spawn(program: string): Promise<SpawnResponse>;
  promote(generation: number): Promise<PromoteResponse>;
  rollback(generation: number, reason: string | undefined): Promise<RollbackResponse>;
  list(): Promise<GenerationRecord[]>;
  get(generation: number): Promise<GenerationRecord | undefined>;
  stats(): Promise<SupervisorStats>;
}
