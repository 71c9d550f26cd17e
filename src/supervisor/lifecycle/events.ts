import type { GenerationOutcome } from "../../../schemas/generation.ts";
import type { LabState } from "../../../schemas/lab-status.ts";

/**
 * What the Supervisor reports as it works: generation state changes, Lab progress read from /status,
 * and plain log lines. `GET /logs` streams these; the CLI prints them.
 */
export type SupervisorEvent =
  | {
      readonly type: "generation";
      readonly at: string;
      readonly generation: number;
      readonly outcome: GenerationOutcome;
      readonly reason: string | null;
    }
  | {
      readonly type: "lab_status";
      readonly at: string;
      readonly generation: number;
      readonly status: LabState;
      readonly progress: string;
    }
  | {
      readonly type: "log";
      readonly at: string;
      readonly generation: number | null;
      readonly message: string;
    };

export type SupervisorEmit = (event: SupervisorEvent) => void;
