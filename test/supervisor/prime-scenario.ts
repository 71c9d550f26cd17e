import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import type { SupervisorEvent } from "../../schemas/events.ts";
import { GenerationRecord, SupervisorStats } from "../../schemas/index.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { checkoutOf, primeLabels } from "../../src/supervisor/prime/index.ts";
import type { ContainerRuntime } from "../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { startSupervisor } from "../../src/supervisor/supervisor.ts";
import { sh } from "./git-repo-fixture.ts";
import { BROKEN_LOOM, fakeLoom, makePrimeFixture, type PrimeFixture } from "./prime-fixture.ts";

export interface Health {
  ok: true;
  version: string;
  commit: string | null;
  root: string;
  dep: string;
  uid: number;
  tmpWritable: boolean;
  args: Record<string, string>;
  env: string[];
  mounts: { repo: string | null; code: string | null; state: string | null };
}

export const health = async (url: string): Promise<Health> =>
  (await (await fetch(`${url}/health`)).json()) as Health;

export interface ScenarioTarget {
  /** Variables beside the fixture's (LOOM_RUNTIME, LOOM_NETWORK). */
  readonly env: Record<string, string>;
  /** A runtime to list leftovers with, as the Supervisor's own sees them. */
  readonly lister: (stateDir: string) => ContainerRuntime;
  /** Another runtime that must never hold a Prime (swarm: Prime is no service), checked while it runs. */
  readonly alsoEmpty?: () => ContainerRuntime;
  /** Starts a Prime left by an earlier Supervisor (these labels), before this one starts; its id. */
  readonly plantLeftover?: (labels: Record<string, string>) => Promise<string>;
  /** Extra checks on the first healthy Prime (what its runtime guarantees). */
  readonly checkIsolation?: (h: Health, fx: PrimeFixture) => void;
  /** Also spawn a (model-less, soon failing) Lab during a revert, to see the spawn wait for it. */
  readonly spawnDuringRevert?: boolean;
  readonly cleanups: (() => Promise<unknown>)[];
}

/**
 * Known-good stays known-good, end to end with real git and real processes or containers: Prime
 * starts on main from a checkout of main; a good promotion restarts it on the new commit; a promotion
 * whose bin/loom.js dies at start is reverted (main reset, tag gone, generation rolled back with the
 * reason) and the previous Prime is healthy again; a second promotion waits for the first one's
 * revert; nothing is left running afterwards.
 */
