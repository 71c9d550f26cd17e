import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, promises as fs, openSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { NAME_PREFIX, reapCluster, reapSwarmClusters, writeRecord } from "./swarm-cluster-reap.ts";
import { type EngineNode, engineRequest } from "./swarm-engine-api.ts";
import { ClusterRelays } from "./swarm-relay.ts";

/**
 * A Docker Swarm of several engines on this one machine, for multi-node tests.
 *
 * The host's own engine binds the gossip port on every address (`*:7946`) and dockerd has no flag to
 * move it, so extra engines cannot share the host's network namespace. Each node gets its own:
 * `loom-sw-<id>-n<k>` with the address 127.0.0.<k+1> on a veth into a hub namespace `loom-sw-<id>-hub`
 * (a bridge, and 127.0.0.254 for this host's relayed ports). Loopback-range addresses are routed
 * between these namespaces with `route_localnet`; IPv6 is off in them, and no namespace has a route
 * anywhere else, so no traffic can leave them. The host's own namespace gets no address at all.
 *
 * Each node's dockerd (with its own containerd) runs as the init of its own pid, mount and UTS
 * namespaces: `kill()` takes the whole node down at once (engine, containerd, shims, containers), its
 * mounts vanish with its mount namespace, and its hostname is its own. Its containers' cgroups are under
 * `/loom-sw-<id>-n<k>`. The swarm has no ingress network (removed at init, so no node builds the
 * routing mesh or a docker_gwbridge): services run with `--network host`, i.e. in their node's namespace.
 *
 * Everything is named after the cluster id and reaped by name (swarm-cluster-reap.ts), by `stop()` and,
 * after a killed run, by the next `startSwarmCluster`.
 */

export const SWARM_ROOT = "/tmp/loom-swarm";
/** Where nodes reach a port of this host exposed with `exposeHostPort`. */
export const HUB_ADDRESS = "127.0.0.254";
const MAX_NODES = 8;

export interface SwarmClusterOptions {
  /** Engines in the swarm, 1–8 (default 3). Node k has the address 127.0.0.<k+1>. */
  nodes?: number;
  /** How many of them are managers (default 1: n1 only; the others are workers). */
  managers?: number;
  /** Images copied from the host's engine into every node (`docker save` once, `docker load` each). */
  images?: string[];
  /** The swarm's dispatcher heartbeat: a node is marked down a few heartbeats after it dies (default 1000). */
  heartbeatMs?: number;
  /** More dockerd flags for every node (e.g. `--registry-mirror=…`); each must start with `--`. */
  dockerdArgs?: string[];
  /** The whole start, images included, must finish within this (default 90 000); else it fails with each engine's log tail. */
  timeoutMs?: number;
}

export interface SwarmNode {
  /** "n1", "n2", … */
  readonly name: string;
  readonly role: "manager" | "worker";
  /** The swarm node id (`node.id` in placement constraints). */
  readonly id: string;
  /** `node.hostname`: loom-sw-<cluster id>-n<k>. */
  readonly hostname: string;
  /** 127.0.0.<k+1>: its swarm listen, advertise and data-path address. */
  readonly address: string;
  /** unix://…/docker.sock, for `docker -H`. */
  readonly dockerHost: string;
  /** Its network namespace, under /run/netns. */
  readonly netns: string;
  /** Its engine's log (dockerd and containerd). */
  readonly logFile: string;
  /** Host pid of the node's init: killing it kills every process of the node. */
  readonly pid: number;
  alive(): boolean;
  /** Kills the node hard (SIGKILL to its pid namespace: engine, containerd, containers) and waits for it to be gone. */
  kill(): Promise<void>;
}

