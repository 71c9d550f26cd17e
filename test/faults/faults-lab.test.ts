import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ScriptTurnInput } from "../../src/shared/scripted-model/index.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { WRITE_AND_END } from "../supervisor/lifecycle-fixture.ts";
import { FaultLog } from "./fault-log.ts";
import type { Trap } from "./git-trap.ts";
import { makeScratch, type Scratch } from "./scratch.ts";
import type { SupervisorProcess } from "./supervisor-process.ts";

/**
 * Faults while Labs run (local runtime, scripted model): the Supervisor killed or stopped during a
 * spawn's git steps, while the Lab works, while its branch is fetched, and during verification; a Lab
 * killed with SIGKILL; the model answering 429, 500, 529, 401, a cut-off body, or not at all.
 */
const log = new FaultLog("lab");
const scratches: Scratch[] = [];
const models: ScriptedModelServer[] = [];
afterAll(async () => {
  await log.report();
  for (const s of scratches.splice(0)) await s.cleanup();
  for (const m of models.splice(0)) await m.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HANG: ScriptTurnInput[] = [{ fault: "slow", delayMs: 120_000 }];
const FINAL = new Set(["verifying", "promoted", "rolled_back", "failed", "aborted", "timed_out"]);

async function withModel(s: Scratch, script: readonly ScriptTurnInput[], env: Record<string, string> = {}) {
  const model = await startScriptedModel(script);
  models.push(model);
  const sup = await s.start({ LOOM_LAB_API_BASE: model.url, LOOM_LAB_API_KEY: "lab-key", ...env });
  return { model, sup };
}

async function outcome(sup: SupervisorProcess, n: number, waitMs = 0): Promise<string | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const o = ((await sup.get(`/generations/${n}`)).body as { outcome?: string }).outcome;
    if ((o && FINAL.has(o)) || Date.now() >= deadline) return o;
    await sleep(200);
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The process group of the running Lab, from the local runtime's records. */
async function labGroup(stateDir: string, n: number): Promise<number | undefined> {
  const root = path.join(stateDir, "runtime-local");
  for (const id of await readdir(root).catch(() => [] as string[])) {
    const text = await readFile(path.join(root, id, "record.json"), "utf8").catch(() => "");
    if (!text) continue;
    const r = JSON.parse(text) as { pid: number; labels: Record<string, string>; exitCode?: number };
    if (r.labels["loom.generation"] === String(n) && r.exitCode === undefined) return r.pid;
  }
  return undefined;
}

const PROGRAM = "# Task\n\nWrite hello.txt.\n";

/** Kills or stops the Supervisor at `trap`, restarts it, and checks what the spawn left. */
async function spawnAtGitStep(s: Scratch, trap: Trap, script: readonly ScriptTurnInput[]) {
  const { sup } = await withModel(s, script);
  log.begin();
  const broken: string[] = [];
  await s.trap.arm(trap);
  const spawned = await sup.post("/spawn", { program: PROGRAM });
  const n = Number(spawned.body.generation);
  if (spawned.status !== 202) broken.push(`spawn answered ${spawned.status}`);
  else s.generations.push(n);
  const exit = await Promise.race([sup.exited, sleep(60_000).then(() => undefined)]);
  if (!exit) {
    broken.push("the trap never stopped the Supervisor");
    await sup.stop(5000);
  }
  if (!(await s.trap.fired())) broken.push("the trap did not fire");
  await s.trap.disarm();
  if (trap.signal !== "KILL" && exit && exit.code !== 0)
    broken.push(`SIG${trap.signal} ended in ${JSON.stringify(exit)}`);
  const again = await s.start();
  const o = await outcome(again, n);
  if (o === "pending" || o === "running") broken.push(`gen-${n} still ${o} after the restart`);
  const workspaces = await readdir(path.join(s.stateDir, "workspaces")).catch(() => []);
  if (workspaces.length > 0) broken.push(`workspaces left: ${workspaces.join(", ")}`);
  await again.stop();
  log.add(
    `spawn gen-${n}: SIG${trap.signal} ${trap.when} git ${trap.subcommand} → ${o}`,
    await s.damage(),
    broken,
  );
}

describe("fault injection: spawns, Labs, verification and the model", () => {
  it("the Supervisor killed or stopped during a spawn's git steps, a Lab's work and the fetch", async () => {
    const s = await makeScratch();
    scratches.push(s);
    const steps: [Trap, readonly ScriptTurnInput[]][] = [
      [{ subcommand: "clone", when: "before", signal: "KILL" }, HANG],
      [{ subcommand: "clone", when: "after", signal: "KILL" }, HANG],
      [{ subcommand: "commit", when: "after", signal: "KILL" }, HANG],
      [{ subcommand: "clone", when: "during", signal: "TERM" }, HANG],
      [{ subcommand: "commit", when: "during", signal: "INT" }, HANG],
      [{ subcommand: "fetch", when: "before", signal: "KILL" }, WRITE_AND_END],
      [{ subcommand: "fetch", when: "after", signal: "KILL" }, WRITE_AND_END],
      [{ subcommand: "fetch", when: "during", signal: "TERM" }, WRITE_AND_END],
    ];
    for (const [trap, script] of steps) await spawnAtGitStep(s, trap, script);

    // Killed or stopped while the Lab waits on its model.
    for (const signal of ["SIGKILL", "SIGTERM"] as const) {
      const { model, sup } = await withModel(s, HANG);
      log.begin();
      const broken: string[] = [];
      const n = Number((await sup.post("/spawn", { program: PROGRAM })).body.generation);
      s.generations.push(n);
      await until("the Lab's first model request", () => model.requests.length > 0);
      process.kill(sup.pid, signal);
      const exit = await sup.exited;
      if (signal === "SIGTERM" && exit.code !== 0) broken.push(`SIGTERM ended in ${JSON.stringify(exit)}`);
      const again = await s.start();
      const o = await outcome(again, n);
      if (o !== "aborted") broken.push(`gen-${n} is ${o}, not aborted`);
      await again.stop();
      log.add(`Lab gen-${n} at work: Supervisor ${signal} → ${o}`, await s.damage(), broken);
    }

    // The Lab itself killed with SIGKILL (its whole process group, as a container kill does).
    {
      const { model, sup } = await withModel(s, HANG);
      log.begin();
      const broken: string[] = [];
      const n = Number((await sup.post("/spawn", { program: PROGRAM })).body.generation);
      s.generations.push(n);
      await until("the Lab's first model request", () => model.requests.length > 0);
      const group = await labGroup(s.stateDir, n);
      if (group === undefined) broken.push("no running Lab found");
      else process.kill(-group, "SIGKILL");
      const o = await outcome(sup, n, 60_000);
      if (o !== "failed") broken.push(`gen-${n} is ${o}, not failed`);
      await sup.stop();
      log.add(`Lab gen-${n}: kill -9 of the Lab → ${o}`, await s.damage(), broken);
    }

    // Verification cut short.
    for (const trap of [
      { subcommand: "clone", when: "before", signal: "KILL" },
      { subcommand: "clone", when: "during", signal: "TERM" },
    ] satisfies Trap[]) {
      const n = await s.verifyingGeneration();
      const sup = await s.start();
      log.begin();
      const broken: string[] = [];
      await s.trap.arm(trap);
      const verify = sup.post("/verify", { generation: n }).catch(() => undefined);
      const exit = await Promise.race([sup.exited, sleep(60_000).then(() => undefined)]);
      if (!exit) {
        broken.push("the trap never stopped the Supervisor");
        await sup.stop(5000);
      }
      await verify;
      if (!(await s.trap.fired())) broken.push("the trap did not fire");
      await s.trap.disarm();
      if (trap.signal !== "KILL" && exit && exit.code !== 0)
        broken.push(`SIG${trap.signal} ended in ${JSON.stringify(exit)}`);
      const again = await s.start();
      const o = await outcome(again, n);
      if (o !== "verifying") broken.push(`gen-${n} is ${o}, not verifying`);
      // Nobody may wait on a verification that no process runs any more.
      const run = ((await again.get(`/generations/${n}`)).body as { verificationRun?: { state?: string } })
        .verificationRun;
      if (run?.state !== "stopped") broken.push(`gen-${n}'s verification is ${run?.state}, not stopped`);
      await again.stop();
      log.add(`verify gen-${n}: SIG${trap.signal} ${trap.when} git clone → ${o}`, await s.damage(), broken);
    }
    expect(log.totals()).toMatchObject({ corruptedMains: 0, orphans: 0, lostRecords: 0, broken: 0 });
  }, 400_000);

  it("the model answers 429, 500, 529, 401, a cut-off body, or hangs: each Lab fails with the reason", async () => {
    const s = await makeScratch();
    scratches.push(s);
    const faults: ScriptTurnInput[] = [
      { fault: "rate_limit", retryAfterMs: 0 },
      { fault: "server_error" },
      { fault: "overloaded" },
      { fault: "auth" },
      { fault: "malformed" },
      { fault: "slow", delayMs: 30_000 },
    ];
    // One model plays the faults in order; without retries each Lab meets exactly one.
    const { sup } = await withModel(s, faults, { LOOM_REQUEST_TIMEOUT_MS: "1500" });
    log.begin();
    for (const fault of faults) {
      const broken: string[] = [];
      const n = Number((await sup.post("/spawn", { program: PROGRAM })).body.generation);
      s.generations.push(n);
      const o = await outcome(sup, n, 90_000);
      const reason = ((await sup.get(`/generations/${n}`)).body as { reason?: string }).reason ?? "";
      if (o !== "failed") broken.push(`gen-${n} is ${o}, not failed`);
      log.add(
        `model ${"fault" in fault ? fault.fault : "?"} → gen-${n} ${o}: ${reason.slice(0, 80)}`,
        await s.damage(),
        broken,
      );
    }
    const stopped = await sup.stop();
    log.add(
      "model faults: the Supervisor stopped",
      await s.damage(),
      stopped.code === 0 ? [] : [`exit ${JSON.stringify(stopped)}`],
      false,
    );
    expect(log.totals()).toMatchObject({ corruptedMains: 0, orphans: 0, lostRecords: 0, broken: 0 });
  }, 300_000);
});
