import type { ContainerState } from "./runtime.ts";

/** What the Engine API says of a swarm service, its tasks and their nodes: the fields Loom reads. */

export interface ApiTask {
  ID: string;
  NodeID?: string;
  CreatedAt?: string;
  DesiredState?: string;
  Status?: {
    State?: string;
    Timestamp?: string;
    Err?: string;
    Message?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
}

export interface ApiNode {
  Description?: { Hostname?: string };
  Status?: { State?: string; Addr?: string; Message?: string };
}

export interface ApiService {
  ID: string;
  CreatedAt?: string;
  Spec: { Name: string; Labels?: Record<string, string>; Mode?: { Replicated?: { Replicas?: number } } };
}

export const ENDED = new Set(["complete", "failed", "shutdown", "rejected", "orphaned", "remove"]);
const STARTING = new Set(["new", "pending", "assigned", "accepted", "preparing", "ready", "starting"]);
const EXIT = /exit \((-?\d+)\)/;

export function taskState(task: ApiTask | undefined): ContainerState {
  const s = task?.Status?.State ?? "pending";
  if (s === "running") return "running";
  if (ENDED.has(s)) return "exited";
  return STARTING.has(s) ? "created" : "unknown";
}

export function exitCodeOf(task: ApiTask): number | undefined {
  const s = task.Status;
  if (s?.State === "complete") return 0;
  const fromErr = s?.Err?.match(EXIT)?.[1];
  if (fromErr !== undefined) return Number(fromErr);
  const code = s?.ContainerStatus?.ExitCode;
  return code !== undefined && code !== -1 && s?.State !== "rejected" ? code : undefined;
}

export const latest = (tasks: readonly ApiTask[]): ApiTask | undefined =>
  [...tasks].sort((a, b) => (a.CreatedAt ?? "").localeCompare(b.CreatedAt ?? "")).at(-1);
