import { z } from "zod";
import { GenerationNumber, GenerationOutcome } from "./generation.ts";
import { LabStopReason } from "./lab-report.ts";
import { LabState } from "./lab-status.ts";
import { PrimeState } from "./supervisor.ts";
import { Usage } from "./usage.ts";

/**
 * Every event that crosses a process boundary: what an agent loop reports (Prime's `/logs`, a Lab's
 * status), what the Supervisor streams on its `/logs`, and what Prime streams on its own. Producers
 * are typed by these; consumers parse each frame with them.
 */

const At = z.iso.datetime();

/** The typed event stream of an agent loop; logs, SSE, /status and reports all consume this one union. */
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
  z.object({
    type: z.literal("done"),
    reason: LabStopReason,
    usage: Usage,
    iterations: z.number().int(),
  }),
  z.object({ type: z.literal("error"), code: z.string(), message: z.string() }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

/** What the Supervisor reports as it works; `GET /logs` on the Supervisor streams these. */
export const SupervisorEvent = z.discriminatedUnion("type", [
  /** A generation changed outcome. */
  z.object({
    type: z.literal("generation"),
    at: At,
    generation: GenerationNumber,
    outcome: GenerationOutcome,
    reason: z.string().nullable(),
  }),
  /** A stage-1 verification started or ended; its result is on the record (`verificationRun`). */
  z.object({
    type: z.literal("verification"),
    at: At,
    generation: GenerationNumber,
    state: z.enum(["running", "passed", "failed", "stopped", "error"]),
    message: z.string(),
  }),
  /** Lab progress read from its /status. */
  z.object({
    type: z.literal("lab_status"),
    at: At,
    generation: GenerationNumber,
    status: LabState,
    progress: z.string(),
  }),
  /** The tool calls a Lab made since the previous poll (its /status counters, differenced). */
  z.object({
    type: z.literal("lab_tool"),
    at: At,
    generation: GenerationNumber,
    tool: z.string(),
    calls: z.number().int().min(0),
    errors: z.number().int().min(0),
    /** The Lab's running totals for this tool. */
    totalCalls: z.number().int().min(0),
    totalErrors: z.number().int().min(0),
  }),
  /** The Prime the Supervisor keeps changed state: started, restarted on a new main, reverted, failed. */
  z.object({
    type: z.literal("prime"),
    at: At,
    state: PrimeState,
    commit: z.string().nullable(),
    url: z.string().nullable(),
    /** The promotion this is about, if any. */
    generation: GenerationNumber.nullable(),
    message: z.string(),
  }),
  z.object({
    type: z.literal("log"),
    at: At,
    generation: GenerationNumber.nullable(),
    message: z.string(),
  }),
]);
export type SupervisorEvent = z.infer<typeof SupervisorEvent>;

/** Prime's own log line (its `GET /logs` also carries every agent event of every chat turn). */
export const PrimeLogLine = z.object({ type: z.literal("log"), at: At, message: z.string() });

/** What Prime's `GET /logs` streams. */
export const PrimeLogEvent = z.union([AgentEvent, PrimeLogLine]);
export type PrimeLogEvent = z.infer<typeof PrimeLogEvent>;
