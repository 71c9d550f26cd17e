import type Anthropic from "@anthropic-ai/sdk";
import type { Usage } from "../shared/events.ts";

export type MessageParam = Anthropic.Messages.MessageParam;
export type ContentBlock = Anthropic.Messages.ContentBlock;
export type ToolDefinition = Anthropic.Messages.Tool;
export type ToolChoice = Anthropic.Messages.ToolChoice;

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
  readonly stopReason: string | null;
  readonly usage: Usage;
  readonly model: string;
}

/** The model port the loop is given; the real one wraps @anthropic-ai/sdk, tests point it at the scripted server. */
export interface ModelPort {
  readonly model: string;
  call(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse>;
}
