import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roundCandidates } from "../../src/demo/demo-script.ts";
import type { CycleResult } from "../../src/demo/run-cycle.ts";
import { runDemoRound } from "../../src/demo/run-round.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { DEFAULT_LAB_IMAGE, repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { SwarmRuntime } from "../../src/supervisor/runtime/swarm.ts";
import { labImageMissing } from "../helpers/lab-image.ts";
import { type SwarmCluster, startSwarmCluster, swarmClusterUnavailable } from "../helpers/swarm-cluster.ts";

/**
 * A round of three candidates on a swarm of four engines on this machine (one manager, three workers
 * on 127.0.0.2–5, each engine in network namespaces of its own; test/helpers/swarm-cluster.ts). The
 * Labs run on the workers (LOOM_SWARM_CONSTRAINTS=node.role==worker) with nothing mounted: each
 * reaches its generation only through the Supervisor's gateway (workspace by git, model proxy,
 * lab.sock) and the Lab image comes by digest from Loom's registry. Mid-round, the engine of the
 * worker running the careless candidate is killed: that candidate ends failed, naming the node; the
 * other two finish (one promoted, one archived); nothing is left on any node.
 */
const unavailable = await swarmClusterUnavailable("the round on a swarm cluster");
const missing = await labImageMissing("the round on a swarm cluster");

