import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/index.ts";
import { promote, resetMainTo } from "../../src/supervisor/git/index.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { GenerationStore, IntentJournal } from "../../src/supervisor/store/index.ts";
import { startSupervisor } from "../../src/supervisor/supervisor.ts";
import { sh } from "../supervisor/git-repo-fixture.ts";
import { BROKEN_LOOM, makePrimeFixture } from "../supervisor/prime-fixture.ts";
import { makeScratch, type Scratch } from "./scratch.ts";

/**
 * What a Supervisor killed in the middle of a step leaves, made by hand, and what the next start does
 * with it: each intent finished or undone from what git shows, the records made true to git.
 */
const scratches: Scratch[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c().catch(() => {});
  await Promise.all(scratches.splice(0).map((s) => s.cleanup()));
});

async function scratch() {
  const s = await makeScratch();
  scratches.push(s);
  const store = await GenerationStore.open(s.stateDir);
  const journal = await IntentJournal.open(s.stateDir);
  const config = (await import("../../src/shared/config.ts")).loadConfig({
    cwd: s.root,
    env: { LOOM_REPO_PATH: s.repo, LOOM_STATE_DIR: s.stateDir, LOOM_RUNTIME: "local" },
  });
  const start = async () => {
    const sup = await startSupervisor({ config, port: 0, log: () => {} });
    cleanups.push(() => sup.close());
    return sup;
  };
  const main = async () => (await sh(s.repo, ["rev-parse", "main"])).trim();
  const refs = async () => (await sh(s.repo, ["for-each-ref", "--format=%(refname)"])).split("\n");
  return { s, store, journal, start, main, refs };
}

const REASON = "promoted, but Prime on the new main failed its health check: test";