export function primeRestartScenario(target: ScenarioTarget): void {
  it("starts Prime on main, restarts it on each promoted main, reverts a promotion whose Prime is unhealthy", async () => {
    const fx = await makePrimeFixture();
    target.cleanups.push(() => fx.cleanup());
    const config = fx.config(target.env);
    const primePort = await freePort();
    const leftover = await target.plantLeftover?.({ ...primeLabels(fx.repo), "loom.commit": "0".repeat(40) });
    const events: SupervisorEvent[] = [];
    const sup = await startSupervisor({
      config,
      port: 0,
      log: () => {},
      pollMs: 100,
      prime: { port: primePort, healthTimeoutMs: 30_000, stopGraceMs: 2000, watchMs: 200 },
      onEvent: (e) => events.push(e),
    });
    target.cleanups.push(() => sup.close());
    const store = await GenerationStore.open(config.stateDir);
    const stats = async () => SupervisorStats.parse(await (await fetch(`${sup.url}/stats`)).json());
    const mainSha = async () => (await sh(fx.repo, ["rev-parse", "main"])).trim();
    const primes = async () =>
      (await target.lister(config.stateDir).list(primeLabels(fx.repo))).filter((c) => c.state === "running");
    const promote = async (n: number) => {
      const res = await fetch(`${sup.url}/promote`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ generation: n }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as { mergeCommit: string };
    };

    // Start: healthy on main, from <stateDir>/prime/<main>, with Prime's variables only.
    const initial = await mainSha();
    const url = `http://127.0.0.1:${primePort}`;
    expect((await stats()).prime).toEqual({ state: "running", commit: initial, url });
    const first = await health(url);
    expect(first).toMatchObject({
      ok: true,
      version: "v1",
      commit: initial,
      root: checkoutOf(fx.stateDir, initial),
    });
    expect(first.dep).toBe("dep-ok");
    // Its temp folder is writable even though the state dir (and so a local HOME) is inside the read-only repo.
    expect(first.tmpWritable).toBe(true);
    expect(first.args).toMatchObject({
      repo: fx.repo,
      state: path.join(fx.stateDir, "prime-state"),
      supervisor: sup.url,
    });
    expect(first.env).toEqual(
      expect.arrayContaining([
        "ANTHROPIC_API_KEY",
        "LOOM_MODEL",
        "LOOM_SUPERVISOR_URL",
        "LOOM_MAX_GENERATIONS",
      ]),
    );
    // The Lab's key, base and model never reach Prime (its time limits do: Prime waits for Labs).
    expect(first.env.filter((k) => k.startsWith("LOOM_LAB_API") || k === "LOOM_LAB_MODEL")).toEqual([]);
    expect(first.env).toContain("LOOM_LAB_TIMEOUT_MS");
    expect(first.env).toContain("LOOM_LAB_READY_TIMEOUT_MS");
    target.checkIsolation?.(first, fx);
    if (leftover) expect(await target.lister(config.stateDir).inspect(leftover)).toBeUndefined();
    if (target.alsoEmpty) expect(await target.alsoEmpty().list(primeLabels(fx.repo))).toEqual([]);
    expect((await primes()).map((c) => c.labels["loom.commit"])).toEqual([initial]);

    // A good promotion: Prime restarted on the merge commit, serving the promoted code.
    const g1 = await fx.verifiedGeneration(store, { "bin/loom.js": fakeLoom("v2") });
    const { mergeCommit: m1 } = await promote(g1);
    await sup.prime?.idle();
    expect(await mainSha()).toBe(m1);
    expect((await stats()).prime).toEqual({ state: "running", commit: m1, url });
    expect(await health(url)).toMatchObject({ version: "v2", commit: m1, root: checkoutOf(fx.stateDir, m1) });
    expect((await primes()).map((c) => c.labels["loom.commit"])).toEqual([m1]);
    expect(await readFile(path.join(fx.stateDir, "prime-state", "starts.log"), "utf8")).toBe(
      `v1 ${initial}\nv2 ${m1}\n`,
    );

    // A promotion whose Prime dies at start: main back at m1, gen-N's tag gone, rolled back, v2 again.
    const g2 = await fx.verifiedGeneration(store, { "bin/loom.js": BROKEN_LOOM });
    const { mergeCommit: m2 } = await promote(g2);
    if (target.spawnDuringRevert) {
      // A spawn waits for the revert: its Lab builds on gen-1's main, never on the reverted one.
      const spawned = await sup.controller.spawn("# Task: anything\n");
      expect((await store.get(g2))?.outcome).toBe("rolled_back");
      expect((await store.get(spawned.generation))?.parent).toBe(g1);
    }
    await sup.prime?.idle();
    expect(await mainSha()).toBe(m1);
    expect(await sh(fx.repo, ["tag", "--list", `gen-${g2}`])).toBe("");
    expect((await sh(fx.repo, ["rev-parse", `gen-${g1}^{commit}`])).trim()).toBe(m1);
    const reverted = GenerationRecord.parse(await store.get(g2));
    expect(reverted.outcome).toBe("rolled_back");
    expect(reverted.reason).toMatch(
      /^promoted, but Prime on the new main failed its health check: Prime exited \(code 3\) before GET \/health answered 200; last output: .*broken on purpose/s,
    );
    expect((await store.lineage()).filter((e) => e.generation === g2).map((e) => e.outcome)).toEqual([
      "pending",
      "running",
      "verifying",
      "promoted",
      "rolled_back",
    ]);
    expect((await store.latestPromoted())?.generation).toBe(g1);
    // The checkout of main follows main back.
    expect(await readFile(path.join(fx.repo, "bin/loom.js"), "utf8")).toBe(fakeLoom("v2"));
    expect(await sh(fx.repo, ["status", "--porcelain", "--untracked-files=no"])).toBe("");
    expect((await stats()).prime).toEqual({ state: "running", commit: m1, url });
    expect(await health(url)).toMatchObject({ version: "v2", commit: m1 });
    expect((await primes()).map((c) => c.labels["loom.commit"])).toEqual([m1]);
    const primeEvents = events
      .filter((e) => e.type === "prime" && e.generation === g2)
      .map((e) => e.type === "prime" && e.state);
    expect(primeEvents).toEqual(["restarting", "reverting", "running"]);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "generation",
        generation: g2,
        outcome: "rolled_back",
        reason: reverted.reason,
      }),
    );
    expect(m2).not.toBe(m1);

    // Two promotions at once: the second waits for the first one's revert, then lands on m1.
    const g3 = await fx.verifiedGeneration(store, { "bin/loom.js": BROKEN_LOOM });
    const g4 = await fx.verifiedGeneration(store, { "bin/loom.js": fakeLoom("v4") });
    const [, { mergeCommit: m4 }] = await Promise.all([promote(g3), promote(g4)]);
    await sup.prime?.idle();
    expect((await store.get(g3))?.outcome).toBe("rolled_back");
    expect((await store.get(g4))?.outcome).toBe("promoted");
    expect(await mainSha()).toBe(m4);
    expect((await sh(fx.repo, ["rev-parse", "main^1"])).trim()).toBe(m1);
    expect(await health(url)).toMatchObject({ version: "v4", commit: m4 });
    // Only the running commit's checkout and the one a revert would go back to are kept.
    expect((await readdir(path.join(fx.stateDir, "prime"))).sort()).toEqual([m1, m4].sort());

    // A Prime that exits by itself is started again on the same main.
    const before = (await primes()).map((c) => c.id);
    await fetch(`${url}/crash`).catch(() => undefined);
    const deadline = Date.now() + 60_000;
    let after: string[] = [];
    while (Date.now() < deadline) {
      after = (await primes()).map((c) => c.id);
      if (after.length === 1 && after[0] !== before[0] && (await stats()).prime.state === "running") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    expect(await health(url)).toMatchObject({ version: "v4", commit: m4 });
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "prime",
        state: "restarting",
        commit: m4,
        message: expect.stringMatching(
          /exited by itself \(code 7\).*crashing on request.*starting it again/s,
        ),
      }),
    );

    // Shutdown stops Prime: nothing with the Prime labels is left.
    await sup.close();
    expect(await target.lister(config.stateDir).list(primeLabels(fx.repo))).toEqual([]);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    expect((await stats().catch(() => undefined))?.prime).toBeUndefined();
  }, 300_000);
}
