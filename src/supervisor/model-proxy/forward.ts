import type { IncomingMessage, ServerResponse } from "node:http";
import { sendProxyError } from "./api-error.ts";
import { type MeteredUsage, UsageMeter } from "./usage-meter.ts";

/** Request headers the API needs from the client; the key, cookies and hop-by-hop headers never pass. */
const FORWARDED_REQUEST_HEADER =
  /^(anthropic-|x-stainless-)|^(content-type|accept|user-agent|idempotency-key)$/;
/** Response headers the client's retries and logs read; length and encoding change on the way. */
const DROPPED_RESPONSE_HEADERS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
  "upgrade",
  "set-cookie",
  "proxy-authenticate",
  "trailer",
]);

export interface ForwardInput {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly body: Buffer;
  /** The full upstream URL (base + path + query). */
  readonly url: string;
  readonly apiKey: string;
  readonly fetch: typeof globalThis.fetch;
  /** Aborted when the client goes away, the generation closes, or the upstream timeout passes. */
  readonly signal: AbortSignal;
  readonly timedOut: () => boolean;
  readonly upstreamTimeoutMs: number;
}

export interface ForwardResult {
  readonly status: number | undefined;
  /** What a 200 response reported; undefined for errors and for bodies without usage. */
  readonly metered: MeteredUsage | undefined;
}

/**
 * Sends one request upstream with the real key and streams the answer back unchanged (status,
 * the headers the SDK reads, the body chunk by chunk with backpressure), metering usage on the way.
 */
export async function forward(input: ForwardInput): Promise<ForwardResult> {
  const { req, res, signal } = input;
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || !FORWARDED_REQUEST_HEADER.test(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  headers.set("x-api-key", input.apiKey);
  let upstream: Response;
  try {
    upstream = await input.fetch(input.url, { method: "POST", headers, body: input.body, signal });
  } catch (err) {
    if (input.timedOut()) {
      sendProxyError(
        res,
        504,
        "timeout_error",
        `the model API did not answer within the proxy's ${input.upstreamTimeoutMs} ms`,
      );
    } else if (!signal.aborted) {
      const cause =
        err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      sendProxyError(
        res,
        502,
        "api_error",
        `the model proxy could not reach the model API at ${new URL(input.url).origin}: ${cause}`,
      );
    } else res.destroy();
    return { status: undefined, metered: undefined };
  }
  const out: Record<string, string> = {};
  upstream.headers.forEach((value, name) => {
    if (!DROPPED_RESPONSE_HEADERS.has(name)) out[name] = value;
  });
  res.writeHead(upstream.status, out);
  const meter = upstream.status === 200 ? new UsageMeter(upstream.headers.get("content-type")) : undefined;
  try {
    if (upstream.body) {
      for await (const chunk of upstream.body as AsyncIterable<Uint8Array>) {
        meter?.push(chunk);
        if (!res.write(chunk)) await drained(res, signal);
      }
    }
    res.end();
  } catch {
    // The client left, the generation closed or the upstream broke mid-body: the client sees a cut
    // connection, as it would without the proxy. What was streamed so far is still counted.
    res.destroy();
    return { status: upstream.status, metered: meter?.finish() };
  }
  return { status: upstream.status, metered: meter?.finish() };
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", gone);
      signal.removeEventListener("abort", gone);
      resolve();
    };
    const gone = () => {
      res.off("drain", done);
      res.off("close", gone);
      signal.removeEventListener("abort", gone);
      reject(new Error("the client went away"));
    };
    res.on("drain", done);
    res.on("close", gone);
    signal.addEventListener("abort", gone);
  });
}
