import type { z } from "zod";
import { AgentEvent } from "../../schemas/events.ts";
import { LabStopReason } from "../../schemas/lab-report.ts";
import { Usage } from "../../schemas/usage.ts";

// Usage and AgentEvent are fixed points (a record holds one, every /logs stream the other); their one
// definition lives in schemas/.
export { AgentEvent, Usage };

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

/** Where a loop sends its events. Sinks must not throw; a slow sink must not block the loop for long. */
export type EventSink = (event: AgentEvent) => void;
