import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { LoomError } from "../errors.ts";
import { checkRequest, type MessagesRequest, matches, requestFacts } from "./request.ts";
import { sendApiError, sendJson, sendTruncatedJson } from "./respond.ts";
import {
  type FaultTurn,
  isFault,
  parseScript,
  type ReplyTurn,
  replyBlocks,
  type Script,
  type ScriptTurnInput,
} from "./script.ts";
import { sendStream } from "./stream.ts";
import { CacheSimulator } from "./usage.ts";

/** One request as the server received it; `body` is undefined when it was not JSON. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  readonly at: number;
}

export interface ScriptedModelOptions {
  /** 0 (the default) picks a free port. The server only ever binds 127.0.0.1. */
  readonly port?: number;
  /** Bodies larger than this get 413 request_too_large (default 32 MB, as the real API). */
  readonly maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * A stand-in for the Anthropic Messages API that plays a script: replies and injected faults,
 * in order or picked by `when`. Used by `loom demo` and by every test that needs a model.
 */
export class ScriptedModelServer {
  /** Every request received, in order (including rejected ones). */
  readonly requests: RecordedRequest[] = [];
  readonly script: Script;
  readonly #played: boolean[];
  readonly #server: Server;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #cache = new CacheSimulator();
  readonly #port: number;
  readonly #maxBodyBytes: number;
  #requestCount = 0;
  #toolCount = 0;

