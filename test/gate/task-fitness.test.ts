import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MechanicalVerification } from "../../schemas/index.ts";
import { oracleScript, taskMarker } from "../../src/bench-agent/oracle.ts";
import { loadTasks } from "../../src/bench-agent/tasks.ts";
import { SupervisorClient } from "../../src/prime/supervisor-client.ts";
import { SupervisorError } from "../../src/prime/supervisor-error.ts";
import { loadConfig } from "../../src/shared/config.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { cloneLoom, LOOM_ROOT } from "../helpers/loom-clone.ts";

/**
 * LOOM_FITNESS=tasks on a clone of Loom: a candidate whose ts_rename refuses every rename is measured
 * by its Lab agent on main's tasks and stopped (fewer solved than main's agent), and one that only
 * documents a module solves as many as main, which the paired test calls noise: neither is promoted.
 * Real parts: the candidates' agents built from their commits, real local Labs on the oracle scripts
 * through the model proxy, the hidden tests in the sandbox. main's scripts are made trivial (the
 * scripts are main's, so this stands for a passing check and suite without running Loom's own), and
 * main's tasks/ holds three tasks, one of which renames through ts_rename.
 */
const TASKS = ["redux-rename-kindof", "ts-dedent-common-indent", "mime-path-without-extension"];
const RENAME = "src/agent/ts/tools/rename.ts";

const git = async (cwd: string, args: string[]) =>
  (
    await execa("git", ["-c", "user.name=Test", "-c", "user.email=test@loom.invalid", ...args], {
      cwd,
      stdin: "ignore",
    })
  ).stdout.trim();

let root: string;
let repo: string;
let model: ScriptedModelServer;
let sup: Supervisor;
let client: SupervisorClient;
let store: GenerationStore;

/** A verifying generation whose lab/gen-N is main plus `edit` (a file's new text), committed. */
async function candidate(file: string, edit: (text: string) => string): Promise<number> {
  const rec = await store.allocate({ programHash: "a".repeat(64), parent: null });
  const n = rec.generation;
  const wt = path.join(root, `wt-${n}`);
  await git(repo, ["worktree", "add", "-q", "-b", `lab/gen-${n}`, wt, "main"]);
  const { readFile } = await import("node:fs/promises");
  await writeFile(path.join(wt, file), edit(await readFile(path.join(wt, file), "utf8")));
  await git(wt, ["commit", "-qam", `gen-${n}`]);
  await git(repo, ["worktree", "remove", "--force", wt]);
  await store.update(n, { outcome: "running" });
  await store.update(n, { outcome: "verifying" });
  return n;
}

const states = (m: MechanicalVerification) =>
  Object.fromEntries((m.stages ?? []).map((s) => [s.name, s.state]));

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-task-fitness-"));
  repo = await cloneLoom(path.join(root, "repo"));
  // main's scripts stand for a passing check and suite; main's tasks are three of the suite's.
  const pkg = JSON.parse(
    await (await import("node:fs/promises")).readFile(path.join(repo, "package.json"), "utf8"),
  );
  pkg.scripts = {
    ...pkg.scripts,
    check: "node -e 0",
    test: "node -e \"console.log(' Tests  1 passed (1)')\"",
    "test:acceptance": "node -e 0",
  };
  await writeFile(path.join(repo, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const name of await readdir(path.join(repo, "tasks"), { withFileTypes: true }))
    if (name.isDirectory() && !TASKS.includes(name.name))
      await rm(path.join(repo, "tasks", name.name), { recursive: true });
  await git(repo, ["add", "package.json", "tasks"]);
  await git(repo, ["commit", "-qm", "three tasks, trivial scripts"]);
  const { tasks } = await loadTasks(path.join(LOOM_ROOT, "tasks"));
  const chosen = tasks.filter((t) => TASKS.includes(t.name));
  // Each task's oracle once for main's agent and once per candidate's (runs go one after another).
  model = await startScriptedModel(
    [1, 2, 3].flatMap(() => chosen.flatMap((t) => oracleScript(t, taskMarker(t.name)))),
  );
  const stateDir = path.join(root, "state");
  sup = await startSupervisor({
    config: loadConfig({
      cwd: root,
      env: {
        LOOM_REPO_PATH: repo,
        LOOM_STATE_DIR: stateDir,
        LOOM_RUNTIME: "local",
        LOOM_FITNESS: "tasks",
        LOOM_TASKS_SCREEN: "3",
        LOOM_LAB_API_KEY: "lab-key",
        LOOM_LAB_API_BASE: model.url,
        LOOM_MAX_RETRIES: "0",
      },
    }),
    port: 0,
    log: () => {},
    pollMs: 100,
  });
  client = new SupervisorClient({ baseUrl: sup.url });
  store = await GenerationStore.open(stateDir);
}, 120_000);

afterAll(async () => {
  await sup?.close();
  await model?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("LOOM_FITNESS=tasks (capability fitness) on a clone of Loom", () => {
  it("a candidate whose ts_rename refuses every rename solves fewer of main's tasks and is stopped there", async () => {
    const n = await candidate(RENAME, (text) =>
      text.replace(
        "const newName = input.newName.trim();",
        'if (input.newName.length >= 0) throw new ToolError("TS_RENAME_OFF", "renaming is turned off");\n    const newName = input.newName.trim();',
      ),
    );
    const m = await client.verify(n);
    expect(m.passed).toBe(false);
    const screen = m.taskFitness?.screen;
    expect(screen?.main).toMatchObject({ solved: 3, total: 3 });
    expect(screen?.candidate).toMatchObject({ solved: 2, total: 3 });
    expect(screen?.candidate.solvedTasks).not.toContain("redux-rename-kindof");
    expect(states(m)).toMatchObject({
      check: "passed",
      tasks_screen: "failed",
      full_tests: "not_run",
      tasks: "not_run",
    });
    expect(m.failures.join()).toContain("the candidate's agent solved 2, main's 3: fewer than main");
    // Reviewed and approved, it still has no fitness and cannot be promoted.
    const v = await client.review({
      generation: n,
      verdict: { approved: true, confidence: 0.9, summary: "looks fine", issues: [] },
      error: null,
      durationMs: 1,
    });
    expect(v.fitness?.score ?? 0).toBe(0);
    await expect(client.promote(n)).rejects.toBeInstanceOf(SupervisorError);
    expect(await git(repo, ["tag", "--list", `gen-${n}`])).toBe("");
  }, 240_000);

  it("a candidate that solves as many as main passes every stage but the paired one: within noise, no gain", async () => {
    const n = await candidate(
      "src/agent/truncate.ts",
      (text) => `// The one place text is cut for the model.\n${text}`,
    );
    const m = await client.verify(n);
    expect(states(m)).toMatchObject({
      tasks_screen: "passed",
      full_tests: "passed",
      acceptance: "passed",
      tasks: "failed",
    });
    expect(m.taskFitness?.full).toMatchObject({
      candidate: { solved: 3, total: 3 },
      main: { solved: 3, total: 3 },
      candidateOnly: 0,
      mainOnly: 0,
      verdict: "within noise",
      gain: 0,
    });
    expect(m.failures.join()).toContain("within noise, so no gain is shown");
  }, 240_000);
});
