import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/index.ts";
import { prepareWorkspace } from "../../src/supervisor/git/index.ts";
import { repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { workspaceOf } from "../../src/supervisor/lifecycle/run-generation.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { startSupervisor } from "../../src/supervisor/supervisor.ts";
import { loom } from "../helpers/cli.ts";
import { type Fixture, git, makeFixture } from "./lifecycle-fixture.ts";

const fixtures: Fixture[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c().catch(() => {});
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

const hash = (s: string) => createHash("sha256").update(s).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("restart safety", () => {
  it("reaps a leftover Lab process and workspace, fetches its branch, marks running records aborted", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    const config = fx.config();
    const store = await GenerationStore.open(config.stateDir);
    const running = await store.allocate({ programHash: hash("a"), parent: null });
    await store.update(running.generation, { outcome: "running" });
    const verifying = await store.allocate({ programHash: hash("b"), parent: null });
    await store.update(verifying.generation, { outcome: "running" });
    await store.update(verifying.generation, { outcome: "verifying" });
    // What a crashed Supervisor leaves: a workspace with the Lab's commit and a labelled Lab still running.
    const ws = workspaceOf(config.stateDir, running.generation);
    await prepareWorkspace({
      repo: fx.repo,
      workspace: ws,
      generation: running.generation,
      program: "# Task\n",
    });
    await writeFile(path.join(ws, "work.txt"), "half done\n");
    await git(ws, ["add", "work.txt"]);
    await git(ws, ["commit", "-q", "-m", "lab work"]);
    const labCommit = (await git(ws, ["rev-parse", "HEAD"])).trim();
    const pidFile = path.join(fx.root, "lab.pid");
    const earlier = new LocalRuntime({ stateDir: config.stateDir, sandbox: "none" });
    const ours = await earlier.run({
      image: "loom-lab:latest",
      command: ["sh", "-c", `echo $$ > ${pidFile}; exec sleep 300`],
      labels: { ...repoLabels(fx.repo), "loom.generation": String(running.generation) },
    });
    const foreign = await earlier.run({
      image: "x",
      command: ["sleep", "300"],
      labels: { loom: "1", "loom.repo": "someone-else" },
    });
    cleanups.push(() => earlier.remove(foreign.id));
    const deadline = Date.now() + 5000;
    while (!(await readFile(pidFile, "utf8").catch(() => "")).trim() && Date.now() < deadline)
      await sleep(50);
    const labPid = Number((await readFile(pidFile, "utf8")).trim());
    expect(alive(labPid)).toBe(true);

    const sup = await startSupervisor({ config, port: 0, log: () => {} });
    cleanups.push(() => sup.close());
    expect(sup.reaped.containers).toEqual([ours.id]);
    expect(sup.reaped.workspaces).toEqual([ws]);
    expect(sup.reaped.aborted.map((r) => r.generation)).toEqual([running.generation]);

    const after = GenerationRecord.parse(await store.get(running.generation));
    expect(after.outcome).toBe("aborted");
    expect(after.reason).toMatch(/Supervisor restarted while this generation was running/);
    expect((await store.get(verifying.generation))?.outcome).toBe("verifying");
    expect(await earlier.inspect(ours.id)).toBeUndefined();
    const goneBy = Date.now() + 5000;
    while (alive(labPid) && Date.now() < goneBy) await sleep(50);
    expect(alive(labPid)).toBe(false);
    expect((await earlier.inspect(foreign.id))?.state).toBe("running");
    await expect(stat(ws)).rejects.toThrow(/ENOENT/);
    expect((await git(fx.repo, ["rev-parse", `lab/gen-${running.generation}`])).trim()).toBe(labCommit);
  }, 60_000);

  it("`loom generations` lists the records a Supervisor left, as a table and as JSON", async () => {
    const fx = await makeFixture([]);
    fixtures.push(fx);
    const env = { LOOM_REPO_PATH: fx.repo, LOOM_STATE_DIR: fx.stateDir };
    const empty = await loom(["generations"], { env });
    expect(empty.stdout).toBe("No generations yet.");
    await expect(stat(fx.stateDir)).rejects.toThrow(/ENOENT/);
    const store = await GenerationStore.open(fx.stateDir);
    const a = await store.allocate({ programHash: hash("a"), parent: null });
    await store.update(a.generation, { outcome: "failed", reason: "the Lab failed: model said no" });
    await store.allocate({ programHash: hash("b"), parent: null });
    const table = await loom(["generations"], { env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^GEN\s+OUTCOME/);
    expect(table.stdout).toMatch(/\n1\s+failed\s.*the Lab failed: model said no/);
    expect(table.stdout).toMatch(/\n2\s+pending/);
    const json = await loom(["generations", "--json"], { env });
    expect(json.code, json.stderr).toBe(0);
    const records = (JSON.parse(json.stdout) as unknown[]).map((r) => GenerationRecord.parse(r));
    expect(records.map((r) => [r.generation, r.outcome])).toEqual([
      [1, "failed"],
      [2, "pending"],
    ]);
  }, 30_000);
  it("close() stops a running Lab: its record ends aborted, no process or workspace is left", async () => {
    const fx = await makeFixture([{ fault: "slow", delayMs: 60_000 }]);
    fixtures.push(fx);
    const config = fx.config();
    const events: string[] = [];
    const sup = await startSupervisor({
      config,
      port: 0,
      log: () => {},
      pollMs: 100,
      onEvent: (e) => events.push(e.type === "lab_status" ? `lab:${e.status}` : e.type),
    });
    const { generation: n } = await sup.controller.spawn("# Task: hang\n");
    const deadline = Date.now() + 30_000;
    while (!events.includes("lab:running") && Date.now() < deadline) await sleep(100);
    expect(events).toContain("lab:running");
    await sup.close();
    const record = GenerationRecord.parse(await (await GenerationStore.open(config.stateDir)).get(n));
    expect(record.outcome).toBe("aborted");
    expect(record.reason).toMatch(/shut down/);
    expect(await new LocalRuntime({ stateDir: config.stateDir }).list({ loom: "1" })).toEqual([]);
    await expect(stat(workspaceOf(config.stateDir, n))).rejects.toThrow(/ENOENT/);
  }, 60_000);
});
