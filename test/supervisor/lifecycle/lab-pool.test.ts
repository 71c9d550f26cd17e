import { createHash } from "node:crypto";
import { lstat, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SupervisorEvent } from "../../../schemas/events.ts";
import { STANDBY_SOCKET } from "../../../src/shared/lab-claim.ts";
import { fetchLabBranch, prepareWorkspace } from "../../../src/supervisor/git/index.ts";
import { LabPool, type PooledLab, poolRoot } from "../../../src/supervisor/lifecycle/lab-pool.ts";
import { removeStaleLabSockets } from "../../../src/supervisor/lifecycle/lab-sockets.ts";
import { DEFAULT_LAB_IMAGE, POOL_LABEL, repoLabels } from "../../../src/supervisor/lifecycle/lab-spec.ts";
import { reapLeftovers } from "../../../src/supervisor/lifecycle/reap.ts";
import { runGeneration } from "../../../src/supervisor/lifecycle/run-generation.ts";
import { DockerRuntime } from "../../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../../src/supervisor/store/index.ts";
import { startSupervisor } from "../../../src/supervisor/supervisor.ts";
import { labImageMissing } from "../../helpers/lab-image.ts";
import {
  CONTAINMENT_PROBE,
  entries,
  expectContained,
  type Fixture,
  makeFixture,
} from "../lifecycle-fixture.ts";

const missing = await labImageMissing("lab pool test");

const fixtures: Fixture[] = [];
const pools: LabPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

const runtime = new DockerRuntime({});