export interface SwarmCluster {
  readonly id: string;
  readonly dir: string;
  /** The manager's (n1's) docker host, unix://… */
  readonly managerHost: string;
  readonly nodes: readonly SwarmNode[];
  /** Where nodes reach ports exposed with `exposeHostPort` (127.0.0.254). */
  readonly hubAddress: string;
  /** Milliseconds the start took, images included. */
  readonly startMs: number;
  /** `docker -H <node or manager> ...args`, never throwing: read exitCode. */
  docker(
    args: string[],
    options?: { node?: SwarmNode; timeoutMs?: number },
  ): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  /** The manager's view of every node. */
  nodeStates(): Promise<
    Array<{ id: string; hostname: string; role: string; state: string; address: string }>
  >;
  /** Copies images from the host's engine into every live node, or into `onto` only. */
  loadImages(images: string[], onto?: readonly SwarmNode[]): Promise<void>;
  /** Makes 127.0.0.1:`port` of this host reachable from every node at `hubAddress`:`port`. */
  exposeHostPort(port: number): Promise<{ host: string; port: number }>;
  /**
   * Makes 127.0.0.1:`port` of this host reachable at 127.0.0.1:`port` inside every node's namespace
   * (each node's own loopback), so one address serves on this host and on every node, as on a
   * single-node swarm: e.g. a registry's `127.0.0.1:PORT/name@sha256:…` reference.
   */
  exposeHostPortOnNodes(port: number): Promise<void>;
  /** A 127.0.0.1 port of this host that leads to `address`:`port` on the cluster network. */
  reach(address: string, port: number): Promise<{ host: string; port: number }>;
  /**
   * On this host, listens on every node's address at `port` (127.0.0.2:port, …) and leads each to that
   * node: a node's `Status.Addr`:port, as a swarm runtime computes a task's endpoint, then works from here.
   */
  mirrorNodePort(port: number): Promise<void>;
  /** Removes everything the cluster made; idempotent, safe on every path. */
  stop(): Promise<void>;
}

const REQUIRED = [
  "dockerd",
  "containerd",
  "docker-init",
  "docker",
  "ip",
  "nsenter",
  "unshare",
  "setpriv",
  "sysctl",
];

/**
 * Why a swarm cluster cannot be started here, or undefined when it can. Suites skip with this reason;
 * under LOOM_REQUIRE_ENGINES=1 its absence throws.
 */
export async function swarmClusterUnavailable(
  what: string,
  /** As another user or requirement would see it (tests of this helper). */
  as: { uid?: number; require?: boolean } = {},
): Promise<string | undefined> {
  const reason = await whyUnavailable(as.uid ?? process.getuid?.());
  if (reason === undefined) return undefined;
  if (as.require ?? process.env.LOOM_REQUIRE_ENGINES === "1")
    throw new Error(`LOOM_REQUIRE_ENGINES=1 but ${reason}`);
  console.warn(`skipping ${what}: ${reason}`);
  return reason;
}

async function whyUnavailable(uid: number | undefined): Promise<string | undefined> {
  if (process.platform !== "linux")
    return `a swarm cluster needs Linux namespaces (this is ${process.platform})`;
  if (uid !== 0) return "a swarm cluster needs root (network, pid and mount namespaces, dockerd)";
  const missing: string[] = [];
  for (const program of REQUIRED) {
    const r = await execa("sh", ["-c", `command -v ${program}`], { reject: false, stdin: "ignore" });
    if (r.exitCode !== 0) missing.push(program);
  }
  if (missing.length > 0)
    return `a swarm cluster needs ${missing.join(", ")} on PATH (Debian: docker.io, iproute2, util-linux)`;
  const probe = `${NAME_PREFIX}probe-${process.pid}`;
  const add = await execa("ip", ["netns", "add", probe], { reject: false, stdin: "ignore" });
  await execa("ip", ["netns", "delete", probe], { reject: false, stdin: "ignore" });
  if (add.exitCode !== 0) return `ip netns add fails here: ${add.stderr.trim()}`;
  return undefined;
}

class Deadline {
  private readonly end: number;
  constructor(
    readonly ms: number,
    private readonly what: string,
  ) {
    this.end = Date.now() + ms;
  }
  left(): number {
    return this.end - Date.now();
  }
  check(step: string): void {
    if (this.left() <= 0) throw new Error(`${this.what}: ${step} did not finish within ${this.ms} ms`);
  }
}

/** Thrown by a probe to stop waiting at once (an engine that exited will not come up later). */
class Fatal extends Error {}

