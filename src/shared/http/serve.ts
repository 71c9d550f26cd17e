import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ErrorBody } from "../../../schemas/supervisor.ts";
import { errorMessage, LoomError } from "../errors.ts";
import { requireJsonBody } from "./content-type.ts";
import { HttpError } from "./http-error.ts";
import { type HttpLimits, httpLimitsFromEnv } from "./limits.ts";
import { answerClientError, answerRefusal, type ErrorBodyOf, parserRefusal } from "./refuse.ts";
import { type Route, requestPath, resolve } from "./router.ts";
import { checkSameOrigin, type ServedAddress } from "./same-origin.ts";

export interface HttpServerOptions {
  /** Who is listening, for messages: "the Supervisor", "Prime". */
  readonly name: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly routes: readonly Route[];
  /** Runs before the handler (e.g. a bearer token check); throws an HttpError to refuse. */
  readonly authorize?: (req: IncomingMessage, route: Route) => void;
  /** Maps a handler's failure to an answer; only the message travels, never a stack. */
  readonly toHttpError?: (err: unknown) => HttpError;
  /** The JSON body of every refusal; default the ErrorBody shape `{ error: { code, message } }`. */
  readonly errorBody?: ErrorBodyOf;
  /** Timeouts and caps; default the LOOM_HTTP_* variables (httpLimitsFromEnv). */
  readonly limits?: Partial<HttpLimits>;
  /** Said when the port is taken, e.g. "pick another --port (LOOM_PRIME_PORT) or stop what uses it". */
  readonly portHint?: string;
  readonly log?: (line: string) => void;
}

export interface RunningHttpServer {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function defaultToHttpError(name: string): (err: unknown) => HttpError {
  return (err) => {
    if (err instanceof HttpError) return err;
    const code = err instanceof LoomError && /^[A-Z][A-Z0-9_]*$/.test(err.code) ? err.code : "INTERNAL";
    return new HttpError(500, code, `${name} failed: ${errorMessage(err)}`);
  };
}

const errorBodyOf: ErrorBodyOf = (err): ErrorBody => ({ error: { code: err.code, message: err.message } });

/**
 * A node:http server over one route table. Every request passes, in order: the same-origin rules
 * (403, `checkSameOrigin`), the router (404/405), `authorize` (401/403), and on POST a JSON content
 * type (415); then the handler. Failures are answered as JSON (`errorBody`), a body still arriving is
 * drained before the connection closes, slow headers and bodies are cut off at the limits.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const toHttpError = options.toHttpError ?? defaultToHttpError(options.name);
  const bodyOf = options.errorBody ?? errorBodyOf;
  const limits: HttpLimits = { ...httpLimitsFromEnv(), ...options.limits };
  let served: ServedAddress | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      checkSameOrigin(req, served as ServedAddress, options.name);
      const pathname = requestPath(req.url);
      const { route, params } = resolve(options.routes, req.method ?? "GET", pathname);
      options.authorize?.(req, route);
      if (route.method === "POST") requireJsonBody(req);
      await route.handle(req, res, params);
    } catch (err) {
      const httpErr = toHttpError(err);
      if (httpErr.status >= 500)
        options.log?.(`${options.name}: ${req.method} ${req.url}: ${httpErr.message}`);
      answerRefusal(req, res, httpErr, bodyOf, limits.drainBytes);
    }
  };
  const requestTimeout = Math.max(limits.bodyTimeoutMs, limits.headersTimeoutMs);
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout,
      // Node looks for overdue requests only this often (30 s by default), so the limits hold to within it.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4))),
      // A missing Host is answered by the same-origin check, in the server's own error shape.
      requireHostHeader: false,
    },
    (req, res) => void handle(req, res),
  );
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    answerClientError(
      socket,
      parserRefusal(err, {
        timeout: `headers are due within ${limits.headersTimeoutMs} ms (LOOM_HTTP_HEADERS_TIMEOUT_MS), the whole request within ${limits.bodyTimeoutMs} ms (LOOM_HTTP_BODY_TIMEOUT_MS)`,
        expected: "a request line, headers and a body matching its Content-Length or chunked encoding",
      }),
      bodyOf,
    );
  });
  // Without these listeners node drops a CONNECT or Upgrade request's socket without a word.
  const noTunnel = (req: IncomingMessage, socket: Socket) =>
    answerClientError(
      socket,
      new HttpError(
        405,
        "METHOD_NOT_ALLOWED",
        `${req.method === "CONNECT" ? "CONNECT" : `Upgrade: ${req.headers.upgrade}`} is not supported; ${options.name} answers plain HTTP requests`,
      ),
      bodyOf,
    );
  server.on("connect", noTunnel);
  server.on("upgrade", noTunnel);
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    const err = new HttpError(
      417,
      "EXPECTATION_FAILED",
      `Expect: ${req.headers.expect} is not supported; send no Expect header, or Expect: 100-continue`,
    );
    answerRefusal(req, res, err, bodyOf, limits.drainBytes);
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      fail(
        new LoomError(
          "LISTEN_FAILED",
          `${options.name} cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}; ${options.portHint ?? "pick another port or stop what uses it"}`,
        ),
      ),
    );
    server.listen(options.port, options.host, () => {
      server.removeAllListeners("error");
      ok();
    });
  });
  const address = server.address() as AddressInfo;
  served = { bindHost: options.host, address: address.address, port: address.port };
  const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
