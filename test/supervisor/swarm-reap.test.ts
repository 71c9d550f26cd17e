import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/index.ts";
import { repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { SwarmRuntime } from "../../src/supervisor/runtime/swarm.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { startSupervisor } from "../../src/supervisor/supervisor.ts";
import { loom } from "../helpers/cli.ts";
import {
  type SwarmCluster,
  type SwarmNode,
  startSwarmCluster,
  swarmClusterUnavailable,
} from "../helpers/swarm-cluster.ts";
import { type Fixture, makeFixture } from "./lifecycle-fixture.ts";
import { ensureTestImage, TEST_IMAGE } from "./runtime/test-image.ts";

/**
 * LOOM_RUNTIME=swarm at a Supervisor's start, on a swarm of its own (two engines on this machine,
 * test/helpers/swarm-cluster.ts), so nothing here touches the shared engine.
 *
 * A Supervisor killed mid-round leaves services behind: a Lab still running, a verification step that
 * ended but was never removed, a Lab whose task Swarm never placed (a half-made service). The next
 * Supervisor on the same repo reaps all of them by the repo's label before it serves and leaves another
 * repo's services alone. A swarm it cannot use (a worker, an engine out of any swarm, no engine, a
 * DOCKER_HOST that is not a socket) is refused at start-up, naming the engine and the command that fixes it.
 *
 * Images: the test image is loaded on every node and services name it by its image id, which a node
 * runs from its own store without a pull. The cluster, and every service on it, is removed by stop()
 * and, after a killed run, by the next startSwarmCluster.
 */
const unavailable = await swarmClusterUnavailable("the swarm reap and start-up refusal tests");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hash = (s: string) => createHash("sha256").update(s).digest("hex");

/** The engine's own account when it died (a Go panic), for a failure message. */
async function engineDeath(node: SwarmNode): Promise<string> {
  const log = await fs.readFile(node.logFile, "utf8").catch(() => "");
  const at = log.indexOf("panic:");
  return at < 0 ? `${node.name}'s engine is gone; log tail: ${log.slice(-1500)}` : log.slice(at, at + 1500);
}

describe.skipIf(unavailable !== undefined)("LOOM_RUNTIME=swarm at start-up", () => {
  let cluster: SwarmCluster;
  let manager: SwarmNode;
  let worker: SwarmNode;
  let imageId: string;
  const fixtures: Fixture[] = [];

  beforeAll(async () => {
    await ensureTestImage("docker");
    imageId = (await execa("docker", ["image", "inspect", "--format", "{{.Id}}", TEST_IMAGE])).stdout.trim();
    cluster = await startSwarmCluster({ nodes: 2, images: [TEST_IMAGE], heartbeatMs: 1_000 });
    [manager, worker] = cluster.nodes as [SwarmNode, SwarmNode];
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await Promise.all(fixtures.map((f) => f.cleanup()));
  }, 180_000);

  /** A swarm runtime on this cluster's manager, as an earlier Supervisor had it. */
  const runtimeOnCluster = (extra: { constraints?: string[]; startTimeoutMs?: number } = {}) =>
    new SwarmRuntime({ host: cluster.managerHost, resolveImage: async () => imageId, pollMs: 100, ...extra });

  it("reaps this repo's running Lab, ended step and never-placed Lab; another repo's service keeps running", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    const repo = repoLabels(fx.repo);
    const earlier = runtimeOnCluster();
    // A Lab, running, labelled as labSpec labels one: the repo's labels and its generation.
    const lab = await earlier.run({
      image: TEST_IMAGE,
      command: ["sleep", "300"],
      labels: { ...repo, "loom.generation": "1" },
      name: `loom-gen-1-${repo["loom.repo"]?.slice(0, 8)}`,
    });
    // A verification step that ended; its service was never removed (the Supervisor died first).
    const step = await earlier.run({
      image: TEST_IMAGE,
      command: ["sh", "-c", "exit 0"],
      labels: { ...repo, "loom.verify": "gen-1", "loom.step": "check" },
    });
    expect(await earlier.wait(step.id, { timeoutMs: 30_000 })).toEqual({ kind: "exited", exitCode: 0 });
    // Half-made: the service exists, but Swarm never placed its task (no node meets the constraint).
    const stuck = await runtimeOnCluster({
      constraints: ["node.labels.loom-test-nowhere==yes"],
      startTimeoutMs: 300,
    }).run({ image: TEST_IMAGE, command: ["sleep", "300"], labels: { ...repo, "loom.generation": "2" } });
    expect((await earlier.inspect(stuck.id))?.state).toBe("created");
    // Another repository's Lab on the same swarm.
    const foreign = await earlier.run({
      image: TEST_IMAGE,
      command: ["sleep", "300"],
      labels: { ...repoLabels(path.join(fx.root, "another-repo")), "loom.generation": "1" },
    });
    expect((await earlier.inspect(lab.id))?.state).toBe("running");
    expect((await earlier.inspect(foreign.id))?.state).toBe("running");

    const config = fx.config({ LOOM_RUNTIME: "swarm" });
    const store = await GenerationStore.open(config.stateDir);
    const running = await store.allocate({ programHash: hash("a"), parent: null });
    await store.update(running.generation, { outcome: "running" });

    const lines: string[] = [];
    const before = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = cluster.managerHost;
    const t0 = performance.now();
    let sup: Awaited<ReturnType<typeof startSupervisor>>;
    try {
      sup = await startSupervisor({
        config,
        port: 0,
        log: (l) => lines.push(l),
        onEvent: (e) => {
          if (e.type === "log") lines.push(e.message);
        },
      });
    } catch (err) {
      throw manager.alive() ? err : new Error(await engineDeath(manager), { cause: err });
    } finally {
      if (before === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = before;
    }
    const startMs = performance.now() - t0;
    try {
      expect(manager.alive(), manager.alive() ? "" : await engineDeath(manager)).toBe(true);
      expect(sup.runtime.name).toBe("swarm");
      expect([...sup.reaped.containers].sort()).toEqual([lab.id, step.id, stuck.id].sort());
      expect(sup.reaped.aborted.map((r) => r.generation)).toEqual([running.generation]);
      expect(GenerationRecord.parse(await store.get(running.generation)).reason).toMatch(
        /Supervisor restarted while this generation was running/,
      );
      const log = lines.join("\n");
      expect(log).toContain(`reaped leftover Lab ${lab.name} (gen 1)`);
      expect(log).toContain(`reaped leftover Lab ${stuck.name} (gen 2)`);
      expect(log).toContain(`reaped leftover verification step ${step.name} (gen-1 check)`);
      expect(log).toMatch(/reaped 3 container\(s\), 0 workspace\(s\); aborted 1 generation/);
      // Nothing of the repo is left on any node: no service, and no task's container.
      expect(await earlier.list(repo)).toEqual([]);
      const label = `label=loom.repo=${repo["loom.repo"]}`;
      const containersLeft = async () => {
        const per = await Promise.all(
          cluster.nodes.map((node) => cluster.docker(["ps", "-aq", "--filter", label], { node })),
        );
        return per.map((r) => r.stdout.trim()).join("");
      };
      let left = await containersLeft();
      for (const end = Date.now() + 10_000; left !== "" && Date.now() < end; left = await containersLeft())
        await sleep(100);
      expect(left).toBe("");
      expect((await earlier.inspect(foreign.id))?.state).toBe("running");
      // Reaping needs no image: the Supervisor started no registry.
      expect(await fs.stat(path.join(config.stateDir, "registry")).catch(() => undefined)).toBe(undefined);
    } finally {
      await sup.close();
      await earlier.remove(foreign.id);
    }
    console.log(`[swarm reap] a Supervisor start that reaped 3 services: ${Math.round(startMs)} ms`);
  }, 60_000);

  const start = (fx: Fixture, dockerHost: string) =>
    loom(["supervisor", "--no-prime", "--port", "0"], {
      env: {
        LOOM_RUNTIME: "swarm",
        DOCKER_HOST: dockerHost,
        LOOM_REPO_PATH: fx.repo,
        LOOM_STATE_DIR: fx.stateDir,
      },
      timeoutMs: 30_000,
    });

  it("a worker, then the same engine out of any swarm: each names the engine and the command that fixes it", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    const socket = worker.dockerHost.slice("unix://".length);
    const asWorker = await start(fx, worker.dockerHost);
    expect(asWorker.code, asWorker.stderr).toBe(1);
    expect(asWorker.stderr).toContain(
      `LOOM_RUNTIME=swarm cannot be used: the engine on ${socket} is a swarm worker; point DOCKER_HOST at a manager (\`docker node ls\` works there)`,
    );
    const left = await cluster.docker(["swarm", "leave", "--force"], { node: worker });
    expect(left.exitCode, left.stderr).toBe(0);
    const outside = await start(fx, worker.dockerHost);
    expect(outside.code, outside.stderr).toBe(1);
    expect(outside.stderr).toContain(
      `LOOM_RUNTIME=swarm cannot be used: the engine on ${socket} is not in a swarm (state inactive): run \`docker swarm init --advertise-addr 127.0.0.1\` (or join one), then start Loom again`,
    );
    // Refused before anything was made: no record, no registry, no service.
    expect(await fs.readdir(path.join(fx.stateDir, "generations")).catch(() => [])).toEqual([]);
    expect(await fs.stat(path.join(fx.stateDir, "registry")).catch(() => undefined)).toBe(undefined);
    expect((await cluster.docker(["service", "ls", "-q"])).stdout.trim()).toBe("");
  }, 60_000);

  it("no engine at the socket, and a DOCKER_HOST that is not a unix socket", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    const none = await start(fx, `unix://${path.join(fx.root, "no-docker.sock")}`);
    expect(none.code, none.stderr).toBe(1);
    expect(none.stderr).toContain(
      `LOOM_RUNTIME=swarm cannot be used: no Docker engine answers on ${path.join(fx.root, "no-docker.sock")} (ENOENT): start dockerd, or set DOCKER_HOST to the manager's socket`,
    );
    // Refused by its form: nothing is asked of 127.0.0.1:2375.
    const tcp = await start(fx, "tcp://127.0.0.1:2375");
    expect(tcp.code, tcp.stderr).toBe(1);
    expect(tcp.stderr).toContain(
      `DOCKER_HOST="tcp://127.0.0.1:2375" is not supported by the swarm runtime; expected unix:///path/to/docker.sock (the manager's socket)`,
    );
  }, 30_000);
});
