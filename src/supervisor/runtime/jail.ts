import { type RunSpec, RuntimeError } from "./runtime.ts";

/**
 * Loom's jail, for engines that cannot give a task no network or no-new-privileges themselves (Swarm),
 * and the relay in front of it (a Lab or step that reaches its generation through the gateway rather
 * than mounts: swarm, and docker with LOOM_WORKSPACE_TRANSPORT=git). The task starts as root; the jail
 * unshares a network namespace holding only `lo` when asked for no network, then drops to the image's
 * user with no capabilities, an empty bounding set and no-new-privs before running the command.
 */

/** The node-local volume where relays keep packages per key, and where it is mounted. */
export const PACKAGES_VOLUME = "loom-packages";
export const RELAY_CACHE = "/var/cache/loom-packages";

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

/**
 * Each image's facts, looked up once per name; a failed lookup is forgotten so the next run asks again.
 * Calls for the same image while the first lookup runs share it.
 */
export function cachedImageFacts(
  lookUp: (image: string) => Promise<ImageFacts>,
): (image: string) => Promise<ImageFacts> {
  const known = new Map<string, Promise<ImageFacts>>();
  return (image) => {
    let found = known.get(image);
    if (!found) {
      found = lookUp(image);
      found.catch(() => known.delete(image));
      known.set(image, found);
    }
    return found;
  };
}

function userIds(user: string): [string, string] {
  if (user === "") return ["0", "0"];
  const [uid = "0", gid] = user.split(":");
  return [uid, gid ?? uid];
}

export interface JailedCommand {
  /** The whole command line, the program first. */
  readonly argv: readonly string[];
  /** `NAME=value` the task needs besides the spec's (the relay's URL and token). */
  readonly env: readonly string[];
  /** What the task must be given (as root) for the jail: none when it needs no namespace of its own. */
  readonly capabilities: readonly string[];
  /** True when the relay keeps packages: mount PACKAGES_VOLUME at RELAY_CACHE. */
  readonly cacheVolume: boolean;
}

/**
 * The command a task runs as root: the jail (`network` "none": its own namespace with only lo) then
 * the spec's command as the image's user; with `spec.relay`, `loom lab-relay` first (the image's own
 * entrypoint), which rebuilds the workspace from the gateway and then runs the jail.
 */
export function jailedCommand(spec: RunSpec, facts: ImageFacts, network: "none" | "host"): JailedCommand {
  const program = spec.entrypoint !== undefined ? [spec.entrypoint] : [...facts.entrypoint];
  const [uid, gid] = userIds(facts.user);
  const jailed = [
    "sh",
    "-c",
    JAIL,
    "loom-jail",
    JAIL,
    network,
    uid,
    gid,
    spec.noNewPrivileges ? "1" : "0",
    ...program,
    ...spec.command,
  ];
  const capabilities = network === "none" || spec.relay ? ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"] : [];
  if (!spec.relay) return { argv: jailed, env: [], capabilities, cacheVolume: false };
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid))
    throw new RuntimeError(
      "INVALID_SPEC",
      `a relayed task needs the image's user as numbers (uid:gid), not ${JSON.stringify(facts.user)}`,
    );
  // The relay is the image's own program (its entrypoint), as root on the host's network, then the jail.
  return {
    argv: [
      ...facts.entrypoint,
      "lab-relay",
      "--uid",
      uid,
      "--gid",
      gid,
      ...(spec.workdir ? ["--workspace", spec.workdir] : []),
      "--",
      ...jailed,
    ],
    env: [`LOOM_RELAY_URL=${spec.relay.url}`, `LOOM_RELAY_TOKEN=${spec.relay.token}`],
    capabilities,
    cacheVolume: true,
  };
}