  /** The script is validated here too: a bad one throws SCRIPT_INVALID naming each problem. */
  constructor(script: readonly ScriptTurnInput[], options: ScriptedModelOptions = {}) {
    const parsed = parseScript(script);
    if (!parsed.ok) {
      throw new LoomError("SCRIPT_INVALID", `invalid model script: ${parsed.problems.join("; ")}`);
    }
    this.script = parsed.script;
    this.#played = parsed.script.map(() => false);
    this.#port = options.port ?? 0;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Base URL to give the SDK (`baseURL`). Only valid after start(). */
  get url(): string {
    const address = this.#server.address() as AddressInfo | null;
    if (address === null)
      throw new LoomError("SCRIPTED_MODEL_NOT_STARTED", "scripted model: call start() before url");
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#port, "127.0.0.1", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    return this;
  }

  /** Stops listening, drops open connections and pending slow replies. Safe to call twice. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  /** How many turns have not been played yet. */
  remaining(): number {
    return this.#played.filter((p) => !p).length;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const requestId = `req_scripted_${String(++this.#requestCount).padStart(4, "0")}`;
    res.setHeader("request-id", requestId);
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const method = req.method ?? "GET";
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is drained, not buffered.
      if (size <= this.#maxBodyBytes) chunks.push(chunk);
    });
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = raw.length > 0 ? JSON.parse(raw) : undefined;
      } catch {
        body = undefined;
      }
      this.requests.push({ method, path, headers: req.headers, body, at: Date.now() });
      try {
        this.#route(res, method, path, size > this.#maxBodyBytes, raw, body);
      } catch (error) {
        // A bug here must fail the one request loudly, not crash the process hosting the server.
        if (!res.headersSent)
          sendApiError(res, 500, "api_error", `scripted model internal error: ${String(error)}`);
        else res.destroy();
      }
    });
  }

  #route(
    res: ServerResponse,
    method: string,
    path: string,
    tooLarge: boolean,
    raw: string,
    body: unknown,
  ): void {
    if (tooLarge) {
      sendApiError(
        res,
        413,
        "request_too_large",
        `Request exceeds the maximum allowed size of ${this.#maxBodyBytes} bytes.`,
      );
    } else if (method === "POST" && path === "/v1/messages") {
      this.#messages(res, raw, body);
    } else if (method === "GET" && path === "/v1/models") {
      sendJson(res, 200, modelList());
    } else {
      const served = "the scripted server serves POST /v1/messages and GET /v1/models";
      sendApiError(res, 404, "not_found_error", `Not found: ${method} ${path} (${served})`);
    }
  }

  #messages(res: ServerResponse, raw: string, body: unknown): void {
    if (body === undefined) {
      const what = raw.length === 0 ? "the request body is empty" : "the request body is not valid JSON";
      sendApiError(res, 400, "invalid_request_error", `${what}; send a JSON Messages API request`);
      return;
    }
    const check = checkRequest(body);
    if (!check.ok) {
      sendApiError(res, 400, "invalid_request_error", check.message);
      return;
    }
    const request = check.request;
    const facts = requestFacts(request);
    const index = this.script.findIndex((turn, i) => !this.#played[i] && matches(turn.when, facts));
    if (index < 0) {
      const left = this.remaining();
      const message =
        left === 0
          ? `scripted model: script exhausted after ${this.script.length} turns`
          : `scripted model: none of the ${left} unplayed turns matches this request (model ${facts.model}, last user text: ` +
            `${JSON.stringify(facts.lastUserText.slice(0, 200))}, tool results: ${facts.toolResults.length})`;
      sendApiError(res, 500, "api_error", message);
      return;
    }
    this.#played[index] = true;
    const turn = this.script[index]!;
    if (isFault(turn)) {
      this.#fault(res, request, turn);
      return;
    }
    const reply = turn as ReplyTurn;
    const send = () =>
      request.stream === true
        ? sendStream(res, this.#reply(request, reply))
        : sendJson(res, 200, this.#reply(request, reply));
    if (reply.thinkMs === undefined) send();
    else this.#later(res, reply.thinkMs, send);
  }

  /** Runs `send` after `ms`, unless the client has gone by then. */
  #later(res: ServerResponse, ms: number, send: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!res.destroyed) send();
    }, ms);
    // A client that gives up must not leave a timer holding the process or the server open.
    timer.unref();
    this.#timers.add(timer);
    res.on("close", () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    });
  }

  #fault(res: ServerResponse, request: MessagesRequest, turn: FaultTurn): void {
    switch (turn.fault) {
      case "rate_limit":
        sendApiError(
          res,
          429,
          "rate_limit_error",
          "Number of requests has exceeded your rate limit (scripted).",
          retryAfter(turn.retryAfterMs),
        );
        return;
      case "overloaded":
        sendApiError(res, 529, "overloaded_error", "Overloaded (scripted).", retryAfter(turn.retryAfterMs));
        return;
      case "server_error":
        sendApiError(
          res,
          500,
          "api_error",
          "Internal server error (scripted).",
          retryAfter(turn.retryAfterMs),
        );
        return;
      case "auth":
        sendApiError(res, 401, "authentication_error", "invalid x-api-key (scripted).");
        return;
      case "malformed":
        sendTruncatedJson(res, this.#reply(request, { text: "this reply is cut off half-way" }));
        return;
      case "slow":
        this.#later(res, turn.delayMs, () => sendJson(res, 200, this.#reply(request, { text: turn.text })));
        return;
    }
  }

  #reply(request: MessagesRequest, turn: ReplyTurn) {
    const content = replyBlocks(turn).map((block) =>
      block.type === "text"
        ? { type: "text" as const, text: block.text, citations: null }
        : {
            type: "tool_use" as const,
            id: block.id ?? `toolu_scripted_${String(++this.#toolCount).padStart(4, "0")}`,
            name: block.name,
            input: block.input,
          },
    );
    const asksForTool = content.some((block) => block.type === "tool_use");
    return {
      id: `msg_scripted_${String(this.#requestCount).padStart(4, "0")}`,
      type: "message",
      role: "assistant",
      model: request.model,
      content,
      stop_reason: turn.stop_reason ?? (asksForTool ? "tool_use" : "end_turn"),
      stop_sequence: null,
      usage: this.#cache.usageFor(request, JSON.stringify(content), turn.usage),
    };
  }
}

/** Both headers the API sends: whole seconds (rounded up) and the precise milliseconds. */
function retryAfter(ms: number | undefined): Record<string, string> {
  if (ms === undefined) return {};
  return { "retry-after": String(Math.ceil(ms / 1000)), "retry-after-ms": String(ms) };
}

function modelList() {
  const model = {
    type: "model",
    id: "scripted-model",
    display_name: "Scripted model",
    created_at: "2025-01-01T00:00:00Z",
  };
  return { data: [model], has_more: false, first_id: model.id, last_id: model.id };
}

/** Creates and starts a scripted model server on 127.0.0.1. */
export async function startScriptedModel(
  script: readonly ScriptTurnInput[],
  options?: ScriptedModelOptions,
): Promise<ScriptedModelServer> {
  return new ScriptedModelServer(script, options).start();
}
