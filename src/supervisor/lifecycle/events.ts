import type { GenerationOutcome } from "../../../schemas/generation.ts";
import type { LabState } from "../../../schemas/lab-status.ts";
import type { PrimeState } from "../../../schemas/supervisor.ts";

/**
 * What the Supervisor reports as it works: generation state changes, Lab progress read from /status,
 * the tool calls a Lab made since the last poll (its /status counters, differenced), and plain log lines. `GET /logs` streams these; the CLI prints them.
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
      readonly type: "lab_tool";
      readonly at: string;
      readonly generation: number;
      readonly tool: string;
      /** Calls and errors of this tool since the previous poll. */
      readonly calls: number;
      readonly errors: number;
      /** The Lab's running totals for this tool. */
      readonly totalCalls: number;
      readonly totalErrors: number;
    }
  | {
      /** The Prime the Supervisor keeps changed state: started, restarted on a new main, reverted, failed. */
      readonly type: "prime";
      readonly at: string;
      readonly state: PrimeState;
      readonly commit: string | null;
      readonly url: string | null;
      /** The promotion this is about, if any. */
      readonly generation: number | null;
      readonly message: string;
    }
  | {
      readonly type: "log";
      readonly at: string;
      readonly generation: number | null;
      readonly message: string;
    };

export type SupervisorEmit = (event: SupervisorEvent) => void;
