import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import { pushImage } from "../../../src/supervisor/registry/push-image.ts";
import { type RunningRegistry, startRegistry } from "../../../src/supervisor/registry/registry-process.ts";
import { SwarmRuntime } from "../../../src/supervisor/runtime/swarm.ts";
import {
  HUB_ADDRESS,
  SWARM_ROOT,
  type SwarmCluster,
  startSwarmCluster,
  swarmClusterUnavailable,
} from "../../helpers/swarm-cluster.ts";
import {
  netnsOf,
  processesNaming,
  processStart,
  reapSwarmClusters,
} from "../../helpers/swarm-cluster-reap.ts";
import type { EngineTask } from "../../helpers/swarm-engine-api.ts";
import { engineRequest } from "../../helpers/swarm-engine-api.ts";
import { registryInstalled, testRegistryRoot } from "../registry/registry-helpers.ts";
import { ensureTestImage, TEST_IMAGE } from "./test-image.ts";

/**
 * The multi-node swarm the swarm runtime's tests run on: three engines on this machine, each in its
 * own namespaces, joined into one swarm on 127.0.0.2–4 (test/helpers/swarm-cluster.ts says how).
 */

const unavailable = await swarmClusterUnavailable("the swarm cluster tests");
const CHILD = fileURLToPath(new URL("./fixtures/start-swarm-cluster.ts", import.meta.url));
/** The test image's name when pushed to the test's registry (tags removed before and after). */
const PUSHED_REPO = "loom-swarm-cluster-test";

