import type { IncomingMessage } from "node:http";
import { EvalRequest, type EvalResponse, LabStatus } from "../schemas/index.ts";
import { ConfigError } from "../src/shared/errors.ts";
import { checkBearer } from "../src/shared/http/bearer.ts";
import { readBody } from "../src/shared/http/body.ts";
import { HttpError, sendJson } from "../src/shared/http/http-error.ts";
import type { HttpLimits } from "../src/shared/http/limits.ts";
import type { Route } from "../src/shared/http/router.ts";
import { startHttpServer } from "../src/shared/http/serve.ts";
import { formatIssues } from "../src/shared/zod-issues.ts";
import { EvalEngine, type EvalEngineOptions } from "./eval/engine.ts";

export const DEFAULT_LAB_PORT = 8402;
/** How long after listening `quiet` waits for a first `GET /status` before resolving anyway. */
export const DEFAULT_QUIET_MS = 1000;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const ACCEPTED_REQUEST = '{"form": string, "timeout"?: integer ms 1..60000}';

export interface LabServerOptions {
  /** Workspace whose current sources `/eval` runs against. */
  workspace: string;
  /** Port to listen on; default `$PORT`, else 8402. 0 picks a free port. */
  port?: number;
  host?: string;
  /**
   * Every request must carry `Authorization: Bearer <token>` (401 otherwise): the Supervisor, the Lab's
   * only client, sets one per generation. Default `$LOOM_LAB_TOKEN`; unset or empty, none is required.
   */
  token?: string;
  /** Current Lab status, served at `GET /status`. */
  status: () => LabStatus;
  /** Default eval time limit when a request gives none (ms, default 5000). */
  evalTimeoutMs?: number;
  /** Largest accepted `/eval` body (bytes, default 1 MiB). */
  maxBodyBytes?: number;
  /** Header and body timeouts; default the LOOM_HTTP_* variables. */
  limits?: Partial<HttpLimits>;
  /** Further eval engine limits (worker heap, recycling, output size). */
  engine?: Omit<EvalEngineOptions, "workspace" | "timeoutMs">;
  /** How long `quiet` waits for a first `GET /status` after listening (ms, default 1000). */
  quietMs?: number;
  /**
   * The eval engine warms up once quiet and this has settled: the Lab passes its TypeScript tools'
   * warm-up, which needs the cores first (its first ts_* call waits for it; /eval comes later).
   */
  warmEvalAfter?: Promise<unknown>;
  /** Told when the eval engine's warm-up is done ("eval engine warmed in N ms"). */
  log?: (line: string) => void;
}

export interface LabServer {
  url: string;
  port: number;
  /**
   * Resolves once the first `GET /status` has been answered, or `quietMs` after listening when none
   * came. Heavy loading waits for it (the eval engine's warm-up here, the agent in `runLab`): module
   * evaluation blocks the event loop, and would otherwise hold up the readiness probe's first answer.
   */
  quiet: Promise<void>;
  close(): Promise<void>;
}

/** `$PORT` when set, else the default; a malformed value is refused, not ignored. */
function portFromEnv(): number {
  const raw = process.env.PORT;
  if (raw === undefined || raw === "") return DEFAULT_LAB_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new ConfigError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

/** The option, else `$LOOM_LAB_TOKEN`; a token with whitespace is a copy-paste slip, refused. */
function labToken(option: string | undefined): string | undefined {
  const token = option ?? process.env.LOOM_LAB_TOKEN;
  if (token === undefined || token === "") return undefined;
  if (/\s/.test(token)) {
    throw new ConfigError(
      `LOOM_LAB_TOKEN (value hidden, ${token.length} characters) is not valid: expected a token without spaces`,
    );
  }
  return token;
}

const badRequest = (message: string) => new HttpError(400, "INVALID_BODY", message);

async function readEvalRequest(req: IncomingMessage, maxBody: number): Promise<EvalRequest> {
  const raw = await readBody(req, maxBody);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw badRequest(`request body is not valid JSON (${reason}); expected ${ACCEPTED_REQUEST}`);
  }
  const parsed = EvalRequest.safeParse(json);
  if (!parsed.success) {
    throw badRequest(
      `invalid eval request: ${formatIssues(parsed.error, { root: "(body)" })}; expected ${ACCEPTED_REQUEST}`,
    );
  }
  return parsed.data;
}

