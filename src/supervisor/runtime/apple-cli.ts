import { z } from "zod";
import { parseEngineJson } from "./cli-exec.ts";
import {
  type ContainerState,
  type HostContainerInfo,
  type HostRunSpec,
  type RunSpec,
  RuntimeError,
} from "./runtime.ts";

/**
 * Command lines for Apple's `container` CLI (macOS 26) and parsing of its `inspect` / `list --format
 * json` output. Pure, so they are tested against recorded samples on machines without it.
 */

/** `run --detach ...`; the environment goes through an env file (see appleEnvFile). */
export function appleRunArgs(spec: HostRunSpec, name: string, envFile: string | undefined): string[] {
  const args = ["run", "--detach", "--name", name];
  for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
  if (envFile) args.push("--env-file", envFile);
  if (spec.workdir) args.push("--workdir", spec.workdir);
  for (const m of spec.mounts) {
    for (const p of [m.host, m.container]) {
      if (p.includes(",") || p.includes("="))
        throw new RuntimeError("INVALID_SPEC", `mount path ${JSON.stringify(p)} may not contain ',' or '='`);
    }
    args.push("--mount", `type=bind,source=${m.host},target=${m.container}${m.readOnly ? ",readonly" : ""}`);
  }
  // Each container is its own VM: there is no host network, so "host" means loopback-published ports.
  if (spec.network && spec.network !== "host") args.push("--network", spec.network);
  for (const p of spec.ports) args.push("--publish", `127.0.0.1:${p.container}:${p.container}`);
  if (spec.limits.memoryMb !== undefined) args.push("--memory", `${spec.limits.memoryMb}M`);
  if (spec.limits.cpus !== undefined) args.push("--cpus", String(Math.max(1, Math.ceil(spec.limits.cpus))));
  if (spec.entrypoint !== undefined) args.push("--entrypoint", spec.entrypoint);
  args.push(spec.image, ...spec.command);
  return args;
}

/**
 * The env file's text (KEY=value lines). Values stay off the command line; the format has no escapes,
 * so a value with a newline cannot be passed and is refused.
 */
export function appleEnvFile(env: Readonly<Record<string, string>>): string {
  const bad = Object.entries(env).find(([, v]) => /[\r\n]/.test(v));
  if (bad)
    throw new RuntimeError(
      "INVALID_SPEC",
      `env ${bad[0]}: the apple runtime cannot pass values containing newlines`,
    );
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
}

/** Spec parts the Apple CLI has no flag for. */
export function appleWarnings(spec: RunSpec): string[] {
  const warnings: string[] = [];
  if (spec.limits.pids !== undefined) warnings.push("pids limit not supported by the apple runtime");
  if (spec.limits.priority === "background")
    warnings.push("background priority not supported by the apple runtime");
  if (spec.limits.cpus !== undefined && !Number.isInteger(spec.limits.cpus))
    warnings.push(`cpus ${spec.limits.cpus} rounded up to whole CPUs for the apple runtime`);
  return warnings;
}

const PublishedPort = z.looseObject({
  hostAddress: z.string().optional(),
  hostPort: z.number().int(),
  containerPort: z.number().int(),
  proto: z.string().optional(),
});
// Releases differ: 0.x prints `status` as a string with `networks` beside it; later ones nest
// `{state, networks}` under `status`. Both are accepted.
const Snapshot = z.looseObject({
  configuration: z.looseObject({
    id: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    publishedPorts: z.array(PublishedPort).optional(),
  }),
  status: z.union([z.string(), z.looseObject({ state: z.string() })]),
  startedDate: z.union([z.number(), z.string()]).nullish(),
});
export const AppleInspect = z.array(Snapshot);

/** Swift's default Date encoding: seconds since 2001-01-01T00:00:00Z. */
const SWIFT_EPOCH_S = 978_307_200;

export function parseAppleInspect(text: string): HostContainerInfo[] {
  const data = parseEngineJson(text, AppleInspect, "container inspect");
  return data.map((s): HostContainerInfo => {
    const raw = typeof s.status === "string" ? s.status : s.status.state;
    const state: ContainerState =
      raw === "running"
        ? "running"
        : raw === "stopped"
          ? "exited"
          : raw === "stopping"
            ? "stopping"
            : "unknown";
    const started = s.startedDate;
    return {
      id: s.configuration.id,
      name: s.configuration.id,
      state,
      exitCode: undefined, // the CLI does not report it
      oomKilled: false,
      labels: s.configuration.labels ?? {},
      startedAt:
        typeof started === "number"
          ? new Date((started + SWIFT_EPOCH_S) * 1000).toISOString()
          : (started ?? undefined),
      endpoints: (s.configuration.publishedPorts ?? [])
        .filter((p) => (p.proto ?? "tcp") === "tcp")
        .map((p) => ({
          containerPort: p.containerPort,
          host: !p.hostAddress || p.hostAddress === "0.0.0.0" ? "127.0.0.1" : p.hostAddress,
          port: p.hostPort,
        })),
    };
  });
}
