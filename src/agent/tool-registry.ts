import { z } from "zod";
import { LoomError } from "../shared/errors.ts";
import { formatIssues } from "../shared/zod-issues.ts";
import type { ToolDefinition } from "./model-port.ts";
import { type Tool, type ToolEffect, ToolError, type ToolResult } from "./tool.ts";
import { checkConfinement, exclusively, shapeFailure } from "./tool-policy.ts";
import { DEFAULT_LIMITS, type TruncateLimits, truncateOutput } from "./truncate.ts";

/** One tool call as the loop and `loom tool` see it: content for the model, details for people. */
export interface ExecutedTool {
  readonly content: string;
  readonly isError: boolean;
  readonly details?: unknown;
  readonly durationMs: number;
  /** Whether `content` was cut by the central truncation. */
  readonly truncated: boolean;
}

export interface ExecuteContext {
  readonly workspace: string;
  readonly signal: AbortSignal;
  /** Overrides the tool's own `timeoutMs` for this call. */
  readonly timeoutMs?: number;
}

export interface RegistryOptions {
  /** Time limit for tools that declare none (default 120 s). */
  readonly defaultTimeoutMs?: number;
  readonly limits?: TruncateLimits;
  /** After aborting a tool, how long to let it clean up (kill its processes) before answering anyway. */
  readonly abortGraceMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_ABORT_GRACE_MS = 3_000;

/** The tools whose effect class is allowed: policy keys on effects, never on names. */
export function filterByEffect<T extends Tool>(tools: readonly T[], allowed: readonly ToolEffect[]): T[] {
  return tools.filter((t) => allowed.includes(t.effect));
}

/**
 * The one choke point between the model and the tools: lookup, validation, the policy hooks each tool's
 * declared properties choose (confinement, one call at a time, failure shaping), timeout, truncation.
 */
export class ToolRegistry {
  readonly #tools = new Map<string, Tool>();
  readonly #defaultTimeoutMs: number;
  readonly #limits: TruncateLimits;
  readonly #abortGraceMs: number;

  constructor(tools: readonly Tool[], options: RegistryOptions = {}) {
    for (const tool of tools) {
      if (this.#tools.has(tool.name)) {
        throw new LoomError(
          "DUPLICATE_TOOL",
          `two tools are named "${tool.name}"; tool names must be unique`,
        );
      }
      this.#tools.set(tool.name, tool);
    }
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.#abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  }

  definitions(): ToolDefinition[] {
    return [...this.#tools.values()].map((tool) => {
      // io "input": fields with defaults are optional for the caller. A tool's input is an object schema.
      const { $schema: _drop, ...schema } = z.toJSONSchema(tool.input, { io: "input" });
      return { name: tool.name, description: tool.description, input_schema: { ...schema, type: "object" } };
    });
  }

  get(name: string): Tool | undefined {
    return this.#tools.get(name);
  }

  names(): string[] {
    return [...this.#tools.keys()];
  }

  /** Never throws: every failure becomes an is_error result the model can correct from. */
  async execute(name: string, rawInput: unknown, ctx: ExecuteContext): Promise<ExecutedTool> {
    const started = performance.now();
    const finish = (answer: ToolResult): ExecutedTool => {
      // Handlers are typed, but a buggy one must not make the choke point throw.
      const result: ToolResult =
        typeof answer?.content === "string"
          ? answer
          : { content: `the ${name} tool returned no text content (a bug in the tool)`, isError: true };
      const from = this.#tools.get(name)?.truncate ?? "head";
      const { content, truncated } = truncateOutput(result.content, from, this.#limits);
      return {
        content,
        isError: result.isError ?? false,
        ...(result.details === undefined ? {} : { details: result.details }),
        durationMs: performance.now() - started,
        truncated,
      };
    };
    const tool = this.#tools.get(name);
    if (!tool) {
      return finish({
        content: `there is no tool named "${name}"; available tools: ${this.names().join(", ")}`,
        isError: true,
      });
    }
    const parsed = tool.input.safeParse(rawInput);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error, { root: "(input)" });
      return finish({
        content: `the ${name} tool was called with invalid input: ${issues} — rewrite the input`,
        isError: true,
      });
    }
    if (ctx.signal.aborted)
      return finish({ content: `the ${name} tool was not run: the run was aborted`, isError: true });
    const timeoutMs = ctx.timeoutMs ?? tool.timeoutMs ?? this.#defaultTimeoutMs;
    try {
      await checkConfinement(tool, parsed.data, ctx.workspace);
      return finish(await runWithLimits(tool, parsed.data, ctx, timeoutMs, this.#abortGraceMs));
    } catch (err) {
      return finish({ content: describeThrow(name, shapeFailure(tool, err)), isError: true });
    }
  }
}

async function runWithLimits(
  tool: Tool,
  input: unknown,
  ctx: ExecuteContext,
  timeoutMs: number,
  graceMs: number,
): Promise<ToolResult> {
  const controller = new AbortController();
  let stopped: "timeout" | "aborted" | undefined;
  let wake: () => void = () => {};
  const stop = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const halt = (why: "timeout" | "aborted") => {
    stopped ??= why;
    controller.abort(
      new Error(why === "timeout" ? `timed out after ${timeoutMs} ms` : "the run was aborted"),
    );
    wake();
  };
  const onAbort = () => halt("aborted");
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => halt("timeout"), timeoutMs);
  const run = Promise.resolve().then(() =>
    exclusively(tool, ctx.workspace, controller.signal, () =>
      tool.run(input, { workspace: ctx.workspace, signal: controller.signal }),
    ),
  );
  let late: ToolResult | undefined;
  // Also keeps a run that rejects after we have answered from becoming an unhandled rejection.
  const settled = run.then(
    (r) => {
      late = r;
    },
    () => {},
  );
  try {
    const first = await Promise.race([run.then((r) => ({ done: r })), stop.then(() => undefined)]);
    if (first) return first.done;
    // Give the tool a moment to clean up (kill its process group) so nothing outlives the answer.
    await Promise.race([settled, sleep(graceMs)]);
    const what =
      stopped === "timeout" ? `timed out after ${timeoutMs} ms` : "was aborted because the run was cancelled";
    // Whatever the tool reported while stopping (e.g. the output so far) still helps the model.
    const partial = (late as ToolResult | undefined)?.content ?? "";
    return { content: `the ${tool.name} tool ${what}${partial ? `\n\n${partial}` : ""}`, isError: true };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function describeThrow(name: string, err: unknown): string {
  if (err instanceof ToolError) return err.message;
  if (err instanceof Error) return `the ${name} tool failed: ${err.name}: ${err.message}`;
  return `the ${name} tool failed: ${String(err)}`;
}
