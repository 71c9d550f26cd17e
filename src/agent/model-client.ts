import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
import { z } from "zod";
import { ConfigError, LoomError } from "../shared/errors.ts";
import { addUsage, type Usage, zeroUsage } from "../shared/events.ts";
import { TOKEN_BUDGET_ERROR_CODE } from "../shared/model-proxy-protocol.ts";
import { formatIssues } from "../shared/zod-issues.ts";
import type {
  ContentBlock,
  MessageBlock,
  MessageParam,
  ModelPort,
  ModelRequest,
  ModelResponse,
} from "./model-port.ts";

/** Stable codes for everything that can go wrong talking to the model. */
export type ModelErrorCode =
  | "MODEL_RATE_LIMITED"
  | "MODEL_OVERLOADED"
  | "MODEL_SERVER_ERROR"
  | "MODEL_TIMEOUT"
  | "MODEL_UNREACHABLE"
  | "MODEL_BAD_RESPONSE"
  | "MODEL_AUTH"
  | "MODEL_BAD_REQUEST"
  | "MODEL_ABORTED"
  | "MODEL_BUDGET_EXHAUSTED";

/** A failed model call, after the client's own retries were used up. */
export class ModelError extends LoomError {
  declare readonly code: ModelErrorCode;
  /** HTTP status, when the API answered. */
  readonly status: number | undefined;
  /** The API's request-id, for support tickets and logs. */
  readonly requestId: string | undefined;
  constructor(
    code: ModelErrorCode,
    message: string,
    extra: { status?: number; requestId?: string | null; cause?: unknown } = {},
  ) {
    super(code, message, { cause: extra.cause });
    this.status = extra.status;
    this.requestId = extra.requestId ?? undefined;
  }
}

const ModelClientConfig = z.object({
  apiKey: z.string().min(1, "an API key is required (e.g. from ANTHROPIC_API_KEY)"),
  baseURL: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
  model: z.string().min(1, "a model name is required"),
  timeoutMs: z.number().int().positive(),
  maxRetries: z.number().int().min(0).max(10),
  maxTokens: z.number().int().positive().optional(),
});

export interface ModelClientOptions extends z.input<typeof ModelClientConfig> {
  /** A fetch implementation for the SDK (proxies, instrumentation); the global fetch otherwise. */
  readonly fetch?: typeof globalThis.fetch;
}

export interface ModelClient extends ModelPort {
  /** Tokens used by all successful calls so far. */
  readonly usage: Usage;
  /** Number of successful calls (SDK retries inside one call are not counted). */
  readonly calls: number;
}

const DEFAULT_MAX_TOKENS = 8192;
const EPHEMERAL = { type: "ephemeral" } as const;

/**
 * The real ModelPort over @anthropic-ai/sdk: bounded retries with backoff (the SDK honours
 * retry-after / retry-after-ms), a per-request timeout, abort, usage accounting and prompt caching.
 */
export function createModelClient(options: ModelClientOptions): ModelClient {
  const parsed = ModelClientConfig.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(`model client option ${formatIssues(parsed.error, { root: "(options)" })}`);
  }
  const config = parsed.data;
  const sdk = new Anthropic({
    apiKey: config.apiKey,
    baseURL: config.baseURL,
    timeout: config.timeoutMs,
    maxRetries: config.maxRetries,
    fetch: options.fetch,
  });
  let usage = zeroUsage();
  let calls = 0;

  async function call(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse> {
    if (signal?.aborted) throw aborted();
    let message: unknown;
    try {
      message = await sdk.messages.create(
        toParams(request, config.model, config.maxTokens ?? DEFAULT_MAX_TOKENS),
        {
          signal,
        },
      );
    } catch (error) {
      throw toModelError(error, signal, config.timeoutMs, config.maxRetries, sdk.baseURL);
    }
    const response = toResponse(message);
    usage = addUsage(usage, response.usage);
    calls++;
    return response;
  }

  return {
    model: config.model,
    call,
    get usage() {
      return usage;
    },
    get calls() {
      return calls;
    },
  };
}

/**
 * Three cache breakpoints: the last tool and the system block (tools + system form one cached prefix),
 * and the last block of the last message, so each call of a tool loop reads the conversation so far
 * from the cache and writes only the new turn.
 */