describe.skipIf(unavailable !== undefined || missing !== undefined)("a round on a four-node swarm", () => {
  let cluster: SwarmCluster;
  let savedHost: string | undefined;
  const kept: CycleResult[] = [];
  let registryPort: number;
  let gatewayPort: number;

  beforeAll(async () => {
    cluster = await startSwarmCluster({ nodes: 4, heartbeatMs: 1_000, timeoutMs: 120_000 });
    const manager = cluster.nodes.filter((n) => n.role === "manager");
    // The Supervisor builds (here: has) the Lab image on the manager and pushes it to its registry.
    await cluster.loadImages([DEFAULT_LAB_IMAGE], manager);
    registryPort = await freePort();
    gatewayPort = await freePort();
    // The registry and the gateway listen on this host's 127.0.0.1; every node sees them there too.
    await cluster.exposeHostPortOnNodes(registryPort);
    await cluster.exposeHostPortOnNodes(gatewayPort);
    savedHost = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = cluster.managerHost;
  }, 180_000);

  afterAll(async () => {
    if (savedHost === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = savedHost;
    await cluster?.stop();
    const { rm } = await import("node:fs/promises");
    await Promise.all(kept.map((r) => rm(r.scratch, { recursive: true, force: true })));
    // Four engines end and their namespaces, cgroups and mounts go: seconds alone, a minute and more
    // beside the rest of the suite on a loaded machine.
  }, 180_000);

  it("runs the Labs on several workers; a killed worker's candidate fails, another is promoted", async () => {
    const rt = new SwarmRuntime({ host: cluster.managerHost });
    const roles = roundCandidates(3).map((c) => c.role);
    const carelessGen = roles.indexOf("careless") + 1;
    const placed = new Map<number, string>();
    const stepsOn = new Map<string, string>();
    // The demo's scratch repository is made inside the round: its label is known once it exists.
    let repoLabel: string | undefined;
    const repoOf = () => repoLabel ?? "none-yet";
    let killed: { generation: number; hostname: string; at: number } | undefined;
    let watching = true;
    // Watch the round's Lab services (the generations are 1–3 in candidate order): note where each
    // runs; kill the careless one's worker once its Lab is running there.
    const watcher = (async () => {
      while (watching) {
        for (let g = 1; g <= 3; g++) {
          if (placed.has(g)) continue;
          const [service] = await rt.list({ "loom.generation": String(g) }).catch(() => []);
          if (service?.state !== "running") continue;
          const where = await rt.placement(service.id);
          if (!where) continue;
          placed.set(g, where.address);
          if (g === carelessGen && !killed) {
            const node = cluster.nodes.find((n) => n.id === where.nodeId);
            if (node && node.role === "worker") {
              await node.kill();
              killed = { generation: g, hostname: node.hostname, at: Date.now() };
            }
          }
        }
        // Verification steps: with nothing mounted they go wherever the constraints allow, too.
        for (const step of await rt.list({ "loom.repo": repoOf() }).catch(() => [])) {
          if (!step.labels["loom.step"] || stepsOn.has(step.id)) continue;
          const where = await rt.placement(step.id).catch(() => undefined);
          if (where) stepsOn.set(step.id, where.address);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const lines: string[] = [];
    let result: Awaited<ReturnType<typeof runDemoRound>>;
    try {
      result = await runDemoRound({
        log: (l) => {
          lines.push(l);
          const scratch = /scratch repository: (\S+)/.exec(l)?.[1];
          if (scratch) repoLabel = repoLabels(scratch)["loom.repo"];
        },
        keep: true,
        env: {
          LOOM_RUNTIME: "swarm",
          LOOM_SWARM_CONSTRAINTS: "node.role==worker",
          LOOM_REGISTRY_PORT: String(registryPort),
          LOOM_GATEWAY_PORT: String(gatewayPort),
          LOOM_VERIFY_TIMEOUT_MS: "240000",
          LOOM_LAB_TIMEOUT_MS: "180000",
          // A Lab on a worker that pulls the image beside two others, under the whole suite, took more
          // than the default 60 s to first answer in a CI run.
          LOOM_LAB_READY_TIMEOUT_MS: "240000",
        },
      });
    } finally {
      watching = false;
      await watcher;
    }
    const { cycle } = result;
    kept.push(cycle);
    const byRole = new Map(cycle.records.map((r) => [roles[(r.candidate?.index ?? 0) - 1], r]));
    const shown = lines.slice(-30).join("\n");

    // Placement: the Labs ran on at least two workers, never on the manager.
    expect(new Set(placed.values()).size, shown).toBeGreaterThanOrEqual(2);
    const managerAddr = cluster.nodes.find((n) => n.role === "manager")?.address;
    expect([...placed.values()]).not.toContain(managerAddr);

    // The verification steps ran on workers as well: each cloned its candidate through the gateway.
    expect(stepsOn.size, shown).toBeGreaterThan(0);
    expect([...stepsOn.values()]).not.toContain(managerAddr);

    // The killed worker's candidate: failed, and the reason names the node.
    expect(killed, shown).toBeDefined();
    const careless = byRole.get("careless");
    expect(careless?.outcome, shown).toBe("failed");
    expect(careless?.reason).toMatch(
      new RegExp(`swarm node ${killed?.hostname} \\(127\\.0\\.0\\.\\d\\) is down`),
    );

    // The others finished: the tidy one promoted (its tag on main), the verbose one archived.
    expect(byRole.get("tidy")?.outcome, shown).toBe("promoted");
    expect(byRole.get("verbose")?.outcome, shown).toBe("archived");
    expect(cycle.tags).toEqual([`gen-${byRole.get("tidy")?.generation}`]);

    // Nothing left: no service of this repository in the swarm, no container on any live node.
    const repo = repoLabels(`${cycle.scratch}/repo`)["loom.repo"] as string;
    expect(await rt.list({ "loom.repo": repo })).toEqual([]);
    // Swarm removes a removed service's containers on other nodes by itself, a moment later: bounded.
    const leftOn = async () => {
      const left: string[] = [];
      for (const node of cluster.nodes) {
        if (!(await node.alive())) continue;
        const ps = await cluster.docker(
          ["ps", "-a", "--format", "{{.Names}} {{.Status}}", "--filter", `label=loom.repo=${repo}`],
          { node },
        );
        if (ps.stdout.trim()) left.push(`${node.name}: ${ps.stdout.trim()}`);
      }
      return left;
    };
    const cleanFrom = Date.now();
    let left = await leftOn();
    while (left.length > 0 && Date.now() - cleanFrom < 30_000) {
      await new Promise((r) => setTimeout(r, 250));
      left = await leftOn();
    }
    expect(left).toEqual([]);
    const cleanMs = Date.now() - cleanFrom;
    // The registry the Supervisor started is gone with it.
    const registries = await execa("pgrep", ["-f", `${cycle.scratch}/state/registry`], { reject: false });
    expect(registries.stdout.trim()).toBe("");
    console.log(
      `[swarm round] Labs on ${[...placed.entries()].map(([g, a]) => `gen-${g}@${a}`).join(", ")}; steps on ${[...new Set(stepsOn.values())].join(", ")}; killed ${killed?.hostname}; last containers gone ${cleanMs} ms after the round`,
    );
  }, 600_000);
});
