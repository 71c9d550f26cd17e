import type { IncomingMessage } from "node:http";
import { checkBearer } from "../../shared/http/bearer.ts";
import { HttpError } from "../../shared/http/http-error.ts";
import type { HttpLimits } from "../../shared/http/limits.ts";
import type { Route } from "../../shared/http/router.ts";
import { isLoopback, startHttpServer } from "../../shared/http/serve.ts";
import { type PrimeRoutesInput, primeRoutes } from "./routes.ts";

export interface PrimeServerOptions extends PrimeRoutesInput {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** LOOM_SUPERVISOR_TOKEN: off loopback, POST /chat needs it as a bearer token. */
  readonly token: string | undefined;
  /** Header and body timeouts; default the LOOM_HTTP_* variables of the environment. */
  readonly limits?: Partial<HttpLimits>;
  readonly log?: (line: string) => void;
}

export interface PrimeServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Who may chat. On loopback anyone local may. Off loopback (in a container on a network Labs may
 * share) only a bearer of LOOM_SUPERVISOR_TOKEN: without one set, POST /chat is refused (403) while
 * the rest serves, so the Supervisor's health check and a resumed autonomous run still work.
 */
export function primeAuthorizer(
  host: string,
  token: string | undefined,
): (req: IncomingMessage, route: Route) => void {
  if (isLoopback(host)) return () => {};
  return (req, route) => {
    if (!route.guarded) return;
    if (!token) {
      throw new HttpError(
        403,
        "CHAT_NEEDS_TOKEN",
        `Prime listens on ${host}, where other containers may reach it, so chatting needs a token: set LOOM_SUPERVISOR_TOKEN for the Supervisor (it passes it to Prime) and send it as Authorization: Bearer <token>`,
      );
    }
    checkBearer(req, token);
  };
}

/** Said at start when Prime's chat is closed for want of a token. */
export function chatClosedWarning(host: string, token: string | undefined): string | undefined {
  return !isLoopback(host) && !token
    ? `prime: listening on ${host} without LOOM_SUPERVISOR_TOKEN: POST /chat is refused (403) until a token is set; the other routes serve`
    : undefined;
}

/** Prime's HTTP server on the shared building blocks: chat page, /chat, /logs, /stats, /health. */
export async function startPrimeServer(options: PrimeServerOptions): Promise<PrimeServer> {
  const server = await startHttpServer({
    name: "Prime",
    host: options.host,
    port: options.port,
    routes: primeRoutes(options),
    authorize: primeAuthorizer(options.host, options.token),
    portHint: "pick another --port (LOOM_PRIME_PORT) or stop what uses it",
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    url: server.url,
    port: server.port,
    close: async () => {
      options.session.abort();
      options.hub.close();
      await server.close();
    },
  };
}