async function removePushedTags(): Promise<void> {
  const r = await execa("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], { reject: false });
  const tags = r.stdout.split("\n").filter((t) => t.split("/").at(-1)?.startsWith(`${PUSHED_REPO}:`));
  if (tags.length > 0) await execa("docker", ["rmi", ...tags], { reject: false });
}

/** cgroups named `prefix…` at the top of any hierarchy (v1: one per controller; v2: the root itself). */
async function cgroupsNamed(prefix: string): Promise<string[]> {
  const found: string[] = [];
  const roots = [
    "/sys/fs/cgroup",
    ...(await fs.readdir("/sys/fs/cgroup")).map((c) => path.join("/sys/fs/cgroup", c)),
  ];
  for (const root of roots) {
    for (const entry of await fs.readdir(root).catch(() => [])) {
      if (entry.startsWith(prefix)) found.push(path.join(root, entry));
    }
  }
  return found;
}

/** Everything of a cluster that could outlive it, by name. */
async function leftovers(id: string, dir: string) {
  const mounts = (await fs.readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .filter((l) => l.includes(dir));
  return {
    processes: await processesNaming(`${dir}/`),
    netns: await netnsOf(id),
    cgroups: await cgroupsNamed(`loom-sw-${id}-`),
    mounts,
    dir: await fs.stat(dir).then(
      () => true,
      () => false,
    ),
  };
}
const NOTHING = { processes: [], netns: [], cgroups: [], mounts: [], dir: false };

/** "gone" for no process or a zombie (this VM's init reaps orphans late), else its state letter. */
async function aliveState(pid: number): Promise<string> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "";
  return state === "" || state === "Z" ? "gone" : state;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { timeout: 2_000 }, (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

describe("startSwarmCluster's input", () => {
  it("refuses a node count or manager count it cannot make, naming the value", async () => {
    await expect(startSwarmCluster({ nodes: 0 })).rejects.toThrow(
      "nodes must be an integer from 1 to 8, got 0",
    );
    await expect(startSwarmCluster({ nodes: 2, managers: 3 })).rejects.toThrow(
      "managers must be an integer from 1 to nodes (2), got 3",
    );
    await expect(startSwarmCluster({ heartbeatMs: 5 })).rejects.toThrow(
      "heartbeatMs must be an integer ≥ 100, got 5",
    );
  });
});

describe("a machine that cannot run a swarm cluster", () => {
  // As an unprivileged user sees it (no namespaces, no dockerd); in-process, so it does not depend on
  // whether that user can read this checkout.
  it("gives a reason to skip, and under LOOM_REQUIRE_ENGINES=1 fails instead", async () => {
    expect(await swarmClusterUnavailable("the probe", { uid: 65534, require: false })).toBe(
      "a swarm cluster needs root (network, pid and mount namespaces, dockerd)",
    );
    await expect(swarmClusterUnavailable("the probe", { uid: 65534, require: true })).rejects.toThrow(
      "LOOM_REQUIRE_ENGINES=1 but a swarm cluster needs root (network, pid and mount namespaces, dockerd)",
    );
  });
});

describe.skipIf(unavailable !== undefined)("a swarm of three engines on one machine", () => {
  let cluster: SwarmCluster;
  let hostServer: http.Server;
  let registry: RunningRegistry | undefined;
  let registryRoot: string | undefined;
  /** What services run: pinned by digest in a registry on this host's 127.0.0.1, when there is one. */
  let image = TEST_IMAGE;
  const greeted: string[] = [];

  beforeAll(async () => {
    await removePushedTags();
    await ensureTestImage();
    const haveRegistry = registryInstalled();
    cluster = await startSwarmCluster({ nodes: 3, images: haveRegistry ? [] : [TEST_IMAGE] });
    console.info(`[swarm-cluster] 3 nodes up in ${cluster.startMs} ms`);
    if (haveRegistry) {
      // Every node pulls from the host's registry at the same 127.0.0.1:PORT the host pushed to.
      const pushedAt = Date.now();
      registryRoot = await testRegistryRoot();
      registry = await startRegistry({
        dir: path.join(registryRoot, "swarm"),
        port: await freePort(),
      });
      await execa("docker", ["tag", TEST_IMAGE, `${PUSHED_REPO}:latest`]);
      image = (await pushImage({ image: `${PUSHED_REPO}:latest`, registry: registry.address })).reference;
      await cluster.exposeHostPortOnNodes(Number(registry.address.split(":")[1]));
      console.info(
        `[swarm-cluster] registry started and ${TEST_IMAGE} pushed in ${Date.now() - pushedAt} ms`,
      );
    } else console.warn(`[swarm-cluster] no docker-registry: ${TEST_IMAGE} loaded into each node instead`);
    // Stands for the Supervisor: a server on this host's 127.0.0.1.
    hostServer = http.createServer((req, res) => {
      const from = new URL(req.url ?? "/", "http://x").searchParams.get("from") ?? "?";
      greeted.push(from);
      res.end(`hello ${from}`);
    });
    await new Promise<void>((r) => hostServer.listen(0, "127.0.0.1", r));
  }, 120_000);

  afterAll(async () => {
    hostServer?.close();
    await cluster?.stop();
    await registry?.stop();
    if (registryRoot) await fs.rm(registryRoot, { recursive: true, force: true });
    await removePushedTags();
  }, 180_000); // engines ending beside a loaded suite: a minute and more

  it("has three Ready nodes on 127.0.0.2–4, n1 the manager, each with its own hostname", async () => {
    const states = (await cluster.nodeStates()).sort((a, b) => a.address.localeCompare(b.address));
    expect(states).toEqual(
      cluster.nodes.map((n) => ({
        id: n.id,
        hostname: n.hostname,
        role: n.role,
        state: "ready",
        address: n.address,
      })),
    );
    expect(cluster.nodes.map((n) => [n.address, n.role])).toEqual([
      ["127.0.0.2", "manager"],
      ["127.0.0.3", "worker"],
      ["127.0.0.4", "worker"],
    ]);
    // Host networking only: no ingress, no routing mesh, no docker_gwbridge on any node.
    for (const node of cluster.nodes) {
      const nets = await cluster.docker(["network", "ls", "--format", "{{.Name}}"], { node });
      expect(nets.stdout.split("\n").sort()).toEqual(["host", "none"]);
    }
  });

  it("runs a job on every node (pulled by digest through each node's 127.0.0.1); tasks and this host reach each other; logs come back through the manager", async () => {
    const hostPort = (hostServer.address() as AddressInfo).port;
    // Two ways a task reaches this host: its node's own 127.0.0.1:port, or the hub's address.
    await cluster.exposeHostPortOnNodes(hostPort);
    const hub = await cluster.exposeHostPort(hostPort);
    expect(hub).toEqual({ host: HUB_ADDRESS, port: hostPort });
    const taskPort = await freePort();
    // And this host reaches a task at its node's address, as a swarm runtime computes an endpoint.
    await cluster.mirrorNodePort(taskPort);
    const script = [
      'const http = require("node:http");',
      "const me = process.env.NODE_NAME;",
      "const ask = (url) => new Promise((ok, no) => http.get(url + me, (res) => {",
      '  let b = ""; res.on("data", (c) => b += c); res.on("end", () => ok(b)); }).on("error", no));',
      "(async () => {",
      '  console.log("host answered: " + await ask(process.env.HOST_URL) + " / " + await ask(process.env.HUB_URL));',
      `  const s = http.createServer((q, r) => { r.end(me); s.close(); }); s.listen(${taskPort});`,
      "})();",
    ].join("\n");
    const create = await cluster.docker([
      "service",
      "create",
      "--detach",
      "--name",
      "on-every-node",
      "--mode",
      "replicated-job",
      "--replicas",
      "3",
      "--max-concurrent",
      "3",
      "--replicas-max-per-node",
      "1",
      "--network",
      "host",
      "--restart-condition",
      "none",
      "--env",
      "NODE_NAME={{.Node.Hostname}}",
      "--env",
      `HOST_URL=http://127.0.0.1:${hostPort}/?from=`,
      "--env",
      `HUB_URL=http://${hub.host}:${hub.port}/?from=`,
      image,
      "node",
      "-e",
      script,
    ]);
    expect(create.exitCode, create.stderr).toBe(0);

    for (const node of cluster.nodes) {
      const url = `http://${node.address}:${taskPort}/`;
      expect(await waitFor(`${node.name}'s task at ${url}`, 30_000, () => get(url))).toBe(node.hostname);
    }
    const manager = cluster.managerHost.slice("unix://".length);
    const tasks = await waitFor("three complete tasks", 30_000, async () => {
      const all = await engineRequest<EngineTask[]>(
        manager,
        "GET",
        `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ["on-every-node"] }))}`,
      );
      return all.length === 3 && all.every((t) => t.Status.State === "complete") ? all : undefined;
    });
    expect(new Set(tasks.map((t) => t.NodeID))).toEqual(new Set(cluster.nodes.map((n) => n.id)));
    expect(greeted.sort()).toEqual(cluster.nodes.flatMap((n) => [n.hostname, n.hostname]));

    const logs = await cluster.docker(["service", "logs", "--raw", "on-every-node"]);
    expect(logs.stdout.split("\n").sort()).toEqual(
      cluster.nodes.map((n) => `host answered: hello ${n.hostname} / hello ${n.hostname}`),
    );
    if (registry) {
      const pulled = await Promise.all(
        cluster.nodes.map((node) =>
          cluster.docker(["image", "inspect", "--format", "{{index .RepoDigests 0}}", image], { node }),
        ),
      );
      expect(pulled.map((r) => r.stdout)).toEqual(cluster.nodes.map(() => image));
    }
    expect((await cluster.docker(["service", "rm", "on-every-node"])).exitCode).toBe(0);
  }, 60_000);

  it("a task names nothing of the Supervisor's host, so it lands where the constraints say: on a worker", async () => {
    const workers = new SwarmRuntime({
      host: cluster.managerHost,
      resolveImage: async (i) => i,
      constraints: ["node.role==worker"],
      pollMs: 100,
    });
    // A host folder is not something a swarm task can be given (the runtime interface has no mounts).
    await expect(
      workers.run({ image, command: ["true"], mounts: [{ host: "/tmp", container: "/m" }] } as never),
    ).rejects.toMatchObject({ code: "INVALID_SPEC" });
    const h = await workers.run({
      image,
      command: ["sh", "-c", "echo from-a-worker"],
      labels: { "loom.test": "swarm-cluster-placed" },
    });
    expect(await workers.wait(h.id, { timeoutMs: 30_000 })).toEqual({ kind: "exited", exitCode: 0 });
    const placed = await workers.placement(h.id);
    const node = cluster.nodes.find((n) => n.id === placed?.nodeId);
    expect(node?.role).toBe("worker");
    expect(await workers.logs(h.id)).toContain("from-a-worker");
    await workers.remove(h.id);
  }, 60_000);

  it("kill(): the manager marks the node down within seconds; its task never completes in Swarm's view, and the swarm runtime ends it with the reason", async () => {
    const [n1, n2, n3] = cluster.nodes;
    if (!n1 || !n2 || !n3) throw new Error("three nodes expected");
    const create = await cluster.docker([
      "service",
      "create",
      "--detach",
      "--name",
      "on-n3",
      "--mode",
      "replicated-job",
      "--network",
      "host",
      "--restart-condition",
      "none",
      "--constraint",
      `node.id==${n3.id}`,
      image,
      "sh",
      "-c",
      "echo started; sleep 300",
    ]);
    expect(create.exitCode, create.stderr).toBe(0);
    // The same through the swarm runtime, placed on n3, serving on a port this host reaches at n3's address.
    if (registry) expect((await cluster.docker(["pull", "-q", image])).exitCode).toBe(0); // its facts, on the manager
    const runtime = new SwarmRuntime({
      host: cluster.managerHost,
      constraints: [`node.id==${n3.id}`],
      resolveImage: async (i) => i,
      pollMs: 100,
    });
    const port = await freePort();
    await cluster.mirrorNodePort(port);
    const handle = await runtime.run({
      image,
      command: ["node", "-e", `require("node:http").createServer((q, r) => r.end("up")).listen(${port})`],
      network: "host",
      labels: { "loom.test": "swarm-cluster" },
    });
    expect((await runtime.placement(handle.id))?.address).toBe(n3.address);
    expect(
      await waitFor("the runtime's task serving", 30_000, () => get(`http://${n3.address}:${port}/`)),
    ).toBe("up");

    const manager = cluster.managerHost.slice("unix://".length);
    const task = () =>
      engineRequest<EngineTask[]>(
        manager,
        "GET",
        `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ["on-n3"] }))}`,
      ).then((t) => t[0]);
    await waitFor("the task running on n3", 30_000, async () =>
      (await task())?.Status.State === "running" ? true : undefined,
    );

    const killedAt = Date.now();
    await n3.kill();
    expect(n3.alive()).toBe(false);
    // Engine, containerd, shim and the task's `sleep` went with the node's pid namespace.
    expect(await processesNaming(`${cluster.dir}/n3/`)).toEqual([]);
    const waited = runtime
      .wait(handle.id, { timeoutMs: 30_000 })
      .then((w) => ({ ...w, ms: Date.now() - killedAt }));
    const down = await waitFor("n3 down", 30_000, async () => {
      const n = (await cluster.nodeStates()).find((s) => s.id === n3.id);
      return n?.state === "down" ? Date.now() - killedAt : undefined;
    });
    const ended = await waited;
    console.info(
      `[swarm-cluster] killed node seen down after ${down} ms (heartbeat 1 s); the runtime's wait ended after ${ended.ms} ms`,
    );
    // Swarm never hears from the task again: it stays "running" (desired "complete") on a down node.
    // Whoever waits on it must read the node's state, not the task's — as the runtime does.
    const after = await task();
    expect(after?.NodeID).toBe(n3.id);
    expect(after?.Status.State).not.toBe("complete");
    expect(ended.kind).toBe("exited");
    expect(await runtime.logs(handle.id)).toContain(`swarm node ${n3.hostname} (${n3.address}) is down`);
    expect((await cluster.nodeStates()).filter((s) => s.state === "ready").map((s) => s.id)).toEqual(
      expect.arrayContaining([n1.id, n2.id]),
    );
    await runtime.remove(handle.id);
    await cluster.docker(["service", "rm", "on-n3"]);
    expect((await cluster.docker(["service", "ls", "-q"])).stdout).toBe("");
  }, 60_000);

  it("stop() leaves no process, namespace, cgroup, mount or file behind, and can be called again", async () => {
    const { id, dir } = cluster;
    const stoppedAt = Date.now();
    await cluster.stop();
    console.info(`[swarm-cluster] stopped in ${Date.now() - stoppedAt} ms`);
    expect(await leftovers(id, dir)).toEqual(NOTHING);
    await cluster.stop();
  }, 180_000);
});

describe.skipIf(unavailable !== undefined)("a cluster that cannot start", () => {
  const clusterOf = (err: unknown) => {
    const m = /cluster ([0-9a-f]{8}) in (\S+)\)/.exec(String((err as Error).message));
    if (!m) throw err;
    return { id: m[1] as string, dir: m[2] as string };
  };

  it("fails at once when an engine exits, with its log tail, and leaves nothing", async () => {
    const err = await startSwarmCluster({ nodes: 2, dockerdArgs: ["--no-such-flag"] }).catch(
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/n[12](?:'s engine)? exited/);
    expect(String(err)).toContain("unknown flag: --no-such-flag");
    const { id, dir } = clusterOf(err);
    expect(await leftovers(id, dir)).toEqual(NOTHING);
  });

  it("fails within its time limit, naming the step, and leaves nothing", async () => {
    const started = Date.now();
    const err = await startSwarmCluster({ nodes: 2, timeoutMs: 300 }).catch((e: unknown) => e);
    // The failure comes after the half-started engines are stopped: seconds alone, 13.4 s once beside
    // the whole suite on a slow CI machine. Still far below the 90 s a start gets by default.
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(String(err)).toMatch(/not done within 300 ms|did not finish within 300 ms/);
    const { id, dir } = clusterOf(err);
    expect(await leftovers(id, dir)).toEqual(NOTHING);
  });

  it("refuses a dockerd argument that is not a flag", async () => {
    await expect(startSwarmCluster({ dockerdArgs: ["debug"] })).rejects.toThrow(
      'dockerdArgs are flags starting with "--", got "debug"',
    );
  });
});

describe.skipIf(unavailable !== undefined)("a killed run's leftovers", () => {
  it("a run killed with its cluster up: the nodes die with it, and the next reap removes the rest", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, "2"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("\n")) resolve(out.split("\n")[0] as string);
      });
      child.once("exit", (code) =>
        reject(new Error(`the cluster's owner exited (${code}) before it was up`)),
      );
    });
    const { id, dir, pids } = JSON.parse(line) as { id: string; dir: string; pids: number[] };
    expect((await netnsOf(id)).length).toBe(3);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    // pdeathsig: each node's init got SIGKILL when its parent died, and took its engine along.
    await waitFor("the nodes gone", 10_000, async () =>
      (await processesNaming(`${dir}/`)).length === 0 ? true : undefined,
    );
    // Each node's init is gone; its pid may already serve another process (a busy machine reuses pids).
    for (const pid of pids) {
      const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (!cmdline.includes(dir)) continue;
      expect(await aliveState(pid)).toBe("gone");
    }
    // Namespaces, cgroups and files stay until someone reaps them: the next start does.
    expect((await leftovers(id, dir)).dir).toBe(true);
    expect(await reapSwarmClusters(SWARM_ROOT)).toContain(id);
    expect(await leftovers(id, dir)).toEqual(NOTHING);
  }, 60_000);

  it("are reaped by name when their owner is gone, and a live owner's are not", async () => {
    const dead = spawn("true");
    const deadPid = dead.pid as number;
    await new Promise((r) => dead.once("exit", r));
    const make = async (id: string, owner: { pid: number; start: string }) => {
      const dir = path.join(SWARM_ROOT, id);
      await fs.mkdir(path.join(dir, "n1"), { recursive: true });
      await fs.writeFile(
        path.join(dir, "cluster.json"),
        JSON.stringify({ version: 1, id, owner, created: "" }),
      );
      await execa("ip", ["netns", "add", `loom-sw-${id}-n1`]);
      const v1 = await fs.stat("/sys/fs/cgroup/pids").then(
        () => "/pids",
        () => "",
      );
      await fs.mkdir(`/sys/fs/cgroup${v1}/loom-sw-${id}-n1/container`, { recursive: true });
      // A process naming the folder, as each node's engine does (one process: no child to orphan).
      const proc = spawn(process.execPath, ["-e", "setTimeout(() => {}, 300_000)", `${dir}/n1/engine`], {
        stdio: "ignore",
      });
      return { dir, proc };
    };
    const killed = await make("dead0001", { pid: deadPid, start: "1" });
    const owner = spawn("sleep", ["30"], { stdio: "ignore" });
    const ownerPid = owner.pid as number;
    const live = await make("1100e001", { pid: ownerPid, start: (await processStart(ownerPid)) as string });
    const killedExit = new Promise((r) => killed.proc.once("exit", (_code, signal) => r(signal)));
    try {
      const reaped = await reapSwarmClusters(SWARM_ROOT);
      expect(reaped).toContain("dead0001");
      expect(reaped).not.toContain("1100e001");
      expect(await leftovers("dead0001", killed.dir)).toEqual(NOTHING);
      expect(await killedExit).toBe("SIGKILL");
      expect((await leftovers("1100e001", live.dir)).netns).toEqual(["loom-sw-1100e001-n1"]);
    } finally {
      owner.kill("SIGKILL");
      await new Promise((r) => owner.once("exit", r));
      expect(await reapSwarmClusters(SWARM_ROOT)).toContain("1100e001");
      expect(await leftovers("1100e001", live.dir)).toEqual(NOTHING);
    }
  });
});
