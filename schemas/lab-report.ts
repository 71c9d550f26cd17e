import { z } from "zod";
import { GenerationNumber } from "./generation.ts";
import { ToolCallCounts } from "./lab-status.ts";
import { Usage } from "./usage.ts";

/** Why a Lab's agent run stopped (mirrors the agent loop's recorded stop reasons). */
export const LabStopReason = z.enum(["end_turn", "iteration_cap", "token_budget", "aborted", "error"]);
export type LabStopReason = z.infer<typeof LabStopReason>;

/** What a Lab leaves behind for the Supervisor: written by the Lab worker when its run ends. */
export const LabReport = z.object({
  version: z.literal(1),
  generation: GenerationNumber.nullable(),
  status: z.enum(["done", "failed"]),
  stopReason: LabStopReason,
  error: z.string().nullable(),
  tokens: Usage,
  toolCalls: ToolCallCounts,
  modelCalls: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
  filesChanged: z.array(z.string()),
  /** The commit the Lab made on its branch, or null when it changed nothing. */
  commit: z
    .string()
    .regex(/^[0-9a-f]{40}$/)
    .nullable(),
  branch: z.string(),
  summary: z.string(),
});
export type LabReport = z.infer<typeof LabReport>;
