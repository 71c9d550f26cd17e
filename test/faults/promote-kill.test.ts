import { afterEach, describe, expect, it } from "vitest";
import { sh } from "../supervisor/git-repo-fixture.ts";
import { makeScratch, type Scratch } from "./scratch.ts";

const scratches: Scratch[] = [];
afterEach(async () => {
  await Promise.all(scratches.splice(0).map((s) => s.cleanup()));
});

const noDamage = { corruptedMain: [], orphans: [], lostRecords: [] };

async function mainState(s: Scratch, n: number) {
  const refs = await sh(s.repo, ["for-each-ref", "--format=%(refname)"]);
  return {
    main: (await sh(s.repo, ["rev-parse", "main"])).trim(),
    tag: refs.includes(`refs/tags/gen-${n}`),
    branch: refs.includes(`refs/heads/lab/gen-${n}`),
    status: (await sh(s.repo, ["status", "--porcelain"])).trim(),
  };
}

describe("a promote killed at any instant", () => {
  it("killed (SIGKILL) between updating the checkout and moving main: the restart puts the checkout back and the generation promotes again", async () => {
    const s = await makeScratch();
    scratches.push(s);
    const n = await s.verifyingGeneration();
    const before = (await sh(s.repo, ["rev-parse", "main"])).trim();
    const sup = await s.start();
    await s.trap.arm({ subcommand: "read-tree", when: "after", signal: "KILL" });
    await sup.post("/promote", { generation: n }).catch(() => undefined);
    expect((await sup.exited).signal).toBe("SIGKILL");
    expect(await s.trap.fired()).toBe(true);
    await s.trap.disarm();
    // What the kill left: files staged in the checkout, main not moved.
    expect((await mainState(s, n)).status).toMatch(/^A {2}src\/gen-1\.ts/m);

    const again = await s.start();
    expect(again.output()).toMatch(/reconciled gen-1: the interrupted promotion had not moved main/);
    expect(await mainState(s, n)).toEqual({ main: before, tag: false, branch: true, status: "" });
    expect(await s.damage()).toEqual(noDamage);
    const promoted = await again.post("/promote", { generation: n });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    expect(await again.stop()).toEqual({ code: 0, signal: null });
    expect(await s.damage()).toEqual(noDamage);
  }, 60_000);

  it("killed (SIGKILL) after main moved, before the record was written: the restart records it promoted", async () => {
    const s = await makeScratch();
    scratches.push(s);
    const n = await s.verifyingGeneration();
    const sup = await s.start();
    await s.trap.arm({ subcommand: "update-ref", when: "after", signal: "KILL" });
    await sup.post("/promote", { generation: n }).catch(() => undefined);
    expect((await sup.exited).signal).toBe("SIGKILL");
    await s.trap.disarm();
    const moved = await mainState(s, n);
    expect(moved).toMatchObject({ tag: true, branch: false, status: "" });

    const again = await s.start();
    const record = await again.get(`/generations/${n}`);
    expect(record.body).toMatchObject({ outcome: "promoted" });
    expect(await s.damage()).toEqual(noDamage);
    // Asking again is a clear refusal about the record, not a missing branch.
    const twice = await again.post("/promote", { generation: n });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ error: { code: "NOT_VERIFYING" } });
    await again.stop();
  }, 60_000);

  it("SIGTERM with a promote step that outlasts LOOM_SHUTDOWN_GRACE_MS: exits after the grace, the next start settles it", async () => {
    const s = await makeScratch();
    scratches.push(s);
    const n = await s.verifyingGeneration();
    const sup = await s.start({ LOOM_SHUTDOWN_GRACE_MS: "500" });
    await s.trap.arm({ subcommand: "read-tree", when: "stall", signal: "TERM" });
    const t0 = Date.now();
    void sup.post("/promote", { generation: n }).catch(() => undefined);
    const exit = await sup.exited;
    // Bounded: the git step still had seconds to go.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await s.trap.stalledDone()).toBe(false);
    expect(sup.output()).toMatch(/still ran after 500 ms/);
    const deadline = Date.now() + 15_000;
    while (!(await s.trap.stalledDone()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await s.trap.disarm();
    const again = await s.start();
    expect(again.output()).toMatch(/reconciled gen-1: the interrupted promotion had not moved main/);
    expect((await again.get(`/generations/${n}`)).body).toMatchObject({ outcome: "verifying" });
    expect((await again.post("/promote", { generation: n })).status).toBe(200);
    await again.stop();
    expect(await s.damage()).toEqual(noDamage);
  }, 60_000);

  for (const signal of ["TERM", "INT"] as const) {
    it(`SIG${signal} during a promote: the promote finishes, the Supervisor shuts down cleanly (exit 0)`, async () => {
      const s = await makeScratch();
      scratches.push(s);
      const n = await s.verifyingGeneration();
      const sup = await s.start();
      await s.trap.arm({ subcommand: "read-tree", when: "during", signal });
      const answer = await sup.post("/promote", { generation: n }).catch(async (err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(await sup.exited)}\n${sup.output()}`);
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ generation: n, tag: `gen-${n}` });
      expect(await sup.exited).toEqual({ code: 0, signal: null });
      expect(sup.output()).toMatch(/shutting down/);
      expect(await mainState(s, n)).toMatchObject({ tag: true, branch: false, status: "" });
      await s.trap.disarm();
      const again = await s.start();
      expect((await again.get(`/generations/${n}`)).body).toMatchObject({ outcome: "promoted" });
      await again.stop();
      expect(await s.damage()).toEqual(noDamage);
    }, 60_000);
  }
});