/**
 * The Lab's HTTP server: `GET /status` (the Lab's status) and `POST /eval` (evaluate a TypeScript form
 * against the workspace), on the shared HTTP building blocks, so it refuses what the Supervisor and
 * Prime refuse: another origin or Host (403), a body that is not JSON (415), a missing or wrong token
 * when one is set (401). Refusals and bad requests (400/401/403/404/405/413/415) carry a message in the
 * EvalResponse shape; eval outcomes, failures included, are 200 with an EvalResponse whose `message`
 * carries console output as `[log] …`-prefixed lines on success. Forms, values and limits:
 * lab-runtime/README.md.
 */
export async function startLabServer(options: LabServerOptions): Promise<LabServer> {
  const port = options.port ?? portFromEnv();
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`port must be an integer from 0 to 65535, got ${port}`);
  }
  const token = labToken(options.token);
  const host = options.host ?? "127.0.0.1";
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const engine = new EvalEngine({
    ...options.engine,
    workspace: options.workspace,
    ...(options.evalTimeoutMs === undefined ? {} : { timeoutMs: options.evalTimeoutMs }),
  });

  let statusAnswered = () => {};
  const firstStatus = new Promise<void>((resolve) => {
    statusAnswered = resolve;
  });
  const routes: Route[] = [
    {
      method: "GET",
      path: "/status",
      handle: async (_req, res) => {
        const body = LabStatus.parse(options.status());
        // "finish": the answer has been handed to the socket, so what loads next cannot delay it.
        res.once("finish", statusAnswered);
        sendJson(res, 200, body);
      },
    },
    {
      method: "POST",
      path: "/eval",
      handle: async (req, res) => {
        const request = await readEvalRequest(req, maxBody);
        sendJson(res, 200, await engine.eval(request.form, request.timeout));
      },
    },
  ];

  const server = await startHttpServer({
    name: "the Lab",
    host,
    port,
    routes,
    ...(token ? { authorize: (req: IncomingMessage) => checkBearer(req, token, "LOOM_LAB_TOKEN") } : {}),
    // Only a bug of ours is not an HttpError: bad input is refused before it reaches the engine.
    toHttpError: (err) =>
      err instanceof HttpError
        ? err
        : new HttpError(
            500,
            "INTERNAL",
            `internal error: ${err instanceof Error ? err.message : String(err)}`,
          ),
    errorBody: (err): EvalResponse => ({ status: "error", message: err.message }),
    ...(options.limits ? { limits: options.limits } : {}),
    portHint: "pick another --port ($PORT) or stop what uses it",
  }).catch(async (err: unknown) => {
    await engine.close();
    throw err;
  });
  let closed = false;
  let quietTimer: NodeJS.Timeout | undefined;
  const quiet = Promise.race([
    firstStatus,
    new Promise<void>((resolve) => {
      quietTimer = setTimeout(resolve, options.quietMs ?? DEFAULT_QUIET_MS);
      quietTimer.unref();
    }),
  ]).then(() => clearTimeout(quietTimer));
  void Promise.all([quiet, options.warmEvalAfter?.catch(() => {})]).then(() => {
    if (closed) return;
    const started = performance.now();
    engine.warm().then(
      () => options.log?.(`eval engine warmed in ${Math.round(performance.now() - started)} ms`),
      () => {},
    );
  });
  return {
    url: server.url,
    port: server.port,
    quiet,
    close: async () => {
      closed = true;
      await Promise.all([server.close(), engine.close()]);
    },
  };
}
