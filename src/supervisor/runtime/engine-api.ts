import http from "node:http";
import type { ImageFacts } from "./jail.ts";
import { RuntimeError } from "./runtime.ts";

/**
 * The Docker Engine API over its unix socket (node:http, no CLI process per call): what the swarm
 * runtime polls every few hundred ms, where starting a `docker` process each time would cost more CPU
 * than the work it watches. Only `unix://` hosts: a TCP engine would need TLS settings Loom does not take.
 */

export interface EngineApiOptions {
  /** DOCKER_HOST form, `unix:///path/docker.sock`; defaults to DOCKER_HOST, then /var/run/docker.sock. */
  readonly host?: string;
  readonly timeoutMs?: number;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: Buffer;
}

const API_VERSION = "v1.41";

/** The socket path of a DOCKER_HOST value, or a clear error naming what is accepted. */
export function socketPathOf(host: string | undefined): string {
  const value = host && host.length > 0 ? host : "unix:///var/run/docker.sock";
  if (!value.startsWith("unix://") || value.length <= "unix://".length) {
    throw new RuntimeError(
      "INVALID_SPEC",
      `DOCKER_HOST=${JSON.stringify(value)} is not supported by the swarm runtime; expected unix:///path/to/docker.sock (the manager's socket)`,
    );
  }
  return value.slice("unix://".length);
}

export class EngineApi {
  readonly socketPath: string;
  private readonly timeoutMs: number;

  constructor(options: EngineApiOptions = {}) {
    this.socketPath = socketPathOf(options.host ?? process.env.DOCKER_HOST);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  request(
    method: string,
    path: string,
    body?: unknown,
    options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {},
  ): Promise<ApiAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { signal } = options;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path: `/${API_VERSION}${path}`,
          headers: {
            host: "docker",
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
          timeout: timeoutMs,
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () =>
        req.destroy(
          new RuntimeError(
            "ENGINE_TIMEOUT",
            `${method} ${path.split("?")[0]} on ${this.socketPath} did not answer within ${timeoutMs} ms; is the engine responsive?`,
          ),
        ),
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (err instanceof RuntimeError) return reject(err);
        if (err.name === "AbortError")
          return reject(new RuntimeError("ABORTED", `${method} ${path} was stopped`));
        const missing = err.code === "ENOENT" || err.code === "ECONNREFUSED";
        reject(
          new RuntimeError(
            missing ? "ENGINE_NOT_FOUND" : "ENGINE_FAILED",
            missing
              ? `no Docker engine answers on ${this.socketPath} (${err.code}): start dockerd, or set DOCKER_HOST to the manager's socket`
              : `${method} ${path} on ${this.socketPath} failed: ${err.message}`,
            { cause: err },
          ),
        );
      });
      req.end(payload);
    });
  }

  /** JSON of a 2xx answer; 404 → undefined; any other status → ENGINE_FAILED with the engine's message. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    const r = await this.request(method, path, body);
    if (r.status === 404) return undefined;
    if (r.status < 200 || r.status >= 300) throw engineFailure(method, path, r);
    return r.body.length === 0 ? (undefined as T) : (JSON.parse(r.body.toString("utf8")) as T);
  }
}

/**
 * The image's entrypoint and user (what the jail needs to run a command as the image would), or
 * undefined when the engine has no such image.
 */
export async function imageFactsOf(api: EngineApi, image: string): Promise<ImageFacts | undefined> {
  const img = await api.json<{ Config?: { Entrypoint?: string[] | null; User?: string } }>(
    "GET",
    `/images/${encodeURIComponent(image)}/json`,
  );
  return img && { entrypoint: img.Config?.Entrypoint ?? [], user: img.Config?.User ?? "" };
}

export function engineMessage(r: ApiAnswer): string {
  const text = r.body.toString("utf8");
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {}
  return text.trim().slice(0, 300) || `HTTP ${r.status}`;
}

export function engineFailure(method: string, path: string, r: ApiAnswer): RuntimeError {
  return new RuntimeError(
    "ENGINE_FAILED",
    `${method} ${path.split("?")[0]} failed (${r.status}): ${engineMessage(r)}`,
  );
}

/**
 * The engine's log stream without a TTY: frames of [stream, 0, 0, 0, size (4 bytes, big-endian)] then
 * the payload. stdout and stderr are kept in the order the engine sent them.
 */
export function demuxLogs(raw: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const stream = raw[at];
    const size = raw.readUInt32BE(at + 4);
    if (stream === undefined || stream > 2 || raw[at + 1] !== 0) return raw.toString("utf8"); // not framed
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}
