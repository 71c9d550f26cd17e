import { z } from "zod";
import { formatIssue } from "../zod-issues.ts";

/**
 * A script for the scripted model server: a list of turns, each a reply or an injected fault.
 * Zod is the single definition so `loom demo` scripts can be plain JSON files.
 */

const nonNegInt = z.number().int().nonnegative();

/** Overrides for the usage the server reports; fields left out are estimated from the request. */
export const ScriptUsage = z.strictObject({
  input_tokens: nonNegInt.optional(),
  output_tokens: nonNegInt.optional(),
  cache_creation_input_tokens: nonNegInt.optional(),
  cache_read_input_tokens: nonNegInt.optional(),
});
export type ScriptUsage = z.infer<typeof ScriptUsage>;

/** Picks a turn by what the request carries instead of by position. All given conditions must hold. */
export const TurnCondition = z.strictObject({
  /** Some tool_result in the last user message contains this text. */
  lastToolResultIncludes: z.string().optional(),
  /** The text blocks of the last user message contain this text. */
  lastUserTextIncludes: z.string().optional(),
  /**
   * The text blocks of some user message contain this text: with a marker in the first message (the
   * task, which context trimming keeps), every request of one conversation matches, and no other's.
   */
  anyUserTextIncludes: z.string().min(1).optional(),
  /** Whether the last user message carries an is_error tool_result (false: carries tool results, none an error). */
  toolResultIsError: z.boolean().optional(),
  /** The request names exactly this model: one server plays a different part to each model it serves. */
  model: z.string().min(1).optional(),
});
export type TurnCondition = z.infer<typeof TurnCondition>;

const TextBlock = z.strictObject({ type: z.literal("text"), text: z.string().min(1) });
const ToolInput = z.record(z.string(), z.unknown());
const ToolUseBlock = z.strictObject({
  type: z.literal("tool_use"),
  /** Generated (`toolu_…`) when left out. */
  id: z.string().min(1).optional(),
  name: z.string().min(1),
  input: ToolInput,
});
export const ScriptBlock = z.discriminatedUnion("type", [TextBlock, ToolUseBlock]);
export type ScriptBlock = z.infer<typeof ScriptBlock>;

const ToolCall = z.strictObject({ name: z.string().min(1), input: ToolInput.default({}) });

/**
 * A reply: either full `content` blocks, or the shorthand `text` and/or `tool`+`input` / `tools`
 * (text first, then tool calls). stop_reason defaults to tool_use when it asks for a tool, else end_turn.
 */
export const ReplyTurn = z
  .strictObject({
    when: TurnCondition.optional(),
    content: z.array(ScriptBlock).min(1).optional(),
    text: z.string().min(1).optional(),
    tool: z.string().min(1).optional(),
    input: ToolInput.optional(),
    tools: z.array(ToolCall).min(1).optional(),
    stop_reason: z.enum(["end_turn", "tool_use", "max_tokens"]).optional(),
    usage: ScriptUsage.optional(),
    /** Answers only after this long, as a real model's turn takes time (the Lab warms up meanwhile). */
    thinkMs: z.number().int().positive().optional(),
  })
  .superRefine((turn, ctx) => {
    const shorthand = turn.text !== undefined || turn.tool !== undefined || turn.tools !== undefined;
    if (turn.content === undefined && !shorthand) {
      ctx.addIssue({ code: "custom", message: "a reply needs `content`, `text`, `tool` or `tools`" });
    }
    if (turn.content !== undefined && shorthand) {
      ctx.addIssue({
        code: "custom",
        message: "give either `content` or the `text`/`tool`/`tools` shorthand",
      });
    }
    if (turn.tool !== undefined && turn.tools !== undefined) {
      ctx.addIssue({ code: "custom", message: "give either `tool` (one call) or `tools` (several)" });
    }
    if (turn.input !== undefined && turn.tool === undefined) {
      ctx.addIssue({ code: "custom", path: ["input"], message: "`input` belongs with `tool`" });
    }
  });
export type ReplyTurn = z.infer<typeof ReplyTurn>;

export const FaultTurn = z.discriminatedUnion("fault", [
  /** 429 rate_limit_error with retry-after (seconds, rounded up) and retry-after-ms headers. */
  z.strictObject({
    fault: z.literal("rate_limit"),
    retryAfterMs: nonNegInt.default(1000),
    when: TurnCondition.optional(),
  }),
  /** 529 overloaded_error; with retryAfterMs, also the retry-after headers. */
  z.strictObject({
    fault: z.literal("overloaded"),
    retryAfterMs: nonNegInt.optional(),
    when: TurnCondition.optional(),
  }),
  /** 500 api_error; with retryAfterMs, also the retry-after headers. */
  z.strictObject({
    fault: z.literal("server_error"),
    retryAfterMs: nonNegInt.optional(),
    when: TurnCondition.optional(),
  }),
  /** 401 authentication_error, as for a wrong or revoked API key. */
  z.strictObject({ fault: z.literal("auth"), when: TurnCondition.optional() }),
  /** Answers (with `text`) only after `delayMs`: longer than the client's timeout, to exercise it. */
  z.strictObject({
    fault: z.literal("slow"),
    delayMs: z.number().int().positive(),
    text: z.string().min(1).default("(slow reply)"),
    when: TurnCondition.optional(),
  }),
  /** 200 whose JSON body is cut off mid-way. */
  z.strictObject({ fault: z.literal("malformed"), when: TurnCondition.optional() }),
]);
export type FaultTurn = z.infer<typeof FaultTurn>;

export const ScriptTurn = z.union([FaultTurn, ReplyTurn]);
export type ScriptTurn = z.infer<typeof ScriptTurn>;
/** What callers write: defaults (retryAfterMs, tool input, …) may be left out. */
export type ScriptTurnInput = z.input<typeof ScriptTurn>;

export const Script = z.array(ScriptTurn);
export type Script = z.infer<typeof Script>;

/** The content blocks a reply turn stands for (shorthand expanded, ids not yet assigned). */
export function replyBlocks(turn: ReplyTurn): ScriptBlock[] {
  if (turn.content) return turn.content;
  const blocks: ScriptBlock[] = [];
  if (turn.text !== undefined) blocks.push({ type: "text", text: turn.text });
  if (turn.tool !== undefined) blocks.push({ type: "tool_use", name: turn.tool, input: turn.input ?? {} });
  for (const call of turn.tools ?? []) blocks.push({ type: "tool_use", name: call.name, input: call.input });
  return blocks;
}

export function isFault(turn: ScriptTurn): turn is FaultTurn {
  return "fault" in turn && turn.fault !== undefined;
}

/**
 * Parses a script, reporting each problem as `path: reason`. Each turn is checked against the branch
 * it was meant for (a `fault` key means a fault turn), so errors are not zod's bare "Invalid input".
 */
export function parseScript(
  value: unknown,
): { ok: true; script: Script } | { ok: false; problems: string[] } {
  if (!Array.isArray(value)) return { ok: false, problems: ["(script): expected an array of turns"] };
  const problems: string[] = [];
  const script: Script = [];
  value.forEach((turn: unknown, index) => {
    const isFaultTurn = typeof turn === "object" && turn !== null && "fault" in turn;
    const result = (isFaultTurn ? FaultTurn : ReplyTurn).safeParse(turn);
    if (result.success) script.push(result.data);
    else for (const issue of result.error.issues) problems.push(formatIssue(issue, { prefix: [index] }));
  });
  return problems.length === 0 ? { ok: true, script } : { ok: false, problems };
}
