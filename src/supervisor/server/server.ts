import { createHash, timingSafeEqual } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LoomError } from "../../shared/errors.ts";
import type { SupervisorApi } from "./api.ts";
import { toHttpError } from "./error-status.ts";
import type { EventHub } from "./event-hub.ts";
import { HttpError, sendError } from "./http-io.ts";
import { resolve } from "./router.ts";
import { supervisorRoutes } from "./routes.ts";

export interface SupervisorServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** When set, POST routes need `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
  readonly api: SupervisorApi;
  readonly hub: EventHub;
  readonly log?: (line: string) => void;
}

export interface SupervisorServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The refusal `loom supervisor` and startSupervisor share: anyone who can reach it could spawn Labs. */
export function assertBindAllowed(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new LoomError(
      "UNSAFE_BIND",
      `refusing to listen on ${host} without LOOM_SUPERVISOR_TOKEN: set a token, or bind 127.0.0.1 (the default)`,
    );
  }
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

function checkToken(req: IncomingMessage, token: string): void {
  const header = req.headers.authorization;
  if (!header)
    throw new HttpError(
      401,
      "UNAUTHORIZED",
      "this route needs Authorization: Bearer <LOOM_SUPERVISOR_TOKEN>",
      { "www-authenticate": "Bearer" },
    );
  const m = /^Bearer\s+(.+)$/i.exec(header);
  // Equal-length digests, so the comparison takes the same time whatever was sent.
  if (!m || !timingSafeEqual(digest(m[1] as string), digest(token))) {
    throw new HttpError(
      401,
      "UNAUTHORIZED",
      "the bearer token is wrong; send the value of LOOM_SUPERVISOR_TOKEN",
      { "www-authenticate": "Bearer" },
    );
  }
}

/** The Supervisor's HTTP server (node:http, one small router); refuses a non-loopback bind without a token. */
export async function startSupervisorServer(options: SupervisorServerOptions): Promise<SupervisorServer> {
  assertBindAllowed(options.host, options.token);
  const routes = supervisorRoutes(options.api, options.hub);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const pathname = new URL(req.url ?? "/", "http://supervisor").pathname;
      const { route, params } = resolve(routes, req.method ?? "GET", pathname);
      if (route.guarded && options.token) checkToken(req, options.token);
      await route.handle(req, res, params);
    } catch (err) {
      const httpErr = toHttpError(err);
      if (httpErr.status >= 500) options.log?.(`supervisor: ${req.method} ${req.url}: ${httpErr.message}`);
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
          `the Supervisor cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}; pick another --port (LOOM_SUPERVISOR_PORT) or stop what uses it`,
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
    close: () =>
      new Promise<void>((ok) => {
        options.hub.close();
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
