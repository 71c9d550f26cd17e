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

/** The node-local volume where relays keep packages per key, and where it is mounted. */
export const PACKAGES_VOLUME = "loom-packages";
export const RELAY_CACHE = "/var/cache/loom-packages";

/** Labels Loom keeps on the service for itself; never shown as the container's labels. */
export const PORTS_LABEL = "loom.swarm.ports";
export const NETWORK_LABEL = "loom.swarm.network";
const INTERNAL = new Set([PORTS_LABEL, NETWORK_LABEL]);

export function userLabels(labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !INTERNAL.has(k)));
}

/**
 * `sh -c JAIL loom-jail JAIL NET UID GID NNP CMD...` (the script is its own first argument, so the
 * network-less branch can run it again inside the new namespace, as `lo`). `lo` comes up with `ip` when
 * the image has it, else with perl's ioctl (SIOCSIFFLAGS, IFF_UP|IFF_LOOPBACK|IFF_RUNNING), which
 * Debian's base images carry.
 */
export const JAIL = [
  'self="$1"; net="$2"; shift 2',
  'if [ "$net" = none ]; then',
  '  exec unshare --net -- sh -c "$self" loom-jail "$self" lo "$@"',
  "fi",
  'if [ "$net" = lo ]; then',
  "  if command -v ip >/dev/null 2>&1; then ip link set lo up",
  `  else perl -MSocket -e 'socket(my $s, AF_INET, SOCK_DGRAM, 0) or die "socket: $!"; my $r = pack("a16s", "lo", 0x49); ioctl($s, 0x8914, $r) or die "lo up: $!"'`,
  '  fi || { echo "loom jail: cannot bring lo up in the task\'s network namespace" >&2; exit 125; }',
  "fi",
  // sh exports PWD; the command's environment is the spec's alone.
  'uid="$1"; gid="$2"; nnp="$3"; shift 3; unset PWD',
  'if [ "$nnp" = 1 ]; then set -- --no-new-privs -- "$@"; else set -- -- "$@"; fi',
  'exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all "$@"',
].join("\n");

/** What the image itself says: its entrypoint (when the spec gives none) and the user to drop to. */
export interface ImageFacts {
  readonly entrypoint: readonly string[];
  /** "uid:gid" numbers or names, "" for root. */
  readonly user: string;
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

function userIds(user: string): [string, string] {
  if (user === "") return ["0", "0"];
  const [uid = "0", gid] = user.split(":");
  return [uid, gid ?? uid];
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
  const program = spec.entrypoint !== undefined ? [spec.entrypoint] : [...input.facts.entrypoint];
  const [uid, gid] = userIds(input.facts.user);
  const jailed = [
    "sh",
    "-c",
    JAIL,
    "loom-jail",
    JAIL,
    none ? "none" : "host",
    uid,
    gid,
    spec.noNewPrivileges ? "1" : "0",
    ...program,
    ...spec.command,
  ];
  let command: string[] = ["sh"];
  let args = jailed.slice(1);
  const mounts = spec.mounts.map((m) => ({
    Type: "bind",
    Source: m.host,
    Target: m.container,
    ReadOnly: m.readOnly,
  }));
  if (spec.relay) {
    if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid))
      throw new RuntimeError(
        "INVALID_SPEC",
        `a relayed task needs the image's user as numbers (uid:gid), not ${JSON.stringify(input.facts.user)}`,
      );
    // The relay is the image's own program (its entrypoint), as root on the node's network, then the jail.
    command = [...input.facts.entrypoint];
    args = [
      "lab-relay",
      "--uid",
      uid,
      "--gid",
      gid,
      ...(spec.workdir ? ["--workspace", spec.workdir] : []),
      "--",
      ...jailed,
    ];
    env.push(`LOOM_RELAY_URL=${spec.relay.url}`, `LOOM_RELAY_TOKEN=${spec.relay.token}`);
    // Packages fetched once per node and key, kept across Labs.
    mounts.push({ Type: "volume", Source: PACKAGES_VOLUME, Target: RELAY_CACHE, ReadOnly: false });
  }
  const labels = { ...spec.labels };
  const service: Record<string, string> = {
    ...labels,
    [NETWORK_LABEL]: none ? "none" : "host",
    ...(spec.ports.length > 0 && !none
      ? { [PORTS_LABEL]: spec.ports.map((p) => p.container).join(",") }
      : {}),
  };
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
        Command: command,
        Args: args,
        Env: env,
        ...(spec.workdir ? { Dir: spec.workdir } : {}),
        User: "0",
        Init: true,
        // The jail's own needs; the command runs with none of them (bounding set cleared).
        CapabilityAdd: none ? ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"] : [],
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
