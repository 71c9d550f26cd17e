import http from "node:http";

/**
 * The Docker Engine API over a unix socket, for the swarm-cluster helper's polling: a request here
 * costs a socket round trip, where a `docker` CLI call costs a process start on a 2-core machine.
 */

export const ENGINE_API = "/v1.41";

export class EngineApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function engineRequest<T = unknown>(
  socketPath: string,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        method,
        path: `${ENGINE_API}${path}`,
        headers: payload
          ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
          : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            let message = text.trim();
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? message;
            } catch {}
            reject(new EngineApiError(status, `${method} ${path} on ${socketPath}: ${status} ${message}`));
            return;
          }
          if (!text) return resolve(undefined as T);
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            resolve(text as T);
          }
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`${method} ${path} on ${socketPath}: no answer in ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** A swarm node as the manager reports it (the fields the helper reads). */
export interface EngineNode {
  ID: string;
  Description: { Hostname: string };
  Spec: { Role: "manager" | "worker"; Availability: string };
  Status: { State: "unknown" | "down" | "ready" | "disconnected"; Addr: string; Message?: string };
  ManagerStatus?: { Leader?: boolean; Addr: string };
}

/** A swarm task as the manager reports it. */
export interface EngineTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState: string;
  Status: {
    State: string;
    Message?: string;
    Err?: string;
    Timestamp: string;
    ContainerStatus?: { ExitCode?: number };
  };
}
