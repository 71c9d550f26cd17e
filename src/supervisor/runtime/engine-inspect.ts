import { z } from "zod";
import { parseEngineJson } from "./cli-exec.ts";
import type { ContainerState, Endpoint, HostContainerInfo } from "./runtime.ts";

/** `docker inspect` / `podman inspect` output: only the fields Loom reads, the rest passes through. */
const Binding = z.looseObject({ HostIp: z.string().optional(), HostPort: z.string() });
export const EngineInspect = z.array(
  z.looseObject({
    Id: z.string(),
    Name: z.string(),
    State: z.looseObject({
      Status: z.string(),
      ExitCode: z.number().int().optional(),
      OOMKilled: z.boolean().optional(),
      StartedAt: z.string().optional(),
    }),
    Config: z.looseObject({
      Labels: z.record(z.string(), z.string()).nullish(),
      ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
    }),
    HostConfig: z.looseObject({ NetworkMode: z.string().optional() }).optional(),
    NetworkSettings: z
      .looseObject({ Ports: z.record(z.string(), z.array(Binding).nullable()).nullish() })
      .optional(),
  }),
);
export type EngineInspect = z.infer<typeof EngineInspect>;

const STATES: readonly ContainerState[] = [
  "created",
  "running",
  "paused",
  "restarting",
  "removing",
  "exited",
  "dead",
];

/** Parses inspect JSON text into ContainerInfo, failing with BAD_ENGINE_OUTPUT naming the field. */
export function parseEngineInspect(text: string): HostContainerInfo[] {
  const data = parseEngineJson(text, EngineInspect, "inspect");
  return data.map(toInfo);
}

function toInfo(c: EngineInspect[number]): HostContainerInfo {
  const status = c.State.Status.toLowerCase();
  const state = (STATES as readonly string[]).includes(status)
    ? (status as ContainerState)
    : status === "configured" || status === "initialized"
      ? "created" // podman's names for a container that never ran
      : status === "stopped"
        ? "exited"
        : "unknown";
  const started = c.State.StartedAt;
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ""),
    state,
    exitCode: state === "running" || state === "created" ? undefined : c.State.ExitCode,
    oomKilled: c.State.OOMKilled ?? false,
    labels: c.Config.Labels ?? {},
    startedAt: started && !started.startsWith("0001-") ? started : undefined,
    endpoints: endpointsOf(c),
  };
}

function endpointsOf(c: EngineInspect[number]): Endpoint[] {
  const hostMode = c.HostConfig?.NetworkMode === "host";
  const published = c.NetworkSettings?.Ports ?? {};
  const keys = new Set([...Object.keys(c.Config.ExposedPorts ?? {}), ...Object.keys(published)]);
  const endpoints: Endpoint[] = [];
  for (const key of keys) {
    const [portText, proto = "tcp"] = key.split("/");
    const containerPort = Number(portText);
    if (proto !== "tcp" || !Number.isInteger(containerPort)) continue;
    if (hostMode) {
      endpoints.push({ containerPort, host: "127.0.0.1", port: containerPort });
      continue;
    }
    const binding = published[key]?.[0];
    if (!binding) continue;
    const host =
      !binding.HostIp || binding.HostIp === "0.0.0.0" || binding.HostIp === "::"
        ? "127.0.0.1"
        : binding.HostIp;
    endpoints.push({ containerPort, host, port: Number(binding.HostPort) });
  }
  return endpoints.sort((a, b) => a.containerPort - b.containerPort);
}
