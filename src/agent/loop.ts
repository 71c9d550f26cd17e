import { errorMessage, LoomError } from "../shared/errors.ts";
import {
  addUsage,
  type EventSink,
  type StopReason,
  totalTokens,
  type Usage,
  zeroUsage,
} from "../shared/events.ts";
import { appendUser, trimContext } from "./context-window.ts";
import type { MessageParam, ModelPort, ToolDefinition, ToolResultBlock, ToolUseBlock } from "./model-port.ts";

/** What the loop needs from a tool registry: the definitions it sends and one execution choke point. */
export interface ToolExecutor {
  definitions(): ToolDefinition[];
  execute(
    name: string,
    input: unknown,
    ctx: { workspace: string; signal: AbortSignal },
  ): Promise<{ content: string; isError: boolean; durationMs: number }>;
}

/** The injected ports: Prime and Lab are two configurations of this one loop. */
export interface LoopPorts {
  readonly model: ModelPort;
  readonly tools: ToolExecutor;
  readonly emit: EventSink;
  readonly workspace: string;
  readonly signal?: AbortSignal;
}

export interface LoopOptions {
  readonly system: string;
  /** Model calls per turn (LOOM_MAX_ITERATIONS). */
  readonly maxIterations: number;
  /** Messages kept in context (the task message always among them). */
  readonly maxContextMessages: number;
  /** Total tokens this run may spend; 0 = unlimited (LOOM_TOKEN_BUDGET). */
  readonly tokenBudget: number;
  /** Tokens already spent by the caller against the same budget (e.g. earlier generations). */
  readonly tokensUsedBefore?: number;
  readonly maxTokens?: number;
}

export interface LoopResult {
  readonly reason: StopReason;
  readonly usage: Usage;
  readonly iterations: number;
  /** The whole conversation, including this turn (valid to continue with another user message). */
  readonly messages: MessageParam[];
  /** Text of the last assistant message. */
  readonly finalText: string;
  readonly error?: { code: string; message: string };
}

/**
 * Told to the model when its reply stopped at the output token limit: the last tool call of such a
 * reply is incomplete (its input was cut mid-way), so it is not run.
 */
export const TRUNCATED_TOOL_CALL =
  "Not run: your reply was cut at the output token limit (stop_reason max_tokens) while writing this " +
  "tool call, so its input is incomplete. Send smaller steps: split the change into several smaller " +
  "tool calls (e.g. edit a few lines at a time instead of rewriting a whole file).";
export const TRUNCATED_TEXT =
  "Your reply was cut at the output token limit (stop_reason max_tokens). Continue in smaller steps.";

/**
 * Runs one turn: `messages` ends with the user's message (the first message is the task). Calls the
 * model, runs the tools it asks for, and repeats until it ends its turn, hits the iteration cap or the
 * token budget, or is aborted. Never throws for model or tool failures: they end the run with a reason.
 */
export async function runAgentLoop(
  conversation: readonly MessageParam[],
  ports: LoopPorts,
  options: LoopOptions,
): Promise<LoopResult> {
  const { model, tools, emit, workspace } = ports;
  const signal = ports.signal ?? new AbortController().signal;
  const messages = [...conversation];
  const definitions = tools.definitions();
  let usage = zeroUsage();
  let iterations = 0;
  let finalText = "";
  const usedBefore = options.tokensUsedBefore ?? 0;
  const overBudget = () => options.tokenBudget > 0 && usedBefore + totalTokens(usage) >= options.tokenBudget;

  const finish = (reason: StopReason, error?: { code: string; message: string }): LoopResult => {
    if (error) emit({ type: "error", ...error });
    emit({ type: "done", reason, usage, iterations });
    return { reason, usage, iterations, messages, finalText, ...(error ? { error } : {}) };
  };

  emit({
    type: "turn_start",
    turn: messages.filter((m) => m.role === "user").length,
    at: new Date().toISOString(),
  });
  if (overBudget()) return finish("token_budget");

  while (true) {
    if (signal.aborted) return finish("aborted");
    if (iterations >= options.maxIterations) return finish("iteration_cap");
    iterations++;
    const started = performance.now();
    let response: Awaited<ReturnType<ModelPort["call"]>>;
    try {
      response = await model.call(
        {
          system: options.system,
          messages: trimContext(messages, options.maxContextMessages),
          tools: definitions,
          ...(options.maxTokens ? { maxTokens: options.maxTokens } : {}),
        },
        signal,
      );
    } catch (err) {
      if (signal.aborted) return finish("aborted");
      const code = err instanceof LoomError ? err.code : "MODEL_ERROR";
      const error = { code, message: errorMessage(err) };
      // A budget enforced outside the loop (the Supervisor's model proxy) ends the run like its own.
      return finish(code === "MODEL_BUDGET_EXHAUSTED" ? "token_budget" : "error", error);
    }
    usage = addUsage(usage, response.usage);
    emit({
      type: "model_call",
      iteration: iterations,
      model: response.model,
      usage: response.usage,
      stopReason: response.stopReason,
      durationMs: Math.round(performance.now() - started),
    });
    messages.push({ role: "assistant", content: [...response.content] });
    const texts = response.content.flatMap((b) => (b.type === "text" ? [b.text] : []));
    for (const text of texts) emit({ type: "text", text });
    if (texts.length > 0) finalText = texts.join("\n");

    const calls = response.content.filter((b): b is ToolUseBlock => b.type === "tool_use");
    const cut = response.stopReason === "max_tokens";
    // Only the last block can have been cut; tool calls before it in the reply are whole.
    const truncated = cut && response.content.at(-1)?.type === "tool_use" ? calls.at(-1) : undefined;
    if (calls.length === 0) {
      if (!cut) return finish("end_turn");
      // A reply cut mid-text is not the end of the turn: the model is told and goes on.
      appendUser(messages, [{ type: "text", text: TRUNCATED_TEXT }]);
      continue;
    }

    // Every tool_use gets a tool_result, even when we stop, so the history stays valid to continue.
    const stopBeforeTools: StopReason | undefined = signal.aborted
      ? "aborted"
      : overBudget()
        ? "token_budget"
        : undefined;
    const results: ToolResultBlock[] = [];
    for (const call of calls) {
      const skip = stopBeforeTools ?? (signal.aborted ? "aborted" : undefined);
      if (skip) {
        const content = `Not run: the run stopped (${skip === "aborted" ? "aborted" : "token budget exhausted"}).`;
        results.push({ type: "tool_result", tool_use_id: call.id, content, is_error: true });
        continue;
      }
      if (call === truncated) {
        results.push({
          type: "tool_result",
          tool_use_id: call.id,
          content: TRUNCATED_TOOL_CALL,
          is_error: true,
        });
        continue;
      }
      emit({ type: "tool_start", id: call.id, name: call.name, input: call.input });
      const result = await tools.execute(call.name, call.input, { workspace, signal });
      emit({
        type: "tool_end",
        id: call.id,
        name: call.name,
        isError: result.isError,
        output: result.content,
        durationMs: Math.round(result.durationMs),
      });
      results.push({
        type: "tool_result",
        tool_use_id: call.id,
        content: result.content,
        ...(result.isError ? { is_error: true } : {}),
      });
    }
    appendUser(messages, results);
    if (stopBeforeTools) return finish(stopBeforeTools);
    if (signal.aborted) return finish("aborted");
    if (overBudget()) return finish("token_budget");
  }
}
