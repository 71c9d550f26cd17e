import { z } from "zod";
import { GenerationNumber } from "./generation.ts";

export const LabState = z.enum(["starting", "running", "done", "failed"]);
export type LabState = z.infer<typeof LabState>;

/** Per-tool counters of one Lab run, keyed by tool name. */
export const ToolCallCounts = z.record(
  z.string().min(1),
  z.object({ calls: z.number().int().nonnegative(), errors: z.number().int().nonnegative() }),
);
export type ToolCallCounts = z.infer<typeof ToolCallCounts>;

/** `GET /status` of a Lab, polled by the Supervisor. */
export const LabStatus = z.object({
  status: LabState,
  progress: z.string(),
  error: z.string().nullable(),
  toolCalls: ToolCallCounts.optional(),
  generation: GenerationNumber.optional(),
});
export type LabStatus = z.infer<typeof LabStatus>;
