import { type ImageFacts, jailedCommand, PACKAGES_VOLUME, RELAY_CACHE } from "./jail.ts";
import { type RunSpec, RuntimeError } from "./runtime.ts";

/**
 * A validated RunSpec as a Docker Swarm service spec (Engine API 1.41, `POST /services/create`). Pure,
 * so tests can pin it.
 *
 * One service, one task, never restarted (`Replicated {Replicas: 1}` + restart `none`). The issue asked
 * for `--mode replicated-job`; on docker 20.10 removing a running replicated-job service leaves its
 * container running (ARCHITECTURE.md, "Swarm"), so a stop could not stop it. A one-replica service
 * with restart none runs once the same way and is stopped by scaling it to 0.
 *
 * Swarm offers no network-less service (`--network none` is "network none not found") and no
 * `no-new-privileges`. Every task therefore starts as root in Loom's jail (`JAIL`): on the host network,
 * it unshares a network namespace holding only `lo` when the spec asks for no network, then drops to
 * the image's user with no capabilities, an empty bounding set and no-new-privs before running the
 * command. What runs the spec's command has exactly what a `--network none --cap-drop ALL` container has.
 */

/** Labels Loom keeps on the service for itself; never shown as the container's labels. */
export const NETWORK_LABEL = "loom.swarm.network";
const INTERNAL = new Set([NETWORK_LABEL]);

export function userLabels(labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !INTERNAL.has(k)));
}

export interface SwarmSpecInput {
  readonly spec: RunSpec;
  readonly name: string;
  /** The image reference every node pulls (pinned by digest). */
  readonly image: string;
  readonly facts: ImageFacts;
  /** Placement constraints (`node.labels.x==y`), LOOM_SWARM_CONSTRAINTS. */
  readonly constraints?: readonly string[];
  /** SIGTERM to SIGKILL when the service is scaled to 0. */
  readonly stopGraceMs?: number;
}

export function swarmServiceSpec(input: SwarmSpecInput): Record<string, unknown> {
  const { spec, name } = input;
  const none = spec.network === undefined || spec.network === "none";
  if (!none && spec.network !== "host") {
    throw new RuntimeError(
      "INVALID_SPEC",
      `network ${JSON.stringify(spec.network)} is not available under the swarm runtime; expected "host" or "none" (Loom never puts a Lab on an overlay or bridge network)`,
    );
  }
  const env: string[] = [];
  for (const [k, v] of Object.entries(spec.env)) {
    if (v.includes("\0")) throw new RuntimeError("INVALID_SPEC", `env.${k} may not contain a NUL byte`);
    env.push(`${k}=${v}`);
  }
  const task = jailedCommand(spec, input.facts, none ? "none" : "host");
  const [command = "sh", ...args] = task.argv;
  env.push(...task.env);
  // Nothing of the Supervisor's host is mounted: only the node's own packages volume, fetched once
  // per node and key and kept across Labs.
  const mounts = task.cacheVolume
    ? [{ Type: "volume", Source: PACKAGES_VOLUME, Target: RELAY_CACHE, ReadOnly: false }]
    : [];
  const labels = { ...spec.labels };
  const service: Record<string, string> = { ...labels, [NETWORK_LABEL]: none ? "none" : "host" };
  const { memoryMb, pids, cpus } = spec.limits;
  const limits: Record<string, number> = {};
  if (memoryMb !== undefined) limits.MemoryBytes = memoryMb * 1024 * 1024;
  if (cpus !== undefined) limits.NanoCPUs = Math.round(cpus * 1e9);
  if (pids !== undefined) limits.Pids = pids;
  return {
    Name: name,
    Labels: service,
    TaskTemplate: {
      ContainerSpec: {
        Image: input.image,
        Labels: labels,
        Command: [command],
        Args: args,
        Env: env,
        ...(spec.workdir ? { Dir: spec.workdir } : {}),
        User: "0",
        Init: true,
        // The jail's own needs; the command runs with none of them (bounding set cleared).
        CapabilityAdd: [...task.capabilities],
        Mounts: mounts,
        StopGracePeriod: (input.stopGraceMs ?? 10_000) * 1_000_000,
      },
      Resources: { Limits: limits },
      RestartPolicy: { Condition: "none", MaxAttempts: 0 },
      Placement: { Constraints: [...(input.constraints ?? [])] },
      Networks: [{ Target: "host" }],
      ForceUpdate: 0,
    },
    Mode: { Replicated: { Replicas: 1 } },
  };
}
