import { readdir } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import type { ScriptTurnInput } from "../../src/shared/scripted-model/index.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { FaultLog } from "./fault-log.ts";
import { makeScratch, type Scratch } from "./scratch.ts";
import type { SupervisorProcess } from "./supervisor-process.ts";

/**
 * Docker Labs: one killed with SIGKILL, one left running by a Supervisor killed with SIGKILL, and the
 * same with LOOM_LAB_POOL (a claimed Lab at work beside a pooled one waiting).
 */
const log = new FaultLog("docker");
const scratches: Scratch[] = [];
const models: ScriptedModelServer[] = [];
afterAll(async () => {
  await log.report();
  for (const s of scratches.splice(0)) {
    const label = repoLabels(s.repo)["loom.repo"];
    const ids = (
      await execa("docker", ["ps", "-aq", "--filter", `label=loom.repo=${label}`], { reject: false })
    ).stdout;
    for (const id of ids.split("\n").filter(Boolean))
      await execa("docker", ["rm", "-f", id], { reject: false });
    await s.cleanup();
  }
  for (const m of models.splice(0)) await m.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HANG: ScriptTurnInput[] = [{ fault: "slow", delayMs: 120_000 }];
const PROGRAM = "# Task\n\nWrite hello.txt.\n";
const FINAL = new Set(["verifying", "promoted", "rolled_back", "failed", "aborted", "timed_out"]);

const imagePresent = async () =>
  (await execa("docker", ["image", "inspect", "loom-lab:latest"], { reject: false })).exitCode === 0;

async function outcome(sup: SupervisorProcess, n: number, waitMs = 0): Promise<string | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const o = ((await sup.get(`/generations/${n}`)).body as { outcome?: string }).outcome;
    if ((o && FINAL.has(o)) || Date.now() >= deadline) return o;
    await sleep(200);
  }
}

async function labContainer(repo: string, n: number): Promise<string> {
  const label = repoLabels(repo)["loom.repo"];
  const out = await execa("docker", [
    "ps",
    "-q",
    "--filter",
    `label=loom.repo=${label}`,
    "--filter",
    `label=loom.generation=${n}`,
  ]);
  return out.stdout.trim();
}

async function labAtWork(s: Scratch, env: Record<string, string> = {}) {
  const model = await startScriptedModel(HANG);
  models.push(model);
  const sup = await s.start({
    LOOM_RUNTIME: "docker",
    LOOM_LAB_API_BASE: model.url,
    LOOM_LAB_API_KEY: "lab-key",
    ...env,
  });
  const n = Number((await sup.post("/spawn", { program: PROGRAM })).body.generation);
  s.generations.push(n);
  const deadline = Date.now() + 90_000;
  while (model.requests.length === 0 && Date.now() < deadline) await sleep(200);
  if (model.requests.length === 0) throw new Error(`the docker Lab never asked its model:\n${sup.output()}`);
  return { sup, n };
}

describe.skipIf(!(await imagePresent()))("fault injection: docker Labs", () => {
  it("kill -9 of a docker Lab fails its generation; a Supervisor killed with one running reaps it on restart", async () => {
    const s = await makeScratch();
    scratches.push(s);
    const label = repoLabels(s.repo)["loom.repo"];
    {
      const { sup, n } = await labAtWork(s);
      log.begin();
      const broken: string[] = [];
      await execa("docker", ["kill", "-s", "KILL", await labContainer(s.repo, n)]);
      const o = await outcome(sup, n, 60_000);
      if (o !== "failed") broken.push(`gen-${n} is ${o}, not failed`);
      await sup.stop();
      log.add(`docker Lab gen-${n}: kill -9 → ${o}`, await s.damage(), broken);
    }
    {
      const { sup, n } = await labAtWork(s);
      log.begin();
      const broken: string[] = [];
      const id = await labContainer(s.repo, n);
      process.kill(sup.pid, "SIGKILL");
      await sup.exited;
      const again = await s.start({ LOOM_RUNTIME: "docker" });
      const o = await outcome(again, n);
      if (o !== "aborted") broken.push(`gen-${n} is ${o}, not aborted`);
      const left = (await execa("docker", ["ps", "-aq", "--filter", `id=${id}`])).stdout.trim();
      if (left) broken.push(`container ${id} still there after the restart`);
      await again.stop();
      log.add(`docker Lab gen-${n}: Supervisor SIGKILL, restarted → ${o}`, await s.damage(), broken);
    }
    {
      const { sup, n } = await labAtWork(s, { LOOM_LAB_POOL: "2" });
      log.begin();
      const broken: string[] = [];
      const id = ((await sup.get(`/generations/${n}`)).body as { containerId?: string }).containerId;
      const pooled = (
        await execa("docker", [
          "ps",
          "-aq",
          "--no-trunc",
          "--filter",
          `label=loom.repo=${label}`,
          "--filter",
          "label=loom.pool",
        ])
      ).stdout
        .split("\n")
        .filter(Boolean);
      if (!id || !pooled.includes(id))
        broken.push(`gen-${n}'s Lab ${id} is not one of the pool's (${pooled.join(", ")})`);
      process.kill(sup.pid, "SIGKILL");
      await sup.exited;
      const again = await s.start({ LOOM_RUNTIME: "docker" });
      const o = await outcome(again, n);
      if (o !== "aborted") broken.push(`gen-${n} is ${o}, not aborted`);
      const left = (
        await execa("docker", ["ps", "-aq", "--filter", `label=loom.repo=${label}`])
      ).stdout.trim();
      if (left) broken.push(`containers ${left.replace(/\n/g, ", ")} still there after the restart`);
      const slots = await readdir(path.join(s.stateDir, "lab-pool")).catch(() => []);
      if (slots.length > 0)
        broken.push(`pooled Labs' folders ${slots.join(", ")} still there after the restart`);
      await again.stop();
      log.add(`pooled docker Lab gen-${n}: Supervisor SIGKILL, restarted → ${o}`, await s.damage(), broken);
    }
    const d = await s.damage();
    expect({ ...d, label }).toEqual({ corruptedMain: [], orphans: [], lostRecords: [], label });
    expect(log.totals()).toMatchObject({ corruptedMains: 0, orphans: 0, lostRecords: 0, broken: 0 });
  }, 240_000);
});
