import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LoomError } from "../errors.ts";
import { HttpError, sendError } from "./http-error.ts";
import { type Route, resolve } from "./router.ts";

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
    return new HttpError(500, code, `${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  };
}

/** A node:http server over one route table: 404/405 from the router, errors as ErrorBody JSON. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const toHttpError = options.toHttpError ?? defaultToHttpError(options.name);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const pathname = new URL(req.url ?? "/", "http://loom").pathname;
      const { route, params } = resolve(options.routes, req.method ?? "GET", pathname);
      options.authorize?.(req, route);
      await route.handle(req, res, params);
    } catch (err) {
      const httpErr = toHttpError(err);
      if (httpErr.status >= 500)
        options.log?.(`${options.name}: ${req.method} ${req.url}: ${httpErr.message}`);
      if (res.headersSent) res.end();
      else sendError(res, httpErr);
      // Do not read a refused oversized body to its end; the answer is flushed first.
      if (httpErr.status === 413) res.once("finish", () => req.destroy());
    }
  };
  const server = http.createServer((req, res) => void handle(req, res));
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
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