describe("start-up reconcile", () => {
  it("a revert killed after main was reset: the record follows git (promoted → rolled_back)", async () => {
    const { s, store, journal, start, main, refs } = await scratch();
    const n = await s.verifyingGeneration();
    const previous = await main();
    const { mergeCommit } = await promote({ repo: s.repo, generation: n });
    await store.update(n, { outcome: "promoted", reason: null });
    await journal.write({ op: "revert", generation: n, mergeCommit, previous, reason: REASON });
    await resetMainTo({ repo: s.repo, commit: previous, expected: mergeCommit, dropTag: `gen-${n}` });

    const sup = await start();
    expect(sup.reconciled.actions).toEqual([expect.stringMatching(/interrupted revert was completed/)]);
    const record = GenerationRecord.parse(await store.get(n));
    expect(record).toMatchObject({ outcome: "rolled_back", reason: REASON });
    expect(await main()).toBe(previous);
    expect(await refs()).not.toContain(`refs/tags/gen-${n}`);
    expect(await journal.list()).toEqual([]);
    expect(await s.damage()).toEqual({ corruptedMain: [], orphans: [], lostRecords: [] });
  });

  it("a revert killed while the checkout was half put back: main reset, tag dropped, checkout clean, a person's edit kept", async () => {
    const { s, store, journal, start, main, refs } = await scratch();
    const n = await s.verifyingGeneration({
      "src/a.ts": "export const a = 1;\n",
      "src/b.ts": "export const b = 1;\n",
    });
    const previous = await main();
    const { mergeCommit } = await promote({ repo: s.repo, generation: n });
    await store.update(n, { outcome: "promoted", reason: null });
    await journal.write({ op: "revert", generation: n, mergeCommit, previous, reason: REASON });
    // The killed revert had removed src/a.ts from the checkout; someone else then edited src/b.ts.
    await sh(s.repo, ["rm", "-q", "--cached", "src/a.ts"]);
    await rm(path.join(s.repo, "src/a.ts"));
    await writeFile(path.join(s.repo, "src/b.ts"), "export const b = 'a person was here';\n");

    const sup = await start().catch((err: Error) => err);
    // A person's change in the checkout is never overwritten: the start stops there, naming the file.
    expect(sup).toBeInstanceOf(Error);
    expect(String(sup)).toMatch(/restoring the checkout .*src\/b\.ts/s);
    expect(await readFile(path.join(s.repo, "src/b.ts"), "utf8")).toMatch(/a person was here/);
    expect(await journal.list()).toHaveLength(1);
    // Once the person's edit is out of the way, the next start completes the revert.
    await sh(s.repo, ["checkout", "--", "src/b.ts"]);
    const again = await start();
    expect(again.reconciled.actions).toEqual([expect.stringMatching(/interrupted revert was completed/)]);
    expect(await main()).toBe(previous);
    expect(await refs()).not.toContain(`refs/tags/gen-${n}`);
    expect((await store.get(n))?.outcome).toBe("rolled_back");
    expect((await sh(s.repo, ["status", "--porcelain"])).trim()).toBe("");
    expect(await s.damage()).toEqual({ corruptedMain: [], orphans: [], lostRecords: [] });
  });

  it("a rollback killed after the branch was deleted: recorded rolled_back with its reason", async () => {
    const { s, store, journal, start, refs } = await scratch();
    const n = await s.verifyingGeneration();
    await journal.write({ op: "rollback", generation: n, reason: "not good enough" });
    await sh(s.repo, ["branch", "-D", `lab/gen-${n}`]);
    const sup = await start();
    expect(sup.reconciled.actions).toEqual([`gen-${n}: the interrupted rollback was completed`]);
    expect(await store.get(n)).toMatchObject({ outcome: "rolled_back", reason: "not good enough" });
    expect(await refs()).not.toContain(`refs/heads/lab/gen-${n}`);
    expect(await s.damage()).toEqual({ corruptedMain: [], orphans: [], lostRecords: [] });
  });

  it("a promotion whose ref transaction was torn (main moved, tag missing, branch left) is completed", async () => {
    const { s, store, journal, start, main, refs } = await scratch();
    const n = await s.verifyingGeneration();
    const before = await main();
    let plan: Parameters<NonNullable<Parameters<typeof promote>[0]["onPlanned"]>>[0] | undefined;
    await promote({
      repo: s.repo,
      generation: n,
      onPlanned: async (p) => {
        plan = p;
        await journal.write({ op: "promote", ...p });
      },
    });
    if (!plan) throw new Error("no plan");
    // Put back what a torn write could lose: the tag and the branch deletion, not main's move.
    await sh(s.repo, ["update-ref", "-d", `refs/tags/gen-${n}`]);
    await sh(s.repo, ["update-ref", `refs/heads/lab/gen-${n}`, plan.lab]);
    expect(await main()).not.toBe(before);
    const sup = await start();
    expect(sup.reconciled.actions[0]).toMatch(/had moved main .*recorded promoted/);
    expect(await store.get(n)).toMatchObject({ outcome: "promoted" });
    expect(await refs()).toContain(`refs/tags/gen-${n}`);
    expect(await refs()).not.toContain(`refs/heads/lab/gen-${n}`);
    expect(await s.damage()).toEqual({ corruptedMain: [], orphans: [], lostRecords: [] });
  });

  it("a promotion killed inside read-tree (some files written, index.lock left): the checkout is put back", async () => {
    const { s, journal, store, start, main } = await scratch();
    const n = await s.verifyingGeneration({
      "src/new.ts": "export const fresh = 1;\n",
      "README.md": "# scratch, changed by the Lab\n",
    });
    const before = await main();
    const lab = (await sh(s.repo, ["rev-parse", `lab/gen-${n}`])).trim();
    const tree = (await sh(s.repo, ["merge-tree", "--write-tree", "main", lab])).trim();
    const mergeCommit = (await sh(s.repo, ["commit-tree", tree, "-p", before, "-p", lab, "-m", "m"])).trim();
    // Main never moved, so the tag object is never used; any object id stands in for it.
    await journal.write({
      op: "promote",
      generation: n,
      base: before,
      lab,
      mergeCommit,
      tagObject: mergeCommit,
    });
    // Half of read-tree's work: one file written, one created, the new index never renamed into place.
    await writeFile(path.join(s.repo, "README.md"), "# scratch, changed by the Lab\n");
    await mkdir(path.join(s.repo, "src"), { recursive: true });
    await writeFile(path.join(s.repo, "src/new.ts"), "export const fresh = 1;\n");
    await writeFile(path.join(s.repo, ".git", "index.lock"), "");
    const sup = await start();
    expect(sup.reconciled.actions[0]).toMatch(/had not moved main; 2 file\(s\) of the checkout put back/);
    expect(await main()).toBe(before);
    expect((await sh(s.repo, ["status", "--porcelain", "--untracked-files=all"])).trim()).toBe("");
    expect((await store.get(n))?.outcome).toBe("verifying");
    expect(await s.damage()).toEqual({ corruptedMain: [], orphans: [], lostRecords: [] });
  });

  it("without any journal (an older Supervisor), a verifying record whose tag is on main becomes promoted", async () => {
    const { s, store, start } = await scratch();
    const n = await s.verifyingGeneration();
    await promote({ repo: s.repo, generation: n });
    const sup = await start();
    expect(sup.reconciled.actions).toEqual([`gen-${n}: tag gen-${n} is on main; recorded promoted`]);
    expect((await store.get(n))?.outcome).toBe("promoted");
  });

  it("a promotion whose Prime was never checked (killed after the promote answered): the start checks it, and reverts it when unhealthy", async () => {
    const fx = await makePrimeFixture();
    cleanups.push(() => fx.cleanup());
    const config = fx.config({ LOOM_RUNTIME: "local" });
    const store = await GenerationStore.open(config.stateDir);
    const journal = await IntentJournal.open(config.stateDir);
    const n = await fx.verifiedGeneration(store, { "bin/loom.js": BROKEN_LOOM });
    const previous = (await sh(fx.repo, ["rev-parse", "main"])).trim();
    // What a Supervisor killed right after the promote answered leaves: promoted, Prime not yet checked.
    const { mergeCommit } = await promote({ repo: fx.repo, generation: n });
    await store.update(n, { outcome: "promoted", reason: null });
    await journal.write({ op: "prime-restart", generation: n, mergeCommit, previous });

    const sup = await startSupervisor({
      config,
      port: 0,
      log: () => {},
      pollMs: 100,
      prime: { port: await freePort(), healthTimeoutMs: 30_000, stopGraceMs: 2000, watchMs: 200 },
    });
    cleanups.push(() => sup.close());
    await sup.prime?.idle();
    expect((await sh(fx.repo, ["rev-parse", "main"])).trim()).toBe(previous);
    expect(await sh(fx.repo, ["tag", "--list", `gen-${n}`])).toBe("");
    const record = GenerationRecord.parse(await store.get(n));
    expect(record.outcome).toBe("rolled_back");
    expect(record.reason).toMatch(/Prime on the new main failed its health check/);
    expect(sup.prime?.status()).toMatchObject({ state: "running", commit: previous });
    expect(await readdir(path.join(config.stateDir, "intents"))).toEqual([]);
    const starts = await readFile(path.join(config.stateDir, "prime-state", "starts.log"), "utf8").catch(
      () => "",
    );
    expect(starts).toContain(previous);
  }, 90_000);
});
