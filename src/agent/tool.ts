import type { z } from "zod";

/**
 * What a tool may do. Policy (Lab vs Prime, read-only verification) keys on this class, never on names.
 * - read: looks only; edit: changes files in the workspace; exec: runs processes;
 * - self-modify: spawns/verifies/promotes generations (Prime only, never bundled into a Lab).
 */
export type ToolEffect = "read" | "edit" | "exec" | "self-modify";

/**
 * Whose catalog offers a tool: a Lab's agent, Prime's, or the TypeScript tools' worker thread (which
 * hosts the tools that hold a ts-morph Project). Catalogs are filters of the manifest on this.
 */
export type ToolRole = "lab" | "prime" | "worker";

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

/** Throwing is allowed: the registry turns any throw into an is_error result the model can correct from. */
export type ToolRun<I> = (input: I, ctx: ToolContext) => Promise<ToolResult>;

/** What the model and the registry see of a tool, apart from the code that runs it. */
export interface ToolSpec<I = unknown> {
  readonly name: string;
  readonly description: string;
  /** The single definition of the input: validated once by the registry, JSON Schema derived for the model. */
  readonly input: z.ZodType<I>;
  readonly effect: ToolEffect;
  /** Default time limit for one call; the registry aborts and reports a timeout past it. */
  readonly timeoutMs?: number;
  /** Which part of over-long output to keep ("head" by default; "tail" for command output). */
  readonly truncate?: TruncateFrom;
}

/**
 * Declared properties the registry turns into policy hooks (src/agent/tool-policy.ts), so no tool
 * implements them itself. Methods, not function-valued fields: a list of tools of different inputs
 * stays assignable to `Tool[]` without a cast.
 */
export interface ToolProperties<I = unknown> {
  /** Whose catalogs offer it; none means it is in no role's catalog (a tool handed over directly). */
  readonly roles?: readonly ToolRole[];
  /**
   * The workspace path the input names: the registry refuses one outside the workspace (and, for
   * write access, under schemas/) before the tool runs. `path` returns undefined when there is none.
   */
  readonly confine?: {
    readonly access: "read" | "write";
    path(input: I): string | undefined;
  };
  /** Calls on one workspace run one at a time: the tool keeps per-workspace state (a ts-morph Project). */
  readonly exclusive?: boolean;
  /**
   * Turns a known failure into the answer the model should see (e.g. a Supervisor refusal: its code
   * and message say what to do instead); undefined leaves it to the registry's generic wording.
   */
  shapeError?(err: unknown): ToolError | undefined;
}

export interface Tool<I = unknown> extends ToolSpec<I>, ToolProperties<I> {
  run(input: I, ctx: ToolContext): Promise<ToolResult>;
}

/** Identity helper that keeps the input type inferred from the schema. */
export function defineTool<I>(tool: Tool<I>): Tool<I> {
  return tool;
}

/** A tool with its properties declared (roles, confinement, …) beside the code that defines it. */
export function withProperties<I>(tool: Tool<I>, properties: ToolProperties<I>): Tool<I> {
  return { ...tool, ...properties };
}

/** A manifest entry: all that is known of a tool without loading its code, and how to load it. */
export interface ToolEntry<I = unknown> extends ToolSpec<I>, ToolProperties<I> {
  load(): Promise<ToolRun<I>>;
}

/**
 * The entry as a tool whose code is imported on its first call, once (a failed import is tried again
 * by the next call): listing or filtering tools never loads ts-morph or the eval engine.
 */
export function lazyTool<I>({ load, ...declared }: ToolEntry<I>): Tool<I> {
  let loading: Promise<ToolRun<I>> | undefined;
  return {
    ...declared,
    run: async (input, ctx) => {
      loading ??= load();
      const pending = loading;
      const run = await pending.catch((err: unknown) => {
        if (loading === pending) loading = undefined;
        throw err;
      });
      return run(input, ctx);
    },
  };
}

/** The implementation of a loaded tool, as a lazy entry's `load` answers it. */
export function runOf<I>(tool: Tool<I>): ToolRun<I> {
  return (input, ctx) => tool.run(input, ctx);
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
