import type { SupervisorEvent } from "../../../schemas/events.ts";
import { LoomError } from "../../shared/errors.ts";
import { checkBearer } from "../../shared/http/bearer.ts";
import type { HttpLimits } from "../../shared/http/limits.ts";
import { isLoopback, startHttpServer } from "../../shared/http/serve.ts";
import type { SseHub } from "../../shared/http/sse.ts";
import type { SupervisorApi } from "../api.ts";
import { toHttpError } from "./error-status.ts";
import { supervisorRoutes } from "./routes.ts";

export interface SupervisorServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** When set, POST routes need `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
  readonly api: SupervisorApi;
  /** LOOM_PROMOTE: manual puts Promote / Roll back buttons on the pages (default auto). */
  readonly promoteMode?: "auto" | "manual";
  readonly hub: SseHub<SupervisorEvent>;
  /** Header and body timeouts; default the LOOM_HTTP_* variables of the environment. */
  readonly limits?: Partial<HttpLimits>;
  readonly log?: (line: string) => void;
}

export interface SupervisorServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export { isLoopback };

/** The refusal `loom supervisor` and startSupervisor share: anyone who can reach it could spawn Labs. */
export function assertBindAllowed(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new LoomError(
      "UNSAFE_BIND",
      `refusing to listen on ${host} without LOOM_SUPERVISOR_TOKEN: set a token, or bind 127.0.0.1 (the default)`,
    );
  }
}

/** The Supervisor's HTTP server (node:http, one small router); refuses a non-loopback bind without a token. */
export async function startSupervisorServer(options: SupervisorServerOptions): Promise<SupervisorServer> {
  assertBindAllowed(options.host, options.token);
  const { token } = options;
  const server = await startHttpServer({
    name: "the Supervisor",
    host: options.host,
    port: options.port,
    routes: supervisorRoutes(options.api, options.hub, {
      promoteMode: options.promoteMode ?? "auto",
      tokenRequired: Boolean(token),
    }),
    authorize: (req, route) => {
      if (route.guarded && token) checkBearer(req, token);
    },
    toHttpError,
    portHint: "pick another --port (LOOM_SUPERVISOR_PORT) or stop what uses it",
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    url: server.url,
    port: server.port,
    close: async () => {
      options.hub.close();
      await server.close();
    },
  };
}