async function until<T>(
  deadline: Deadline,
  step: string,
  probe: () => Promise<T | undefined>,
  everyMs = 100,
): Promise<T> {
  let last: unknown;
  for (;;) {
    try {
      const got = await probe();
      if (got !== undefined) return got;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    if (deadline.left() <= 0) {
      throw new Error(
        `${step}: not done within ${deadline.ms} ms${last ? ` (last error: ${String(last)})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function tail(file: string, lines = 25): Promise<string> {
  const text = await fs.readFile(file, "utf8").catch(() => "(no log)");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** One shell script makes every namespace, link and address (a process per `ip` call is the cost). */
function networkScript(id: string, count: number): string {
  const hub = `${NAME_PREFIX}${id}-hub`;
  const lines = [
    `mk() { ip netns add "$1"; ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.default.route_localnet=1; ip -n "$1" link set lo up; ip -n "$1" addr del 127.0.0.1/8 dev lo; ip -n "$1" addr add 127.0.0.1/32 dev lo; }`,
    // Only 127.0.0.1 stays local to each namespace; the rest of 127.0.0.0/24 is the cluster network.
    `mk ${hub}`,
    `ip -n ${hub} link add br0 type bridge`,
    `ip -n ${hub} link set br0 up`,
    `ip -n ${hub} addr add ${HUB_ADDRESS}/24 dev br0`,
  ];
  for (let k = 1; k <= count; k++) {
    const ns = `${NAME_PREFIX}${id}-n${k}`;
    lines.push(
      `mk ${ns}`,
      `ip -n ${hub} link add n${k} type veth peer name eth0 netns ${ns}`,
      `ip -n ${hub} link set n${k} master br0 up`,
      `ip -n ${ns} addr add 127.0.0.${k + 1}/24 dev eth0`,
      `ip -n ${ns} link set eth0 up`,
    );
  }
  return lines.join("\n");
}

/**
 * Runs as the init of the node's new pid, mount and UTS namespaces: its own hostname, /proc, and
 * private /run/containerd (shim sockets), /run/docker and /etc/docker (the engine key), then dockerd
 * under docker-init (which reaps orphans). The host's files under those paths are never touched.
 */
const NODE_INIT = `
hostname "$1"; shift
mount -t proc proc /proc
for d in /run/containerd /run/docker /etc/docker; do [ -d "$d" ] || mkdir -p "$d"; mount -t tmpfs -o mode=0711 tmpfs "$d"; done
exec docker-init -- "$@"
`;

interface StartedNode {
  name: string;
  index: number;
  dir: string;
  socket: string;
  netns: string;
  hostname: string;
  address: string;
  logFile: string;
  child: ChildProcess;
  exited: Promise<void>;
  pid: number;
}

async function startEngine(clusterDir: string, id: string, k: number, extra: string[]): Promise<StartedNode> {
  const name = `n${k}`;
  const dir = path.join(clusterDir, name);
  await fs.mkdir(path.join(dir, "data"), { recursive: true });
  await fs.mkdir(path.join(dir, "exec"), { recursive: true });
  await fs.writeFile(path.join(dir, "daemon.json"), "{}\n");
  const socket = path.join(dir, "docker.sock");
  const netns = `${NAME_PREFIX}${id}-${name}`;
  const logFile = path.join(dir, "engine.log");
  const log = openSync(logFile, "a");
  const dockerd = [
    "dockerd",
    `--config-file=${dir}/daemon.json`,
    `--data-root=${dir}/data`,
    `--exec-root=${dir}/exec`,
    `--pidfile=${dir}/docker.pid`,
    `--host=unix://${socket}`,
    `--cgroup-parent=/${netns}`,
    "--bridge=none",
    "--iptables=false",
    "--ip6tables=false",
    "--ip-masq=false",
    ...extra,
  ];
  // pdeathsig: if this process dies, the node dies with it (the next run still reaps what is left).
  const child = spawn(
    "setpriv",
    [
      "--pdeathsig",
      "SIGKILL",
      "--",
      "nsenter",
      `--net=/run/netns/${netns}`,
      "--",
      "unshare",
      "--pid",
      "--fork",
      "--kill-child",
      "--mount",
      "--uts",
      "--propagation",
      "private",
      "--",
      "sh",
      "-euc",
      NODE_INIT,
      "node-init",
      netns,
      ...dockerd,
    ],
    { stdio: ["ignore", log, log] },
  );
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const node: StartedNode = {
    name,
    index: k,
    dir,
    socket,
    netns,
    hostname: netns,
    address: `127.0.0.${k + 1}`,
    logFile,
    child,
    exited,
    pid: 0,
  };
  return node;
}

/** The host pid of the forked init (the child of `unshare --fork`). */
async function initPid(node: StartedNode, deadline: Deadline): Promise<number> {
  const pid = node.child.pid;
  if (pid === undefined) throw new Error(`${node.name}: setpriv did not start`);
  return until(
    deadline,
    `${node.name}: its pid namespace's init`,
    async () => {
      if (node.child.exitCode !== null || node.child.signalCode !== null) {
        throw new Fatal(`${node.name} exited (${node.child.exitCode ?? node.child.signalCode})`);
      }
      const children = await fs.readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
      const first = children.trim().split(" ")[0];
      return first ? Number(first) : undefined;
    },
    20,
  );
}

async function waitEngine(node: StartedNode, deadline: Deadline): Promise<void> {
  await until(deadline, `${node.name}: dockerd answering on ${node.socket}`, async () => {
    if (node.child.exitCode !== null || node.child.signalCode !== null) {
      throw new Fatal(`${node.name}'s engine exited (${node.child.exitCode ?? node.child.signalCode})`);
    }
    const ok = await engineRequest<string>(node.socket, "GET", "/_ping", undefined, 2_000).catch(
      () => undefined,
    );
    return ok === "OK" ? true : undefined;
  });
}

export async function startSwarmCluster(options: SwarmClusterOptions = {}): Promise<SwarmCluster> {
  const count = options.nodes ?? 3;
  const managers = options.managers ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new Error(`startSwarmCluster: nodes must be an integer from 1 to ${MAX_NODES}, got ${count}`);
  }
  if (!Number.isInteger(managers) || managers < 1 || managers > count) {
    throw new Error(
      `startSwarmCluster: managers must be an integer from 1 to nodes (${count}), got ${managers}`,
    );
  }
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 100) {
    throw new Error(`startSwarmCluster: heartbeatMs must be an integer ≥ 100, got ${heartbeatMs}`);
  }
  const extra = options.dockerdArgs ?? [];
  const badArg = extra.find((a) => typeof a !== "string" || !a.startsWith("--"));
  if (badArg !== undefined) {
    throw new Error(
      `startSwarmCluster: dockerdArgs are flags starting with "--", got ${JSON.stringify(badArg)}`,
    );
  }
  const unavailable = await whyUnavailable(process.getuid?.());
  if (unavailable) throw new Error(`startSwarmCluster: ${unavailable}`);

  const started = Date.now();
  const deadline = new Deadline(options.timeoutMs ?? 90_000, "startSwarmCluster");
  await fs.mkdir(SWARM_ROOT, { recursive: true });
  await reapSwarmClusters(SWARM_ROOT);
  const id = randomBytes(4).toString("hex");
  const dir = path.join(SWARM_ROOT, id);
  await fs.mkdir(dir);
  await writeRecord(dir, id);

  const relays = new ClusterRelays(path.join(dir, "relay"));
  const hub = `${NAME_PREFIX}${id}-hub`;
  const engines: StartedNode[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await relays.close().catch(() => {});
      await reapCluster(SWARM_ROOT, id);
      // Bounded: reapCluster has already waited for every process naming the folder to be gone.
      await Promise.race([
        Promise.all(engines.map((e) => e.exited)),
        new Promise((r) => setTimeout(r, 10_000).unref()),
      ]);
    })();
    return stopping;
  };

  try {
    const net = await execa("sh", ["-euc", networkScript(id, count)], { reject: false, stdin: "ignore" });
    if (net.exitCode !== 0)
      throw new Error(`making the cluster's network namespaces failed: ${net.stderr.trim()}`);

    for (let k = 1; k <= count; k++) engines.push(await startEngine(dir, id, k, extra));
    for (const e of engines) e.pid = await initPid(e, deadline);
    await Promise.all(engines.map((e) => waitEngine(e, deadline)));

    const manager = engines[0] as StartedNode;
    await engineRequest(manager.socket, "POST", "/swarm/init", {
      ListenAddr: `${manager.address}:2377`,
      AdvertiseAddr: `${manager.address}:2377`,
      DataPathAddr: manager.address,
      Spec: {
        Dispatcher: { HeartbeatPeriod: heartbeatMs * 1_000_000 },
        Orchestration: { TaskHistoryRetentionLimit: 5 },
      },
    });
    // No routing mesh. Init creates the ingress network and the manager then joins an ingress sandbox
    // to a docker_gwbridge of its own. Removing ingress once that sandbox exists (rather than as soon as
    // ingress does) leaves nothing to be made afterwards; then docker_gwbridge can go. Workers join a
    // swarm with no ingress, so they make neither.
    await until(deadline, "the manager's ingress sandbox", async () => {
      // 404 until the sandbox makes docker_gwbridge; then empty until the sandbox has joined it.
      const gw = await engineRequest<{ Containers?: object }>(
        manager.socket,
        "GET",
        "/networks/docker_gwbridge",
      );
      return Object.keys(gw.Containers ?? {}).length > 0 ? true : undefined;
    });
    await engineRequest(manager.socket, "DELETE", "/networks/ingress");
    await until(deadline, "removing the manager's docker_gwbridge", async () => {
      const nets = await engineRequest<Array<{ Name: string }>>(manager.socket, "GET", "/networks");
      if (!nets.some((n) => n.Name === "docker_gwbridge")) return true;
      await engineRequest(manager.socket, "DELETE", "/networks/docker_gwbridge"); // refused while the sandbox holds it
      return undefined;
    });
    const swarm = await engineRequest<{ JoinTokens: { Worker: string; Manager: string } }>(
      manager.socket,
      "GET",
      "/swarm",
    );
    await Promise.all(
      engines.slice(1).map((e) =>
        engineRequest(
          e.socket,
          "POST",
          "/swarm/join",
          {
            ListenAddr: `${e.address}:2377`,
            AdvertiseAddr: `${e.address}:2377`,
            DataPathAddr: e.address,
            RemoteAddrs: [`${manager.address}:2377`],
            JoinToken: e.index <= managers ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker,
          },
          Math.max(1_000, deadline.left()),
        ),
      ),
    );
    const ids = await until(deadline, `all ${count} nodes Ready`, async () => {
      const nodes = await engineRequest<EngineNode[]>(manager.socket, "GET", "/nodes");
      const ready = nodes.filter((n) => n.Status.State === "ready");
      if (ready.length < count) return undefined;
      return new Map(ready.map((n) => [n.Description.Hostname, n.ID]));
    });
    const nodes: SwarmNode[] = engines.map((e) => ({
      name: e.name,
      role: e.index <= managers ? "manager" : "worker",
      id: ids.get(e.hostname) as string,
      hostname: e.hostname,
      address: e.address,
      dockerHost: `unix://${e.socket}`,
      netns: e.netns,
      logFile: e.logFile,
      pid: e.pid,
      alive: () => e.child.exitCode === null && e.child.signalCode === null,
      kill: async () => {
        try {
          process.kill(e.pid, "SIGKILL");
        } catch {}
        await e.exited;
      },
    }));

    const docker: SwarmCluster["docker"] = async (args, opts = {}) => {
      const host = (opts.node ?? nodes[0]!).dockerHost;
      const r = await execa("docker", ["-H", host, ...args], {
        reject: false,
        stdin: "ignore",
        timeout: opts.timeoutMs ?? 30_000,
      });
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? 1 };
    };

    const loadImages = async (images: string[], onto: readonly SwarmNode[] = nodes) => {
      if (images.length === 0) return;
      const tar = path.join(dir, "images.tar");
      const save = await execa("docker", ["save", "-o", tar, ...images], { reject: false, stdin: "ignore" });
      if (save.exitCode !== 0)
        throw new Error(`docker save ${images.join(" ")} failed: ${save.stderr.trim()}`);
      try {
        await Promise.all(
          onto
            .filter((n) => n.alive())
            .map(async (n) => {
              const r = await docker(["load", "-q", "-i", tar], { node: n, timeoutMs: 120_000 });
              if (r.exitCode !== 0) throw new Error(`docker load on ${n.name} failed: ${r.stderr.trim()}`);
            }),
        );
      } finally {
        await fs.rm(tar, { force: true });
      }
    };
    if (options.images && options.images.length > 0) {
      deadline.check("copying images");
      await loadImages(options.images);
    }

    return {
      id,
      dir,
      managerHost: nodes[0]!.dockerHost,
      nodes,
      hubAddress: HUB_ADDRESS,
      startMs: Date.now() - started,
      docker,
      nodeStates: async () => {
        const list = await engineRequest<EngineNode[]>(manager.socket, "GET", "/nodes");
        return list.map((n) => ({
          id: n.ID,
          hostname: n.Description.Hostname,
          role: n.Spec.Role,
          state: n.Status.State,
          address: n.Status.Addr,
        }));
      },
      loadImages,
      exposeHostPort: async (port) => {
        await relays.exposeHostPort(hub, { host: HUB_ADDRESS, port }, port);
        return { host: HUB_ADDRESS, port };
      },
      exposeHostPortOnNodes: async (port) => {
        for (const n of nodes) await relays.exposeHostPort(n.netns, { host: "127.0.0.1", port }, port);
      },
      reach: (address, port) => relays.reach(hub, { host: address, port }),
      mirrorNodePort: async (port) => {
        for (const n of nodes) await relays.reach(hub, { host: n.address, port }, { host: n.address, port });
      },
      stop,
    };
  } catch (err) {
    const tails = await Promise.all(
      engines.map(async (e) => `--- ${e.name} (${e.logFile}):\n${await tail(e.logFile)}`),
    );
    await stop().catch(() => {});
    throw new Error(
      `startSwarmCluster failed (cluster ${id} in ${dir}): ${(err as Error).message}\n${tails.join("\n")}`,
      {
        cause: err,
      },
    );
  }
}
