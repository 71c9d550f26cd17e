import { z } from "zod";
import { AutonomousPhase, AutonomousStopReason } from "../../../schemas/autonomous.ts";
import { GenerationNumber, GenerationOutcome } from "../../../schemas/generation.ts";

/** What the autonomous loop reports as it goes (logs, SSE); `suspended` means resumable, not stopped. */
export const AutonomousEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("run_started"),
    runId: z.string(),
    resumed: z.boolean(),
    phase: AutonomousPhase,
  }),
  z.object({ type: z.literal("phase"), phase: AutonomousPhase, generation: GenerationNumber.nullable() }),
  z.object({
    type: z.literal("generation_done"),
    generation: GenerationNumber,
    outcome: GenerationOutcome,
    fitness: z.number().nullable(),
    reason: z.string().nullable(),
  }),
  z.object({ type: z.literal("stopped"), reason: AutonomousStopReason, detail: z.string().nullable() }),
  z.object({ type: z.literal("suspended"), phase: AutonomousPhase, generation: GenerationNumber.nullable() }),
]);
export type AutonomousEvent = z.infer<typeof AutonomousEvent>;

/** One line per event, for Prime's log. */
export function describeAutonomousEvent(e: AutonomousEvent): string {
  switch (e.type) {
    case "run_started":
      return `autonomous run ${e.runId} ${e.resumed ? `resumed at ${e.phase}` : "started"}`;
    case "phase":
      return `autonomous: ${e.phase}${e.generation !== null ? ` generation ${e.generation}` : ""}`;
    case "generation_done":
      return (
        `autonomous: generation ${e.generation} ${e.outcome}` +
        (e.fitness !== null ? `, fitness ${e.fitness}` : "") +
        (e.reason ? ` (${e.reason})` : "")
      );
    case "stopped":
      return `autonomous: stopped (${e.reason})${e.detail ? `: ${e.detail}` : ""}`;
    case "suspended":
      return `autonomous: suspended at ${e.phase}${e.generation !== null ? ` generation ${e.generation}` : ""}; a restart resumes it`;
  }
}