function toParams(
  request: ModelRequest,
  model: string,
  maxTokens: number,
): Anthropic.MessageCreateParamsNonStreaming {
  const tools: Anthropic.Tool[] = request.tools.map((tool, i) => ({
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    input_schema: tool.input_schema as Anthropic.Tool.InputSchema,
    ...(i === request.tools.length - 1 ? { cache_control: EPHEMERAL } : {}),
  }));
  return {
    model,
    max_tokens: request.maxTokens ?? maxTokens,
    messages: withConversationBreakpoint(request.messages.map(toSdkMessage)),
    // The API rejects empty text blocks, so an empty system prompt is left out.
    ...(request.system ? { system: [{ type: "text", text: request.system, cache_control: EPHEMERAL }] } : {}),
    ...(tools.length > 0 ? { tools } : {}),
    ...(request.toolChoice ? { tool_choice: request.toolChoice } : {}),
  };
}

/** Loom's message → the SDK's: the one place the provider's message shape is written. */
function toSdkMessage(message: MessageParam): Anthropic.MessageParam {
  if (typeof message.content === "string") return { role: message.role, content: message.content };
  return { role: message.role, content: message.content.map(toSdkBlock) };
}

function toSdkBlock(block: MessageBlock): Anthropic.ContentBlockParam {
  switch (block.type) {
    case "text":
      return { type: "text", text: block.text };
    case "tool_use":
      return { type: "tool_use", id: block.id, name: block.name, input: block.input };
    case "tool_result":
      return {
        type: "tool_result",
        tool_use_id: block.tool_use_id,
        content:
          typeof block.content === "string"
            ? block.content
            : block.content.map((b) => ({ type: "text" as const, text: b.text })),
        ...(block.is_error ? { is_error: true } : {}),
      };
    case "thinking":
      return { type: "thinking", thinking: block.thinking, signature: block.signature };
    case "redacted_thinking":
      return { type: "redacted_thinking", data: block.data };
  }
}

function withConversationBreakpoint(messages: Anthropic.MessageParam[]): Anthropic.MessageParam[] {
  const out = [...messages];
  const last = out.at(-1);
  if (!last) return out;
  const blocks: Anthropic.ContentBlockParam[] =
    typeof last.content === "string" ? [{ type: "text", text: last.content }] : [...last.content];
  const tail = blocks.at(-1);
  // Thinking blocks cannot carry cache_control; an empty text block is rejected by the API anyway.
  if (!tail || tail.type === "thinking" || tail.type === "redacted_thinking") return out;
  blocks[blocks.length - 1] = { ...tail, cache_control: EPHEMERAL } as Anthropic.ContentBlockParam;
  out[out.length - 1] = { ...last, content: blocks } as Anthropic.MessageParam;
  return out;
}

/** The reply blocks Loom understands; others (server tools Loom never offers) are dropped. */
const ApiBlock = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text"), text: z.string() }),
  z.looseObject({ type: z.literal("tool_use"), id: z.string(), name: z.string(), input: z.unknown() }),
  z.looseObject({ type: z.literal("thinking"), thinking: z.string(), signature: z.string() }),
  z.looseObject({ type: z.literal("redacted_thinking"), data: z.string() }),
]);

function toBlock(raw: { type: string }): ContentBlock[] {
  const parsed = ApiBlock.safeParse(raw);
  if (!parsed.success) return [];
  const b = parsed.data;
  switch (b.type) {
    case "text":
      return [{ type: "text", text: b.text }];
    case "tool_use":
      return [{ type: "tool_use", id: b.id, name: b.name, input: b.input }];
    case "thinking":
      return [{ type: "thinking", thinking: b.thinking, signature: b.signature }];
    case "redacted_thinking":
      return [{ type: "redacted_thinking", data: b.data }];
  }
}

const ApiMessage = z.looseObject({
  content: z.array(z.looseObject({ type: z.string() })),
  stop_reason: z.string().nullable(),
  model: z.string(),
  usage: z.looseObject({
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    cache_creation_input_tokens: z.number().int().nonnegative().nullish(),
    cache_read_input_tokens: z.number().int().nonnegative().nullish(),
  }),
});

function toResponse(message: unknown): ModelResponse {
  const parsed = ApiMessage.safeParse(message);
  if (!parsed.success) {
    throw new ModelError(
      "MODEL_BAD_RESPONSE",
      `the model API answered 200 but not with a Messages response (${formatIssues(parsed.error, { root: "(body)", limit: 3 })}); ` +
        "check baseURL points at the Messages API",
    );
  }
  const { content, stop_reason, model, usage } = parsed.data;
  return {
    content: content.flatMap(toBlock),
    stopReason: stop_reason,
    model,
    usage: {
      input: usage.input_tokens,
      output: usage.output_tokens,
      cacheRead: usage.cache_read_input_tokens ?? 0,
      cacheWrite: usage.cache_creation_input_tokens ?? 0,
    },
  };
}

