import { type JailedCommand, PACKAGES_VOLUME, RELAY_CACHE } from "./jail.ts";
import { type HostRunSpec, type RunSpec, RuntimeError } from "./runtime.ts";

/** Command lines for the docker-compatible CLIs (docker, podman). Pure, so tests can pin them. */

export interface EngineFlavor {
  /** Run an init process as PID 1 so signals reach the command and zombies are reaped. */
  readonly init: boolean;
}

/**
 * `run -d ...` for a validated spec and its host binding. Environment values are NOT on the command
 * line (where any local user could read them in `ps`): each is passed as `-e NAME`, which the CLI fills
 * from its own environment — see `engineEnv`.
 */
export function engineRunArgs(spec: HostRunSpec, name: string, flavor: EngineFlavor): string[] {
  const args = ["run", "-d", "--name", name];
  if (flavor.init) args.push("--init");
  for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
  for (const k of Object.keys(spec.env)) args.push("-e", k);
  if (spec.workdir) args.push("-w", spec.workdir);
  for (const m of spec.mounts) {
    for (const p of [m.host, m.container]) {
      if (p.includes(":") || p.includes(","))
        throw new RuntimeError("INVALID_SPEC", `mount path ${JSON.stringify(p)} may not contain ':' or ','`);
    }
    args.push("-v", `${m.host}:${m.container}${m.readOnly ? ":ro" : ""}`);
  }
  const network = spec.network;
  if (network) args.push("--network", network);
  // Without network nothing can be published; the container is reached through mounted sockets.
  for (const p of network === "none" ? [] : spec.ports) {
    // Host networking has no publishing; --expose still records the port so inspect can report it.
    if (network === "host") args.push("--expose", String(p.container));
    else args.push("-p", `127.0.0.1::${p.container}`);
  }
  args.push(...limitArgs(spec));
  // What runs without network is untrusted code (a Lab, a candidate's tests): no capability either.
  if (network === "none") args.push("--cap-drop", "ALL");
  if (spec.entrypoint !== undefined) args.push("--entrypoint", spec.entrypoint);
  args.push(spec.image, ...spec.command);
  return args;
}

/**
 * `run -d ...` for a task that reaches Loom through the gateway (`spec.relay`): on the host's network
 * as root with only what the jail needs, the relay first (the image's entrypoint, `task.argv[0]`), which
 * jails the spec's command; packages kept in the `loom-packages` volume. Nothing of the host is mounted.
 */
export function engineRelayArgs(
  spec: RunSpec,
  name: string,
  flavor: EngineFlavor,
  task: JailedCommand,
): string[] {
  const [program, ...rest] = task.argv;
  if (!program) throw new RuntimeError("INVALID_SPEC", "a relayed task needs a command");
  const args = ["run", "-d", "--name", name];
  if (flavor.init) args.push("--init");
  for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
  for (const k of Object.keys(relayEnv(spec, task))) args.push("-e", k);
  if (spec.workdir) args.push("-w", spec.workdir);
  args.push("--network", "host", "--user", "0");
  for (const cap of task.capabilities) args.push("--cap-add", cap.replace(/^CAP_/, ""));
  if (task.cacheVolume) args.push("-v", `${PACKAGES_VOLUME}:${RELAY_CACHE}`);
  args.push(...limitArgs(spec));
  args.push("--entrypoint", program, spec.image, ...rest);
  return args;
}

function relayEnv(spec: RunSpec, task: JailedCommand): Record<string, string> {
  const env: Record<string, string> = { ...spec.env };
  for (const kv of task.env) {
    const at = kv.indexOf("=");
    env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return env;
}

/** The spec's limits and no-new-privileges, as both command lines give them. */
function limitArgs(spec: RunSpec): string[] {
  const args: string[] = [];
  const { memoryMb, pids, cpus } = spec.limits;
  // memory-swap = memory: a hog is killed instead of swapping.
  if (memoryMb !== undefined) args.push("--memory", `${memoryMb}m`, "--memory-swap", `${memoryMb}m`);
  if (pids !== undefined) args.push("--pids-limit", String(pids));
  if (cpus !== undefined) args.push("--cpus", String(cpus));
  // An eighth of the default weight (1024): it runs on what the others leave.
  if (spec.limits.priority === "background") args.push("--cpu-shares", "128");
  if (spec.noNewPrivileges) args.push("--security-opt", "no-new-privileges");
  return args;
}

/** The CLI's environment for `run`: its own (to reach the daemon) plus the values `-e NAME` forwards. */
export function engineEnv(spec: RunSpec, task?: JailedCommand): Record<string, string> {
  return task ? relayEnv(spec, task) : { ...spec.env };
}

/** `ps -a --filter label=k=v ...` printing one id per line. */
export function engineListArgs(labels: Readonly<Record<string, string>>): string[] {
  const args = ["ps", "-a", "--no-trunc", "--format", "{{.ID}}"];
  for (const [k, v] of Object.entries(labels)) args.push("--filter", `label=${k}=${v}`);
  return args;
}
