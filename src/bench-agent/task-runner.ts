import { createHash } from "node:crypto";
import { cp, mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { TaskScore } from "../../schemas/verification.ts";
import type { Config } from "../shared/config.ts";
import { LoomError } from "../shared/errors.ts";
import { tryGit } from "../shared/git/run-git.ts";
import { SingleFlight } from "../shared/keyed-queue.ts";
import type { TaskRunner, TaskStage } from "../supervisor/verify/task-fitness.ts";
import { exists, unpackCommit } from "./agent-build.ts";
import { apiBaseOf, planBench, runBench, storedResult } from "./run-bench.ts";
import { loadTasks } from "./tasks.ts";

/** Tasks a verification runs at once. */
const PARALLEL = 2;

/**
 * Where a Supervisor's task runs keep agents, runs and results: beside its state folder, not inside
 * it, so a contained local Lab of a bench run (which sees its agent's tree) never sees the state.
 */
export const benchStateOf = (config: Config): string =>
  path.join(path.dirname(path.resolve(config.stateDir)), `${path.basename(config.stateDir)}-bench`);

/** main's tasks/ at `main`, unpacked once (`git archive`): what every candidate of that main is measured on. */
async function tasksAt(repo: string, main: string, root: string): Promise<string> {
  const dir = path.join(root, "tasks", main);
  if (await exists(path.join(dir, "tasks"))) return path.join(dir, "tasks");
  const has = await tryGit(repo, ["cat-file", "-e", `${main}:tasks`]);
  if (has.exitCode !== 0) {
    throw new LoomError(
      "TASKS_MISSING",
      `LOOM_FITNESS=tasks, but main (${main.slice(0, 12)}) has no tasks/ folder to measure candidates on; add tasks (tasks/README.md) or set LOOM_FITNESS=gates`,
    );
  }
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await unpackCommit(repo, main, tmp, ["tasks"]);
    await rename(tmp, dir).catch(async () => rm(tmp, { recursive: true, force: true }));
    return path.join(dir, "tasks");
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The staged subset: `size` of the tasks, the same ones for every candidate of a main (ordered by a
 * hash of their names, so no kind or package is favoured by the alphabet).
 */
async function subsetOf(tasksDir: string, size: number): Promise<string> {
  const dir = `${tasksDir}-screen-${size}`;
  if (await exists(dir)) return dir;
  const { tasks } = await loadTasks(tasksDir);
  const hash = (name: string) => createHash("sha256").update(name).digest("hex");
  const chosen = [...tasks].sort((a, b) => hash(a.name).localeCompare(hash(b.name))).slice(0, size);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  for (const t of chosen) await cp(t.dir, path.join(tmp, t.name), { recursive: true });
  await rename(tmp, dir).catch(async () => rm(tmp, { recursive: true, force: true }));
  return dir;
}

/**
 * LOOM_FITNESS=tasks for the Supervisor: `loom bench-agent`'s harness run on main's tasks/. A score is
 * computed once per commit, stage, model and task set (stored, and shared while in flight), so main's
 * score serves every candidate of a round.
 */
export function benchTaskRunner(config: Config, log: (line: string) => void): TaskRunner {
  const benchConfig: Config = { ...config, stateDir: benchStateOf(config) };
  const scoring = new SingleFlight<TaskScore>();
  const score = async (commit: string, main: string, stage: TaskStage, signal?: AbortSignal) => {
    const all = await tasksAt(config.repoPath, main, benchConfig.stateDir);
    const tasksDir = stage === "full" ? all : await subsetOf(all, config.tasksScreen);
    const plan = await planBench({ repo: config.repoPath, ref: commit, tasksDir, config: benchConfig });
    const key = {
      ref: plan.commit,
      model: benchConfig.labModel,
      apiBase: apiBaseOf(benchConfig),
      taskSet: plan.taskSet,
    };
    const result =
      (await storedResult(benchConfig, key)) ??
      (
        await runBench({
          repo: config.repoPath,
          ref: commit,
          tasksDir,
          parallel: PARALLEL,
          config: benchConfig,
          progress: (line) => log(`tasks ${stage} ${commit.slice(0, 12)}: ${line}`),
          ...(signal ? { signal } : {}),
        })
      ).result;
    return {
      ref: result.ref,
      solved: result.solved,
      total: result.total,
      solvedTasks: result.tasks.filter((t) => t.solved).map((t) => t.name),
      costUsd: result.costUsd,
      taskSet: result.taskSet,
    };
  };
  return {
    score: (commit, main, stage, signal) =>
      scoring.run(`${commit} ${main} ${stage}`, () => score(commit, main, stage, signal)),
  };
}
