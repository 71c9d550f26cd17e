import { z } from "zod";
import type { TurnCondition } from "./script.ts";

/**
 * The part of a Messages API request the scripted server checks. Loose on purpose (extra fields
 * pass), strict where the real API rejects requests an agent loop could plausibly get wrong.
 */
const Block = z.looseObject({ type: z.string().min(1) });
const Message = z.looseObject({
  role: z.enum(["user", "assistant"]),
  content: z.union([z.string(), z.array(Block)]),
});
export const MessagesRequest = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(Message).min(1),
  system: z.union([z.string(), z.array(Block)]).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1) })).optional(),
  stream: z.boolean().optional(),
  tool_choice: z
    .looseObject({ type: z.enum(["auto", "any", "tool", "none"]), name: z.string().min(1).optional() })
    .optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequest>;
type Message = z.infer<typeof Message>;
type Block = z.infer<typeof Block>;

/** A request the real API would reject, with a message phrased like the API's. */
export type RequestCheck = { ok: true; request: MessagesRequest } | { ok: false; message: string };

export function checkRequest(body: unknown): RequestCheck {
  const parsed = MessagesRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join(".") : "body";
    const missing = issue.code === "invalid_type" && issue.message.includes("received undefined");
    return { ok: false, message: missing ? `${where}: Field required` : `${where}: ${issue.message}` };
  }
  const request = parsed.data;
  const choice = request.tool_choice;
  if (choice?.type === "tool" && !request.tools?.some((t) => t.name === choice.name)) {
    return {
      ok: false,
      message: `tool_choice: tool \`${choice.name ?? ""}\` is not among the request's tools; name one of them`,
    };
  }
  const pairing = checkToolPairing(request.messages);
  return pairing ? { ok: false, message: pairing } : { ok: true, request };
}

const blocksOf = (m: Message | undefined): Block[] =>
  m === undefined ? [] : typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;

/** Every tool_use must be answered by a tool_result in the very next message, and vice versa (as the API requires). */
function checkToolPairing(messages: readonly Message[]): string | undefined {
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    const uses = message.role === "assistant" ? blocksOf(message).filter((b) => b.type === "tool_use") : [];
    const next = messages[i + 1];
    const results = next?.role === "user" ? blocksOf(next).filter((b) => b.type === "tool_result") : [];
    const resultIds = new Set(results.map((b) => b.tool_use_id));
    const unanswered = uses.map((b) => String(b.id)).filter((id) => !resultIds.has(id));
    if (unanswered.length > 0) {
      return (
        `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ` +
        `${unanswered.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
      );
    }
    if (message.role === "user") {
      const useIds = new Set(
        blocksOf(messages[i - 1])
          .filter((b) => b.type === "tool_use")
          .map((b) => b.id),
      );
      const stray = blocksOf(message).filter((b) => b.type === "tool_result" && !useIds.has(b.tool_use_id));
      if (stray.length > 0) {
        return (
          `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ` +
          `${stray.map((b) => String(b.tool_use_id)).join(", ")}. Each \`tool_result\` block must have a ` +
          "corresponding `tool_use` block in the previous message."
        );
      }
    }
  }
  return undefined;
}

/** What `when` conditions are matched against: mostly the last user message of the request. */
export interface RequestFacts {
  readonly model: string;
  readonly lastUserText: string;
  /** The text blocks of every user message, one string per message. */
  readonly userTexts: readonly string[];
  readonly toolResults: readonly { readonly text: string; readonly isError: boolean }[];
}

export function requestFacts(request: MessagesRequest): RequestFacts {
  const last = [...request.messages].reverse().find((m) => m.role === "user");
  const blocks = blocksOf(last);
  const textOf = (b: Block): string => (b.type === "text" && typeof b.text === "string" ? b.text : "");
  return {
    model: request.model,
    lastUserText: blocks.map(textOf).join("\n"),
    userTexts: request.messages
      .filter((m) => m.role === "user")
      .map((m) => blocksOf(m).map(textOf).join("\n")),
    toolResults: blocks
      .filter((b) => b.type === "tool_result")
      .map((b) => ({
        text:
          typeof b.content === "string"
            ? b.content
            : Array.isArray(b.content)
              ? b.content.map(textOf).join("\n")
              : "",
        isError: b.is_error === true,
      })),
  };
}

export function matches(when: TurnCondition | undefined, facts: RequestFacts): boolean {
  if (when === undefined) return true;
  if (when.model !== undefined && facts.model !== when.model) return false;
  if (when.lastUserTextIncludes !== undefined && !facts.lastUserText.includes(when.lastUserTextIncludes))
    return false;
  const marker = when.anyUserTextIncludes;
  if (marker !== undefined && !facts.userTexts.some((t) => t.includes(marker))) return false;
  const include = when.lastToolResultIncludes;
  if (include !== undefined && !facts.toolResults.some((r) => r.text.includes(include))) return false;
  if (when.toolResultIsError !== undefined) {
    if (facts.toolResults.length === 0) return false;
    if (facts.toolResults.some((r) => r.isError) !== when.toolResultIsError) return false;
  }
  return true;
}
