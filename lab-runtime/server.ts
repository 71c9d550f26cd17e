import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { z } from "zod";
import { EvalRequest, type EvalResponse, LabStatus } from "../schemas/index.ts";
import { ConfigError } from "../src/shared/errors.ts";
import { EvalEngine, type EvalEngineOptions } from "./eval/engine.ts";
import { BodyTooLargeError, readBody, sendJson } from "./http-io.ts";

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
  /** Listen on this unix socket instead of a port (a Lab without network: the Supervisor connects through it). */
  socketPath?: string;
  /** Current Lab status, served at `GET /status`. */
  status: () => LabStatus;
  /** Default eval time limit when a request gives none (ms, default 5000). */
  evalTimeoutMs?: number;
  /** Largest accepted `/eval` body (bytes, default 1 MiB). */
  maxBodyBytes?: number;
  /** Further eval engine limits (worker heap, recycling, output size). */
  engine?: Omit<EvalEngineOptions, "workspace" | "timeoutMs">;
  /** How long `quiet` waits for a first `GET /status` after listening (ms, default 1000). */
  quietMs?: number;
  /**
   * The eval engine warms up once quiet and this has settled: the Lab passes its TypeScript tools'
   * warm-up, which needs the cores first (its first ts_* call waits for it; /eval comes later).
   */
  warmEvalAfter?: Promise<unknown>;
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

function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "(body)"}: ${i.message}`).join("; ");
}

const errorBody = (message: string): EvalResponse => ({ status: "error", message });

async function handleEval(req: IncomingMessage, res: ServerResponse, engine: EvalEngine, maxBody: number) {
  let raw: Buffer;
  try {
    raw = await readBody(req, maxBody);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return sendJson(res, 413, errorBody(`request body exceeds the limit of ${maxBody} bytes`), {
        connection: "close",
      });
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return sendJson(
      res,
      400,
      errorBody(`request body is not valid JSON (${reason}); expected ${ACCEPTED_REQUEST}`),
    );
  }
  const parsed = EvalRequest.safeParse(json);
  if (!parsed.success) {
    return sendJson(
      res,
      400,
      errorBody(`invalid eval request: ${describeIssues(parsed.error.issues)}; expected ${ACCEPTED_REQUEST}`),
    );
  }
  sendJson(res, 200, await engine.eval(parsed.data.form, parsed.data.timeout));
}

/**
 * The Lab's HTTP server: `GET /status` (the Lab's status) and `POST /eval` (evaluate a TypeScript form
 * against the workspace). Bad requests get 400/404/405/413 with a message in the EvalResponse shape; eval
 * outcomes, failures included, are 200 with an EvalResponse whose `message` carries console output as
 * `[log] …`-prefixed lines on success. Forms, values and limits: lab-runtime/README.md.
 */
export async function startLabServer(options: LabServerOptions): Promise<LabServer> {
  const port = options.port ?? portFromEnv();
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`port must be an integer from 0 to 65535, got ${port}`);
  }
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

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const pathname = new URL(req.url ?? "/", "http://lab").pathname;
    const allowed = pathname === "/status" ? "GET" : pathname === "/eval" ? "POST" : undefined;
    if (!allowed) {
      req.resume();
      return sendJson(res, 404, errorBody(`no route ${pathname}; the Lab serves GET /status and POST /eval`));
    }
    if (req.method !== allowed) {
      req.resume();
      return sendJson(res, 405, errorBody(`${req.method} is not allowed on ${pathname}; use ${allowed}`), {
        allow: allowed,
      });
    }
    if (pathname === "/status") {
      const body = LabStatus.parse(options.status());
      // "finish": the answer has been handed to the socket, so what loads next cannot delay it.
      res.once("finish", statusAnswered);
      return sendJson(res, 200, body);
    }
    return handleEval(req, res, engine, maxBody);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      // Only a bug of ours lands here: bad input is answered above.
      sendJson(res, 500, errorBody(`internal error: ${err instanceof Error ? err.message : String(err)}`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const listening = () => {
      server.off("error", reject);
      resolve();
    };
    if (options.socketPath) server.listen(options.socketPath, listening);
    else server.listen(port, host, listening);
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
    if (!closed) engine.warm().catch(() => {});
  });
  const address = server.address() as AddressInfo | string;
  const url =
    typeof address === "string"
      ? `unix:${address}`
      : `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url,
    port: typeof address === "string" ? 0 : address.port,
    quiet,
    close: async () => {
      closed = true;
      server.closeAllConnections();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), engine.close()]);
    },
  };
}
