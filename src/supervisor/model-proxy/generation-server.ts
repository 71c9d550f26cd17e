import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { errorMessage } from "../../shared/errors.ts";
import { answerClientError, parserRefusal } from "../../shared/http/refuse.ts";
import { PROXIED_ROUTES } from "../../shared/model-proxy-protocol.ts";
import { sendBudgetExhausted, sendProxyError } from "./api-error.ts";
import { forward } from "./forward.ts";
import type { MeteredUsage } from "./usage-meter.ts";

export interface GenerationServerOptions {
  readonly generation: number;
  readonly token: string;
  /** The API's base URL, e.g. https://api.anthropic.com (a path prefix is kept). */
  readonly upstream: URL;
  readonly apiKey: string | undefined;
  readonly fetch: typeof globalThis.fetch;
  readonly maxBodyBytes: number;
  readonly upstreamTimeoutMs: number;
  /** How long a client may take to send its headers, and its whole request. */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** When given, the only models a request may name (a Lab cannot switch to a pricier one). */
  readonly models: readonly string[] | undefined;
  /** Null when the request may go upstream; else the tokens used and the budget, to refuse it. */
  readonly overBudget: () => { used: number; budget: number } | null;
  readonly onForwarded: (metered: MeteredUsage | undefined, requestModel: string | undefined) => void;
  readonly log: (line: string) => void;
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/** The token the SDK sends: `x-api-key` (apiKey) or `Authorization: Bearer` (authToken). */
function presentedToken(req: IncomingMessage): string | undefined {
  const key = req.headers["x-api-key"];
  if (typeof key === "string" && key) return key;
  const auth = req.headers.authorization;
  return auth?.startsWith("Bearer ") ? auth.slice(7) : undefined;
}

/**
 * One generation's HTTP server (on its unix socket, optionally also on loopback): checks the token,
 * serves only the Messages routes, bounds the body, enforces the budget, and forwards.
 */
export function createGenerationServer(options: GenerationServerOptions): {
  server: Server;
  abortAll: () => void;
} {
  const expected = digest(options.token);
  const inFlight = new Set<AbortController>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const presented = presentedToken(req);
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      drain(req);
      sendProxyError(
        res,
        401,
        "authentication_error",
        presented === undefined
          ? "no token: send this generation's model-proxy token as the API key (x-api-key)"
          : "the token is not this generation's model-proxy token",
        { headers: { connection: "close" } },
      );
      return;
    }
    // Parsed as a path whatever it holds: `new URL("//x", base)` would read "x" as a host, and "//" throws.
    const requested = req.url ?? "/";
    const url = new URL(`http://proxy${requested.startsWith("/") ? requested : `/${requested}`}`);
    const route = `${req.method ?? "GET"} ${url.pathname}`;
    if (!(PROXIED_ROUTES as readonly string[]).includes(route)) {
      drain(req);
      sendProxyError(
        res,
        404,
        "not_found_error",
        `${route} is not served; the model proxy forwards only ${PROXIED_ROUTES.join(" and ")}`,
      );
      return;
    }
    const body = await readBounded(req, options.maxBodyBytes);
    if (body === "too_large") {
      sendProxyError(
        res,
        413,
        "request_too_large",
        `the request body is over the proxy's limit of ${options.maxBodyBytes} bytes`,
        { headers: { connection: "close" } },
      );
      return;
    }
    if (body === "aborted") return;
    const messages = url.pathname === "/v1/messages";
    const model = modelOf(body);
    if (options.models && model !== undefined && !options.models.includes(model)) {
      sendProxyError(
        res,
        400,
        "invalid_request_error",
        `model: ${model} is not allowed for generation ${options.generation}; use ${options.models.join(" or ")}`,
      );
      return;
    }
    const over = messages ? options.overBudget() : null;
    if (over) {
      options.log(
        `gen-${options.generation}: refused a model request, ${over.used} of ${over.budget} tokens used`,
      );
      sendBudgetExhausted(res, options.generation, over.used, over.budget);
      return;
    }
    if (!options.apiKey) {
      sendProxyError(
        res,
        401,
        "authentication_error",
        "the Supervisor has no API key for Labs: set LOOM_LAB_API_KEY or ANTHROPIC_API_KEY where it runs",
        { headers: { "x-should-retry": "false" } },
      );
      return;
    }
    const controller = new AbortController();
    inFlight.add(controller);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.upstreamTimeoutMs);
    // The client hanging up (its own timeout, an abort) must end the upstream request too.
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.on("close", onClose);
    try {
      const target = new URL(options.upstream.href.replace(/\/+$/, "") + url.pathname + url.search);
      const result = await forward({
        req,
        res,
        body,
        url: target.href,
        apiKey: options.apiKey,
        fetch: options.fetch,
        signal: controller.signal,
        timedOut: () => timedOut,
        upstreamTimeoutMs: options.upstreamTimeoutMs,
      });
      if (messages && result.status !== undefined) options.onForwarded(result.metered, model);
    } finally {
      clearTimeout(timer);
      res.off("close", onClose);
      inFlight.delete(controller);
    }
  }

  // Slow or stalled clients are closed instead of held open (Node answers 408 itself); the check
  // runs every second rather than Node's default 30 s.
  const limits = {
    headersTimeout: options.headersTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs),
  };
  const server = createServer(limits, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log(`gen-${options.generation}: model proxy error: ${errorMessage(err)}`);
      sendProxyError(res, 500, "api_error", "the model proxy failed on this request");
    });
  });
  // What Node's parser refuses (an unknown method, a malformed request, slow headers) is answered in the
  // API's error shape too, instead of a bare status line the Lab's SDK cannot explain.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    const refusal = parserRefusal(err, {
      timeout: `headers within ${options.headersTimeoutMs} ms, the whole request within ${options.requestTimeoutMs} ms`,
      expected: "POST /v1/messages with a JSON body",
    });
    answerClientError(socket, refusal, (e) => ({
      type: "error",
      error: { type: e.status === 408 ? "timeout_error" : "invalid_request_error", message: e.message },
    }));
  });
  return {
    server,
    abortAll: () => {
      for (const c of inFlight) c.abort();
    },
  };
}

function drain(req: IncomingMessage): void {
  req.resume();
}

/** The body, or "too_large" once it passes the limit (the rest is read and dropped, so 413 is answered, not a reset). */
function readBounded(req: IncomingMessage, max: number): Promise<Buffer | "too_large" | "aborted"> {
  return new Promise((resolve) => {
    const declared = Number(req.headers["content-length"]);
    let size = 0;
    const chunks: Buffer[] = [];
    let over = Number.isFinite(declared) && declared > max;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) over = true;
      if (!over) chunks.push(chunk);
      // Far past the limit nothing more is read: the connection is cut.
      if (size > max * 2 + 1024 * 1024) req.destroy();
    });
    req.on("end", () => resolve(over ? "too_large" : Buffer.concat(chunks)));
    req.on("error", () => resolve("aborted"));
    req.on("close", () => {
      if (!req.complete) resolve("aborted");
    });
  });
}

function modelOf(body: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    const model = (parsed as { model?: unknown } | null)?.model;
    return typeof model === "string" ? model : undefined;
  } catch {
    return undefined;
  }
}
