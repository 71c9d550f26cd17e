import { z } from "zod";
import { LabStopReason } from "../../schemas/lab-report.ts";
import { Usage } from "../../schemas/usage.ts";

// Usage is a fixed point (it is part of every GenerationRecord); its one definition lives in schemas/.
export { Usage };

export const zeroUsage = (): Usage => ({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });
export const addUsage = (a: Usage, b: Usage): Usage => ({
  input: a.input + b.input,
  output: a.output + b.output,
  cacheRead: a.cacheRead + b.cacheRead,
  cacheWrite: a.cacheWrite + b.cacheWrite,
});
export const totalTokens = (u: Usage): number => u.input + u.output + u.cacheRead + u.cacheWrite;

/** Why an agent run stopped; every stop records one. */
export const StopReason = LabStopReason;
export type StopReason = z.infer<typeof StopReason>;

/**
 * The typed event stream of an agent loop. Logs, SSE endpoints, /status and reports all consume
 * this one union; nothing reads the loop's internals.
 */
export const AgentEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("turn_start"), turn: z.number().int(), at: z.string() }),
  z.object({
    type: z.literal("model_call"),
    iteration: z.number().int(),
    model: z.string(),
    usage: Usage,
    stopReason: z.string().nullable(),
    durationMs: z.number(),
  }),
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({ type: z.literal("tool_start"), id: z.string(), name: z.string(), input: z.unknown() }),
  z.object({
    type: z.literal("tool_end"),
    id: z.string(),
    name: z.string(),
    isError: z.boolean(),
    /** What the model saw, possibly truncated. */
    output: z.string(),
    durationMs: z.number(),
  }),
  z.object({ type: z.literal("done"), reason: StopReason, usage: Usage, iterations: z.number().int() }),
  z.object({ type: z.literal("error"), code: z.string(), message: z.string() }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

/** Where a loop sends its events. Sinks must not throw; a slow sink must not block the loop for long. */
export type EventSink = (event: AgentEvent) => void;
