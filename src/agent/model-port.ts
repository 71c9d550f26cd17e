import type { Usage } from "../shared/events.ts";

/*
 * Loom's own message types. The loop, Prime and the chat log speak these; only model-client.ts knows
 * the SDK's types and converts at the boundary, so an SDK upgrade or another provider touches one file.
 * Field names follow the Messages API's wire form (tool_use_id, is_error) because chat logs store
 * these messages as JSON and must stay readable.
 */

export interface TextBlock {
  readonly type: "text";
  readonly text: string;
}

export interface ToolUseBlock {
  readonly type: "tool_use";
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}

/** Extended-thinking blocks are passed back unchanged (the API checks their signature). */
export interface ThinkingBlock {
  readonly type: "thinking";
  readonly thinking: string;
  readonly signature: string;
}

export interface RedactedThinkingBlock {
  readonly type: "redacted_thinking";
  readonly data: string;
}

export interface ToolResultBlock {
  readonly type: "tool_result";
  readonly tool_use_id: string;
  readonly content: string | TextBlock[];
  readonly is_error?: boolean;
}

/** A block of a model reply. */
export type ContentBlock = TextBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock;

/** A block of a message in the conversation: a reply's blocks plus the tool results a user turn carries. */
export type MessageBlock = ContentBlock | ToolResultBlock;

/** One message of a conversation, in Loom's terms. */
export interface MessageParam {
  readonly role: "user" | "assistant";
  readonly content: string | MessageBlock[];
}

/** A tool as the model sees it: name, description and the JSON Schema of its input. */
export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  readonly input_schema: { readonly type: "object"; readonly [key: string]: unknown };
}

export type ToolChoice =
  | { readonly type: "auto" }
  | { readonly type: "any" }
  | { readonly type: "none" }
  | { readonly type: "tool"; readonly name: string };

/** Why the model stopped; `max_tokens` means the reply was cut (a last tool call may be incomplete). */
export type ModelStopReason = "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | (string & {});

/** One request to the model, as the agent loop sees it (the client adds model, caching, retries). */
export interface ModelRequest {
  readonly system: string;
  readonly messages: readonly MessageParam[];
  readonly tools: readonly ToolDefinition[];
  readonly maxTokens?: number;
  /** Forces a tool (`{type: "tool", name}`) when the answer must come as structured input. */
  readonly toolChoice?: ToolChoice;
}

export interface ModelResponse {
  readonly content: readonly ContentBlock[];
  readonly stopReason: ModelStopReason | null;
  readonly usage: Usage;
  readonly model: string;
}

/** The model port the loop is given; the real one wraps the model SDK, tests point it at the scripted server. */
export interface ModelPort {
  readonly model: string;
  call(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse>;
}
