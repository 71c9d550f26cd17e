import type { z } from "zod";

/**
 * What a tool may do. Policy (Lab vs Prime, read-only verification) keys on this class, never on names.
 * - read: looks only; edit: changes files in the workspace; exec: runs processes;
 * - self-modify: spawns/verifies/promotes generations (Prime only, never bundled into a Lab).
 */
export type ToolEffect = "read" | "edit" | "exec" | "self-modify";

/** Everything a tool handler gets besides its validated input. */
export interface ToolContext {
  /** Absolute path of the workspace root; every path a tool touches is confined to it. */
  readonly workspace: string;
  /** Aborted when the run is cancelled or the tool's timeout fires. */
  readonly signal: AbortSignal;
}

/**
 * A tool's answer. `content` is what the model sees (truncated centrally by the registry);
 * `details` is structured data for people, reports and `loom tool` (never sent to the model).
 */
export interface ToolResult {
  readonly content: string;
  readonly isError?: boolean;
  readonly details?: unknown;
}

/** Which end of long output is kept when the registry truncates it. */
export type TruncateFrom = "head" | "tail";

export interface Tool<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  /** The single definition of the input: validated once by the registry, JSON Schema derived for the model. */
  readonly input: S;
  readonly effect: ToolEffect;
  /** Default time limit for one call; the registry aborts and reports a timeout past it. */
  readonly timeoutMs?: number;
  /** Which part of over-long output to keep ("head" by default; "tail" for command output). */
  readonly truncate?: TruncateFrom;
  /** Throwing is allowed: the registry turns any throw into an is_error result the model can correct from. */
  run(input: z.infer<S>, ctx: ToolContext): Promise<ToolResult>;
}

/** Identity helper that keeps the input type inferred from the schema. */
export function defineTool<S extends z.ZodType>(tool: Tool<S>): Tool<S> {
  return tool;
}

/** An expected, user-facing tool failure (bad path, no match, …): reported without a stack. */
export class ToolError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "ToolError";
    this.code = code;
  }
}