/**
 * The system error under the SDK's "Connection error." (fetch wraps it as "fetch failed"): its code
 * (ECONNREFUSED, ENOTFOUND, …) and its message, which names the address that refused.
 */
function connectionCause(error: Error): string {
  let code: string | undefined;
  let message = error.message;
  let current: unknown = error.cause;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    const own = (current as { code?: unknown }).code;
    if (typeof own === "string" && code === undefined) code = own;
    if (current.message) message = current.message;
    const inner: unknown =
      current instanceof AggregateError && current.errors.length > 0 ? current.errors[0] : current.cause;
    current = inner;
  }
  if (code === undefined) return message;
  return message.includes(code) ? message : `${code}: ${message}`;
}

const aborted = (cause?: unknown) =>
  new ModelError("MODEL_ABORTED", "the model request was aborted because the run was cancelled", { cause });

/** Maps an SDK failure to a ModelError; anything unrecognised (a bug) is returned unchanged. */
function toModelError(
  error: unknown,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  maxRetries: number,
  baseURL: string,
): unknown {
  if (error instanceof ModelError) return error;
  if (signal?.aborted || error instanceof APIUserAbortError) return aborted(error);
  const tries = `${maxRetries + 1} attempt${maxRetries === 0 ? "" : "s"}`;
  if (error instanceof APIConnectionTimeoutError) {
    return new ModelError(
      "MODEL_TIMEOUT",
      `the model API did not answer within ${timeoutMs} ms (${tries}); raise the timeout or try again later`,
      { cause: error },
    );
  }
  if (error instanceof APIConnectionError) {
    return new ModelError(
      "MODEL_UNREACHABLE",
      `cannot reach the model API at ${baseURL} (${connectionCause(error)}; ${tries}); ` +
        "check that it runs there, the network, and the base URL",
      { cause: error },
    );
  }
  if (error instanceof APIError) {
    const extra = { status: error.status, requestId: error.requestID, cause: error };
    const detail = `${error.status} ${error.type ?? "error"}: ${error.apiMessage ?? error.message}`;
    // The Supervisor's model proxy refuses a generation past its budget; not retried (x-should-retry: false).
    if (error.errorCode === TOKEN_BUDGET_ERROR_CODE) {
      return new ModelError(
        "MODEL_BUDGET_EXHAUSTED",
        `the generation's token budget is spent (${detail}); the run ends here`,
        extra,
      );
    }
    if (error.status === 429) {
      const wait = error.headers?.get("retry-after");
      const hint = wait ? `the API asks to wait ${wait} s` : "wait";
      return new ModelError(
        "MODEL_RATE_LIMITED",
        `rate limited after ${tries} (${detail}); ${hint} and retry, or lower the request rate`,
        extra,
      );
    }
    if (error.status === 529 || error.type === "overloaded_error") {
      return new ModelError(
        "MODEL_OVERLOADED",
        `the model API is overloaded after ${tries} (${detail}); retry later`,
        extra,
      );
    }
    if (error.status === 401 || error.status === 403) {
      return new ModelError(
        "MODEL_AUTH",
        `the model API refused the credentials (${detail}); check the API key`,
        extra,
      );
    }
    if (error.status === 408) {
      return new ModelError(
        "MODEL_TIMEOUT",
        `the model API timed out the request after ${tries} (${detail}); try again later`,
        extra,
      );
    }
    if (error.status !== undefined && error.status >= 500) {
      return new ModelError(
        "MODEL_SERVER_ERROR",
        `the model API failed after ${tries} (${detail}); retry later`,
        extra,
      );
    }
    return new ModelError(
      "MODEL_BAD_REQUEST",
      `the model API rejected the request (${detail}); check the model name, else the request Loom built is at fault`,
      extra,
    );
  }
  if (error instanceof SyntaxError) {
    return new ModelError(
      "MODEL_BAD_RESPONSE",
      `the model API sent a body that is not valid JSON (${error.message}); retry, and check baseURL if it persists`,
      { cause: error },
    );
  }
  return error;
}
