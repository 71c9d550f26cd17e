import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SwarmRuntime } from "../../../src/supervisor/runtime/swarm.ts";
import {
  type SwarmCluster,
  startSwarmCluster,
  swarmClusterUnavailable,
} from "../../helpers/swarm-cluster.ts";
import { ensureTestImage, TEST_IMAGE } from "./test-image.ts";

/**
 * The swarm runtime on three engines joined into one swarm (127.0.0.2–4, each engine in network
 * namespaces of its own; test/helpers/swarm-cluster.ts): tasks spread over the nodes, and a node whose
 * engine is killed mid-run ends its task as dead with the reason, while the others finish; nothing is
 * left on any node.
 */
const unavailable = await swarmClusterUnavailable("the swarm runtime on three nodes");

describe.skipIf(unavailable !== undefined)("SwarmRuntime on a three-node swarm", () => {
  const labels = { "loom.test.run": randomBytes(6).toString("hex") };
  let cluster: SwarmCluster;
  let rt: SwarmRuntime;

  beforeAll(async () => {
    await ensureTestImage("docker");
    cluster = await startSwarmCluster({ nodes: 3, images: [TEST_IMAGE], heartbeatMs: 1_000 });
    // The image is loaded on every node; a node's pull of the tag has no route out of its namespace
    // and falls back to the loaded copy (the single-node suite runs everything by digest instead).
    rt = new SwarmRuntime({ host: cluster.managerHost, resolveImage: async (i) => i, pollMs: 100 });
  }, 120_000);

  afterAll(async () => {
    if (rt) for (const c of await rt.list(labels)) await rt.remove(c.id);
    if (rt) expect(await rt.list(labels)).toEqual([]);
    await cluster?.stop();
  });

  it("spreads tasks over the nodes; a killed node's task ends dead with the reason, the others finish", async () => {
    const handles = [];
    for (let i = 0; i < 3; i++) {
      handles.push(
        await rt.run({
          image: TEST_IMAGE,
          command: ["sh", "-c", `echo start ${i}; sleep 6; echo done ${i}`],
          labels: { ...labels, "loom.test.i": String(i) },
        }),
      );
    }
    const placed = await Promise.all(handles.map((h) => rt.placement(h.id)));
    const addresses = new Set(placed.map((p) => p?.address));
    expect(addresses.size).toBeGreaterThanOrEqual(2);
    for (const a of addresses) expect(a).toMatch(/^127\.0\.0\.[234]$/);

    // Kill the engine of a worker that runs one of them (the manager answers the API).
    const victimIndex = placed.findIndex((p) =>
      cluster.nodes.some((n) => n.role === "worker" && n.id === p?.nodeId),
    );
    expect(victimIndex).toBeGreaterThanOrEqual(0);
    const victim = cluster.nodes.find((n) => n.id === placed[victimIndex]?.nodeId);
    await victim?.kill();
    const t0 = Date.now();
    const victimHandle = handles[victimIndex] as { id: string };
    expect(await rt.wait(victimHandle.id, { timeoutMs: 30_000 })).toEqual({
      kind: "exited",
      exitCode: undefined,
    });
    const detectedMs = Date.now() - t0;
    expect(detectedMs).toBeLessThan(30_000);
    expect((await rt.inspect(victimHandle.id))?.state).toBe("dead");
    expect(await rt.logs(victimHandle.id)).toMatch(
      new RegExp(`swarm node ${victim?.hostname} \\(127\\.0\\.0\\.\\d\\) is down .*output is lost`),
    );

    for (const [i, h] of handles.entries()) {
      if (i === victimIndex) continue;
      expect(await rt.wait(h.id, { timeoutMs: 30_000 })).toEqual({ kind: "exited", exitCode: 0 });
      expect(await rt.logs(h.id)).toBe(`start ${i}\ndone ${i}\n`);
    }
    // Removing the dead node's service does not wait on a task that can never report.
    const r0 = Date.now();
    for (const h of handles) await rt.remove(h.id);
    expect(Date.now() - r0).toBeLessThan(15_000);
    expect(await rt.list(labels)).toEqual([]);
    console.log(`[swarm nodes] killed node seen down after ${detectedMs} ms`);
  }, 120_000);

  it("a task with a bind mount runs on the manager's node (where its paths are), whatever the constraints", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-swarm-mount-"));
    try {
      const workers = new SwarmRuntime({
        host: cluster.managerHost,
        resolveImage: async (i) => i,
        constraints: ["node.role==worker"],
        pollMs: 100,
      });
      const h = await workers.run({
        image: TEST_IMAGE,
        command: ["sh", "-c", "echo from-the-task > /mounted/out.txt"],
        mounts: [{ host: dir, container: "/mounted" }],
        labels: { ...labels, "loom.test.i": "mount" },
      });
      expect(await workers.wait(h.id, { timeoutMs: 30_000 })).toEqual({ kind: "exited", exitCode: 0 });
      const manager = cluster.nodes.find((n) => n.role === "manager");
      expect((await workers.placement(h.id))?.nodeId).toBe(manager?.id);
      expect(await fs.readFile(path.join(dir, "out.txt"), "utf8")).toBe("from-the-task\n");
      await workers.remove(h.id);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