async function filled(pool: LabPool, size: number): Promise<void> {
  pool.fill();
  for (let waited = 0; pool.size < size; waited += 50) {
    if (waited > 60_000) throw new Error(`the pool did not reach ${size} Labs in 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function poolFor(fx: Fixture, size: number, logs: string[] = [], now?: () => number): LabPool {
  const config = fx.config({ LOOM_RUNTIME: "docker", LOOM_NETWORK: "host" });
  const pool = new LabPool({
    runtime,
    config,
    image: DEFAULT_LAB_IMAGE,
    loomRoot: path.resolve("."),
    size,
    log: (line) => logs.push(line),
    ...(now ? { now } : {}),
  });
  pools.push(pool);
  return pool;
}

/** The pooled Labs' containers of this fixture's repo, by id. */
async function pooledIds(fx: Fixture): Promise<string[]> {
  const all = await runtime.list(repoLabels(fx.repo));
  return all.filter((c) => c.labels[POOL_LABEL] !== undefined).map((c) => c.id);
}

async function generation(
  fx: Fixture,
  pool: LabPool | undefined,
  options: { model?: string } = {},
): Promise<{ record: Awaited<ReturnType<typeof runGeneration>>; events: SupervisorEvent[] }> {
  const config = fx.config({ LOOM_RUNTIME: "docker", LOOM_NETWORK: "host" });
  const store = await GenerationStore.open(config.stateDir);
  const program = "# Task: check the container\n";
  const { generation: n } = await store.allocate({
    programHash: createHash("sha256").update(program).digest("hex"),
    parent: null,
  });
  const events: SupervisorEvent[] = [];
  const record = await runGeneration(
    {
      store,
      runtime,
      git: { prepareWorkspace, fetchLabBranch },
      config,
      emit: (e) => events.push(e),
      loomRoot: path.resolve("."),
      pollMs: 100,
      ...(pool ? { labPool: pool } : {}),
    },
    { generation: n, program, ...(options.model ? { model: options.model } : {}) },
  );
  return { record, events };
}

const logLines = (events: readonly SupervisorEvent[]) =>
  events.flatMap((e) => (e.type === "log" ? [e.message] : []));

describe.skipIf(missing !== undefined)("LOOM_LAB_POOL: Labs started ahead (docker, loom-lab:latest)", () => {
  it("a generation claims a pooled Lab: the claim's model and variables, no key, schemas and acceptance read-only through the renamed folder, branch fetched; the pool refills and leaves nothing when closed", async () => {
    const fx = await makeFixture(CONTAINMENT_PROBE);
    fixtures.push(fx);
    const logs: string[] = [];
    const pool = poolFor(fx, 1, logs);
    await filled(pool, 1);
    const [pooled] = await pooledIds(fx);
    const { record, events } = await generation(fx, pool, { model: "claimed-model" });
    expect(record.outcome, record.reason ?? "").toBe("verifying");
    // The pooled container served it, and said so.
    expect(record.containerId).toBe(pooled);
    expect(logLines(events).some((l) => /^Lab loom-pool-\S+ claimed from the pool on docker/.test(l))).toBe(
      true,
    );
    // The claim's environment is the Lab's: the candidate's model reached the model server.
    const models = fx.model.requests.map((r) => (r.body as { model?: string }).model);
    expect(models.length).toBeGreaterThan(0);
    expect(new Set(models)).toEqual(new Set(["claimed-model"]));
    const n = record.generation;
    await expectContained(fx.repo, n);
    // The claimed Lab is gone with its generation; its first answer refilled the pool.
    await filled(pool, 1);
    const now = await pooledIds(fx);
    expect(now).toHaveLength(1);
    expect(now).not.toContain(pooled);
    await pool.close();
    expect(await runtime.list(repoLabels(fx.repo))).toEqual([]);
    const config = fx.config({});
    expect(await entries(path.join(config.stateDir, "workspaces"))).toEqual([]);
    expect(await entries(poolRoot(config.stateDir))).toEqual([]);
    expect(logs).toEqual([]);
  }, 120_000);

  it("a pooled Lab that died before its claim is removed and a Lab is started in its place", async () => {
    const fx = await makeFixture([{ text: "nothing to do" }]);
    fixtures.push(fx);
    const pool = poolFor(fx, 1);
    await filled(pool, 1);
    const [dead] = await pooledIds(fx);
    await runtime.stop(dead as string, { timeoutMs: 0 });
    const { record, events } = await generation(fx, pool);
    expect(record.outcome, record.reason ?? "").toBe("verifying");
    expect(record.containerId).not.toBe(dead);
    const lines = logLines(events);
    expect(
      lines.some((l) => /was not claimed: .*; starting a Lab instead$/.test(l)),
      lines.join("\n"),
    ).toBe(true);
    expect(lines.some((l) => /^Lab loom-gen-\S+ started on docker/.test(l))).toBe(true);
    expect(await runtime.inspect(dead as string)).toBeUndefined();
  }, 120_000);

  it("a Supervisor that starts reaps what a killed one's pool left; a live pool's socket folders survive the sweep", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    // Not closed: as a killed Supervisor leaves it.
    const abandoned = new LabPool({
      runtime,
      config: fx.config({ LOOM_RUNTIME: "docker", LOOM_NETWORK: "host" }),
      image: DEFAULT_LAB_IMAGE,
      loomRoot: path.resolve("."),
      size: 1,
      log: () => {},
    });
    await filled(abandoned, 1);
    const slots = [await abandoned.take(undefined)] as PooledLab[];
    expect(slots.every((s) => s !== undefined)).toBe(true);
    // Its standby sockets answer: another Supervisor's sweep, a minute later, leaves them.
    const later = Date.now() + 2 * 60_000;
    const sweptLive = await removeStaleLabSockets(os.tmpdir(), later);
    for (const s of slots) expect(sweptLive).not.toContain(path.dirname(s.sockets.dir));
    for (const s of slots)
      expect((await lstat(path.join(s.sockets.dir, STANDBY_SOCKET))).isSocket()).toBe(true);

    const events: SupervisorEvent[] = [];
    const config = fx.config({ LOOM_RUNTIME: "docker", LOOM_NETWORK: "host" });
    const reaped = await reapLeftovers({
      store: await GenerationStore.open(config.stateDir),
      runtime,
      git: { fetchLabBranch },
      config,
      emit: (e) => events.push(e),
    });
    expect([...reaped.containers].sort()).toEqual(slots.map((s) => s.id).sort());
    expect(
      logLines(events).filter((l) =>
        /^reaped leftover pooled Lab loom-pool-\S+ \(slot [0-9a-f]{8}\)$/.test(l),
      ),
    ).toHaveLength(1);
    expect(await runtime.list(repoLabels(fx.repo))).toEqual([]);
    expect(await readdir(poolRoot(config.stateDir))).toEqual([]);
    // With nothing listening any more, the sweep takes their socket folders.
    const swept = await removeStaleLabSockets(os.tmpdir(), later);
    for (const s of slots) expect(swept).toContain(path.dirname(s.sockets.dir));
  }, 120_000);

  it("a claim while a pooled Lab is still starting waits for it; a second claimer does not wait", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    const pool = poolFor(fx, 1);
    pool.fill();
    expect(pool.size).toBe(0);
    const [first, second] = await Promise.all([pool.take(undefined), pool.take(undefined)]);
    expect(second).toBeUndefined();
    expect(first?.name).toMatch(/^loom-pool-[0-9a-f]{8}-/);
    expect(await pooledIds(fx)).toEqual([first?.id]);
    await pool.discard(first as PooledLab);
    expect(await pooledIds(fx)).toEqual([]);
  }, 120_000);

  it("a pooled Lab older than its limit, or mounting other packages, is removed instead of claimed", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    let clock = Date.now();
    const pool = poolFor(fx, 1, [], () => clock);
    await filled(pool, 1);
    const [first] = await pooledIds(fx);
    expect(await pool.take("/somewhere/else/node_modules")).toBeUndefined();
    await filled(pool, 1);
    for (let waited = 0; (await pooledIds(fx)).includes(first as string); waited += 100) {
      if (waited > 20_000) throw new Error("the Lab mounting other packages was not removed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await pooledIds(fx)).toHaveLength(1);
    clock += 16 * 60_000;
    // The first went at the first take, the one started since at the second.
    expect(await pool.take(undefined)).toBeUndefined();
    for (let waited = 0; (await pooledIds(fx)).length > 0; waited += 100) {
      if (waited > 20_000) throw new Error("the unclaimable Labs were not removed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 120_000);
});

describe("LOOM_LAB_POOL where a Lab is not a container with its workspace mounted", () => {
  it("the local runtime keeps no pool and says so", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    const lines: string[] = [];
    const sup = await startSupervisor({
      config: fx.config({ LOOM_RUNTIME: "local", LOOM_LAB_POOL: "2" }),
      port: 0,
      log: (l) => lines.push(l),
    });
    try {
      expect(sup.labPool).toBeUndefined();
      expect(lines).toContain(
        "supervisor: LOOM_LAB_POOL=2 does not apply to the local runtime (only docker and podman with the workspace mounted); every Lab starts when spawned",
      );
    } finally {
      await sup.close();
    }
  });
});
