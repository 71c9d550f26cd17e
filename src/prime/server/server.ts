import { LoomError } from "../../shared/errors.ts";
import { checkBearer } from "../../shared/http/bearer.ts";
import { isLoopback, startHttpServer } from "../../shared/http/serve.ts";
import { type PrimeRoutesInput, primeRoutes } from "./routes.ts";

export interface PrimeServerOptions extends PrimeRoutesInput {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** LOOM_SUPERVISOR_TOKEN: required off loopback, then POST /chat needs it as a bearer token. */
  readonly token: string | undefined;
  readonly log?: (line: string) => void;
}

export interface PrimeServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Anyone who can reach Prime's chat can spawn and promote generations. */
export function assertPrimeBindAllowed(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new LoomError(
      "UNSAFE_BIND",
      `refusing to listen on ${host} without LOOM_SUPERVISOR_TOKEN: set a token, or bind 127.0.0.1 (the default)`,
    );
  }
}

/** Prime's HTTP server on the shared building blocks: chat page, /chat, /logs, /stats, /health. */
export async function startPrimeServer(options: PrimeServerOptions): Promise<PrimeServer> {
  assertPrimeBindAllowed(options.host, options.token);
  // On loopback the chat page works without a token; off loopback only a bearer may chat.
  const token = isLoopback(options.host) ? undefined : options.token;
  const server = await startHttpServer({
    name: "Prime",
    host: options.host,
    port: options.port,
    routes: primeRoutes(options),
    authorize: (req, route) => {
      if (route.guarded && token) checkBearer(req, token);
    },
    portHint: "pick another --port (LOOM_PRIME_PORT) or stop what uses it",
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
