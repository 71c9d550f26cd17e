import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { GenerationRecord, SpawnResponse } from "../../schemas/index.ts";
import { repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { DockerRuntime, LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { labImageMissing } from "../helpers/lab-image.ts";
import { entries, type Fixture, makeFixture } from "../supervisor/lifecycle-fixture.ts";
import { type SupervisorProcess, startSupervisorProcess } from "./supervisor-process.ts";

const dockerMissing = await labImageMissing("round kill test (docker)");

const fixtures: Fixture[] = [];
const running: SupervisorProcess[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop(5_000).catch(() => {});
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Host processes whose command line names this fixture's workspaces: a local Lab and its children. */
async function labProcesses(stateDir: string): Promise<string[]> {
  const ps = await execa("ps", ["-eo", "pid=,args="]);
  return ps.stdout
    .split("\n")
    .filter((line) => line.includes(`${stateDir}/workspaces/`) && !line.includes("ps -eo"));
}

async function records(sup: SupervisorProcess): Promise<GenerationRecord[]> {
  const res = await sup.get("/generations");
  return (res.body as unknown[]).map((r) => GenerationRecord.parse(r));
}

/**
 * SIGKILL of the Supervisor (its process only, as the OOM killer would) while the three candidates of
 * a round wait on their model; then a restart on the same state.
 */
async function killMidRound(runtime: "local" | "docker") {
  // Every Lab hangs on its first model request until it is killed.
  const fx = await makeFixture([1, 2, 3].map(() => ({ fault: "slow" as const, delayMs: 120_000 })));
  fixtures.push(fx);
  const env = {
    LOOM_REPO_PATH: fx.repo,
    LOOM_STATE_DIR: fx.stateDir,
    LOOM_RUNTIME: runtime,
    LOOM_LAB_API_KEY: "lab-key",
    LOOM_LAB_API_BASE: fx.model.url,
    LOOM_MAX_RETRIES: "0",
    LOOM_CANDIDATES: "3",
  };
  const sup = await startSupervisorProcess({ env });
  running.push(sup);
  const spawned = await sup.post("/spawn", { program: "# Task\nHang.\n" });
  expect(spawned.status, JSON.stringify(spawned.body)).toBe(202);
  expect(SpawnResponse.parse(spawned.body).generations.map((g) => g.generation)).toEqual([1, 2, 3]);
  // All three Labs are up and waiting on the model.
  const deadline = Date.now() + 90_000;
  while (fx.model.requests.length < 3 && Date.now() < deadline) await sleep(100);
  expect(fx.model.requests.length).toBe(3);
  const before = await records(sup);
  expect(before.map((r) => [r.outcome, r.round, r.containerId !== null])).toEqual([
    ["running", 1, true],
    ["running", 1, true],
    ["running", 1, true],
  ]);
  const labs = runtime === "local" ? new LocalRuntime({ stateDir: fx.stateDir }) : new DockerRuntime({});
  // Labs only: main's baseline may be measuring in a container of the same repo meanwhile.
  const labsBefore = (await labs.list(repoLabels(fx.repo))).filter((c) => c.labels["loom.generation"]);
  expect(labsBefore.map((c) => c.labels["loom.generation"]).sort()).toEqual(["1", "2", "3"]);
  if (runtime === "local") expect((await labProcesses(fx.stateDir)).length).toBeGreaterThanOrEqual(3);

  process.kill(sup.pid, "SIGKILL");
  expect((await sup.exited).signal).toBe("SIGKILL");

  const again = await startSupervisorProcess({ env });
  running.push(again);
  const after = await records(again);
  expect(after.map((r) => r.outcome)).toEqual(["aborted", "aborted", "aborted"]);
  for (const r of after) {
    expect(r.reason).toMatch(/the Supervisor restarted while this generation was running/);
    expect(r.finishedAt).not.toBeNull();
    expect(r.round).toBe(1);
  }
  // The new Supervisor is free for the next round.
  const stats = (await again.get("/stats")).body as { running: number | null; runningGenerations?: number[] };
  expect(stats).toMatchObject({ running: null, runningGenerations: [] });
  expect(await entries(`${fx.stateDir}/workspaces`)).toEqual([]);
  expect(await labs.list(repoLabels(fx.repo))).toEqual([]);
  return { fx, again };
}

describe("a Supervisor killed mid-round", () => {
  it("local: the restart reaps every candidate — records aborted with the reason, no Lab process or workspace left", async () => {
    const { fx } = await killMidRound("local");
    const goneBy = Date.now() + 10_000;
    while ((await labProcesses(fx.stateDir)).length > 0 && Date.now() < goneBy) await sleep(100);
    expect(await labProcesses(fx.stateDir)).toEqual([]);
  }, 150_000);

  it.skipIf(dockerMissing !== undefined)(
    "docker: the restart removes the three containers the killed Supervisor left",
    async () => {
      const { fx } = await killMidRound("docker");
      const ps = await execa("docker", [
        "ps",
        "-a",
        "--filter",
        `label=loom.repo=${repoLabels(fx.repo)["loom.repo"]}`,
        "--format",
        "{{.ID}}",
      ]);
      expect(ps.stdout.trim()).toBe("");
    },
    180_000,
  );
});
