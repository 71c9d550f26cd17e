import { randomBytes } from "node:crypto";
import { type ImageFacts, type JailedCommand, jailedCommand, PACKAGES_VOLUME, RELAY_CACHE } from "./jail.ts";
import {
  type Endpoint,
  type HostBindingInput,
  type HostRunSpec,
  parseHostRunSpec,
  type RunSpecInput,
  RuntimeError,
  refuseRelay,
} from "./runtime.ts";

/**
 * The one description of a container Loom asks a docker-compatible engine for: the Engine API's create
 * body (POST /containers/create). Docker gets it over its socket; the command line a CLI takes (podman,
 * docker behind a context) is derived from it (engine-args.ts). Pure, so tests can pin both.
 */

/** Networks every engine has; any other name is a user network made before the first run on it. */
export const BUILTIN_NETWORKS: ReadonlySet<string> = new Set(["host", "bridge", "none", "default"]);

export interface EngineFlavor {
  /** Run an init process as PID 1 so signals reach the command and zombies are reaped. */
  readonly init: boolean;
}

export interface ContainerBody {
  readonly Image: string;
  readonly Cmd: string[];
  readonly Entrypoint?: string[];
  /** `NAME=value`; the CLI form passes only the names (values stay out of `ps`). */
  readonly Env: string[];
  readonly Labels: Record<string, string>;
  readonly WorkingDir?: string;
  readonly User?: string;
  readonly ExposedPorts?: Record<string, Record<string, never>>;
  readonly HostConfig: {
    readonly Init?: boolean;
    readonly Binds?: string[];
    readonly NetworkMode?: string;
    readonly PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    readonly Memory?: number;
    readonly MemorySwap?: number;
    readonly PidsLimit?: number;
    readonly NanoCpus?: number;
    readonly CpuShares?: number;
    readonly SecurityOpt?: string[];
    readonly CapAdd?: string[];
    readonly CapDrop?: string[];
  };
}

const MIB = 1024 * 1024;

/**
 * A validated spec and its host binding as a create body. With `task` (a relayed spec, `jailedCommand`):
 * on the host's network as root with only what the jail needs, the relay first (the image's entrypoint,
 * `task.argv[0]`) jailing the spec's command, packages kept in the `loom-packages` volume; nothing of the
 * host is mounted.
 */
export function containerBody(spec: HostRunSpec, flavor: EngineFlavor, task?: JailedCommand): ContainerBody {
  const env: Record<string, string> = { ...spec.env };
  for (const kv of task?.env ?? []) {
    const at = kv.indexOf("=");
    env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const host: { -readonly [K in keyof ContainerBody["HostConfig"]]: ContainerBody["HostConfig"][K] } = {};
  if (flavor.init) host.Init = true;
  const binds: string[] = [];
  let exposed: Record<string, Record<string, never>> | undefined;
  let cmd: string[];
  let entrypoint: string[] | undefined;
  let user: string | undefined;
  if (task) {
    const [program, ...rest] = task.argv;
    if (!program) throw new RuntimeError("INVALID_SPEC", "a relayed task needs a command");
    host.NetworkMode = "host";
    user = "0";
    if (task.capabilities.length > 0) host.CapAdd = task.capabilities.map((c) => c.replace(/^CAP_/, ""));
    if (task.cacheVolume) binds.push(`${PACKAGES_VOLUME}:${RELAY_CACHE}`);
    entrypoint = [program];
    cmd = rest;
  } else {
    for (const m of spec.mounts) {
      for (const p of [m.host, m.container]) {
        if (p.includes(":") || p.includes(","))
          throw new RuntimeError(
            "INVALID_SPEC",
            `mount path ${JSON.stringify(p)} may not contain ':' or ','`,
          );
      }
      binds.push(`${m.host}:${m.container}${m.readOnly ? ":ro" : ""}`);
    }
    if (spec.network) host.NetworkMode = spec.network;
    // Without network nothing can be published; the container is reached through mounted sockets.
    const ports = spec.network === "none" ? [] : spec.ports;
    if (ports.length > 0) {
      exposed = Object.fromEntries(ports.map((p) => [`${p.container}/tcp`, {}]));
      // Host networking has no publishing: the port is the host's; exposing it lets inspect report it.
      if (spec.network !== "host")
        host.PortBindings = Object.fromEntries(
          ports.map((p) => [`${p.container}/tcp`, [{ HostIp: "127.0.0.1", HostPort: "" }]]),
        );
    }
    // What runs without network is untrusted code (a Lab, a candidate's tests): no capability either.
    if (spec.network === "none") host.CapDrop = ["ALL"];
    if (spec.entrypoint !== undefined) entrypoint = [spec.entrypoint];
    cmd = [...spec.command];
  }
  if (binds.length > 0) host.Binds = binds;
  const { memoryMb, pids, cpus, priority } = spec.limits;
  // Swap = memory: a hog is killed instead of swapping.
  if (memoryMb !== undefined) host.Memory = host.MemorySwap = memoryMb * MIB;
  if (pids !== undefined) host.PidsLimit = pids;
  if (cpus !== undefined) host.NanoCpus = Math.round(cpus * 1e9);
  // An eighth of the default weight (1024): it runs on what the others leave.
  if (priority === "background") host.CpuShares = 128;
  if (spec.noNewPrivileges) host.SecurityOpt = ["no-new-privileges"];
  return {
    Image: spec.image,
    Cmd: cmd,
    ...(entrypoint ? { Entrypoint: entrypoint } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels },
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    ...(user !== undefined ? { User: user } : {}),
    ...(exposed ? { ExposedPorts: exposed } : {}),
    HostConfig: host,
  };
}

/** A run as both transports make it: the spec validated, its container name, the jail when relayed, the body. */
export interface EngineRun {
  readonly spec: HostRunSpec;
  readonly name: string;
  readonly task: JailedCommand | undefined;
  readonly body: ContainerBody;
}

export async function planEngineRun(
  input: RunSpecInput,
  binding: HostBindingInput,
  engine: {
    readonly name: "docker" | "podman";
    readonly flavor: EngineFlavor;
    readonly imageFacts: (image: string) => Promise<ImageFacts>;
  },
): Promise<EngineRun> {
  const spec = parseHostRunSpec(input, binding);
  // Only docker runs Loom's relay; podman refuses a relayed spec before anything is looked up.
  if (engine.name !== "docker") refuseRelay(spec, engine.name);
  const name = spec.name ?? `loom-${randomBytes(6).toString("hex")}`;
  // Behind the relay the task itself has no network, unless it asked for the host's (an install step).
  const task = spec.relay
    ? jailedCommand(spec, await engine.imageFacts(spec.image), spec.network === "host" ? "host" : "none")
    : undefined;
  return { spec, name, task, body: containerBody(spec, engine.flavor, task) };
}

/**
 * Where the run's ports are on the host when that is known without asking the engine: on the host's
 * network (or behind the relay) a port is the same port on the host. Undefined: inspect the container.
 */
export function knownEndpoints({ spec, task }: EngineRun): Endpoint[] | undefined {
  if (!task && spec.network !== "host" && spec.ports.length > 0) return undefined;
  return spec.ports.map((p) => ({ containerPort: p.container, host: "127.0.0.1", port: p.container }));
}
