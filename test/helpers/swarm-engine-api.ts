import { EngineApi, engineMessage } from "../../src/supervisor/runtime/engine-api.ts";

/**
 * The Docker Engine API over a unix socket, for the swarm-cluster helper's polling: a request here
 * costs a socket round trip, where a `docker` CLI call costs a process start on a 2-core machine.
 */

export class EngineApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Loom's own Engine API client (src/supervisor/runtime/engine-api.ts), answering as the helper needs. */
export async function engineRequest<T = unknown>(
  socketPath: string,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<T> {
  const api = new EngineApi({ host: `unix://${socketPath}`, timeoutMs });
  const res = await api.request(method, path, body);
  if (res.status >= 400)
    throw new EngineApiError(
      res.status,
      `${method} ${path} on ${socketPath}: ${res.status} ${engineMessage(res)}`,
    );
  const text = res.body.toString("utf8");
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as T;
  }
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
