import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { BenchAgentResult, type BenchAgentTaskResult } from "../../schemas/task.ts";
import { atomicWriteFile } from "../shared/atomic-write.ts";
import type { Config } from "../shared/config.ts";
import { loomRoot } from "../shared/loom-root.ts";
import { createModelProxy, DEFAULT_UPSTREAM } from "../supervisor/model-proxy/index.ts";
import type { ContainerRuntime } from "../supervisor/runtime/index.ts";
import { LocalRuntime } from "../supervisor/runtime/local.ts";
import { defaultHostView } from "../supervisor/runtime/local-view.ts";
import { selectRuntime } from "../supervisor/runtime/select.ts";
import { GenerationStore } from "../supervisor/store/index.ts";
import { type AgentBuild, agentImage, agentTree, BenchInputError, resolveCommit } from "./agent-build.ts";
import { runTask } from "./run-task.ts";
import { taskSetHash } from "./task-set-hash.ts";
import { loadTasks, type Task, type TaskProblem } from "./tasks.ts";

export interface BenchOptions {
  /** The Loom repository the ref is read from. */
  readonly repo: string;
  readonly ref: string;
  readonly tasksDir: string;
  readonly filter?: string;
  /** Tasks run at once (1 to 16). */
  readonly parallel: number;
  readonly config: Config;
  /** Progress, one line at a time (stderr). */
  readonly progress: (line: string) => void;
  /** Default: LOOM_RUNTIME. */
  readonly runtime?: ContainerRuntime;
  readonly signal?: AbortSignal;
  /** Keep the run's repositories and state (default: removed when it ends). */
  readonly keep?: boolean;
}

export interface BenchRun {
  readonly result: BenchAgentResult;
  /** Task folders that could not be run: reported, and left out of the result. */
  readonly problems: readonly TaskProblem[];
  /** Where the result was stored. */
  readonly stored: string;
  /** The run's own folder (task repositories, Lab state): removed when the run ends, unless `keep`. */
  readonly runDir: string;
}

export const MAX_PARALLEL = 16;

/** Where `loom bench-agent` keeps agents, runs and results: under the state folder. */
export const benchDir = (config: Config): string => path.join(config.stateDir, "bench-agent");

/** The file a result is stored in: one per ref, model, API endpoint and task set. */
export function resultPath(
  config: Config,
  r: Pick<BenchAgentResult, "ref" | "model" | "apiBase" | "taskSet">,
): string {
  const key = createHash("sha256")
    .update(JSON.stringify([r.model, r.apiBase, r.taskSet]))
    .digest("hex");
  return path.join(benchDir(config), "results", r.ref, `${key.slice(0, 16)}.json`);
}

/** A stored result for exactly this ref, model, endpoint and task set, or undefined. */
export async function storedResult(
  config: Config,
  key: Pick<BenchAgentResult, "ref" | "model" | "apiBase" | "taskSet">,
): Promise<BenchAgentResult | undefined> {
  try {
    const parsed = BenchAgentResult.safeParse(JSON.parse(await readFile(resultPath(config, key), "utf8")));
    if (!parsed.success) return undefined;
    const r = parsed.data;
    return r.ref === key.ref &&
      r.model === key.model &&
      r.apiBase === key.apiBase &&
      r.taskSet === key.taskSet
      ? r
      : undefined;
  } catch {
    return undefined;
  }
}

/** The API endpoint Labs reach through the proxy: what a stored result is matched on. */
export const apiBaseOf = (config: Config): string => config.labApiBase ?? DEFAULT_UPSTREAM;

/** The tasks and what identifies a result over them, before anything runs. */
export async function planBench(
  options: Pick<BenchOptions, "repo" | "ref" | "tasksDir" | "filter" | "config">,
): Promise<{ commit: string; tasks: Task[]; problems: TaskProblem[]; taskSet: string }> {
  const commit = await resolveCommit(options.repo, options.ref);
  const { tasks, problems } = await loadTasks(options.tasksDir, {
    ...(options.filter !== undefined ? { filter: options.filter } : {}),
  });
  if (tasks.length === 0) {
    throw new BenchInputError(
      `no task in ${options.tasksDir} can be run: ${problems.map((p) => p.message).join("; ")}`,
    );
  }
  return { commit, tasks, problems, taskSet: await taskSetHash(tasks) };
}

/**
 * `loom bench-agent`: the Lab agent as it is at `ref`, run on every task in a Lab of its own (at most
 * `parallel` at once), each judged by its hidden tests. A plain run always runs, and its result is
 * stored for `--compare` to reuse. Nothing of a run is left behind but the result: Labs, containers
 * and workspaces end with it, on an error or an abort too.
 */
export async function runBench(options: BenchOptions): Promise<BenchRun> {
  const { config, progress } = options;
  if (!Number.isInteger(options.parallel) || options.parallel < 1 || options.parallel > MAX_PARALLEL) {
    throw new BenchInputError(
      `--parallel ${options.parallel} is not accepted; expected a whole number from 1 to ${MAX_PARALLEL}`,
    );
  }
  const plan = await planBench(options);
  for (const p of plan.problems) progress(`bench-agent: skipped ${p.message}`);
  const dir = benchDir(config);
  const modules = path.join(loomRoot() ?? process.cwd(), "node_modules");
  progress(`bench-agent: the agent at ${options.ref} (${plan.commit.slice(0, 12)})…`);
  const root = await agentTree(options.repo, plan.commit, path.join(dir, "agents"), modules, (line) =>
    progress(`bench-agent: ${line}`),
  );
  const runDir = path.join(dir, "runs", `${Date.now()}-${randomBytes(3).toString("hex")}`);
  const stateDir = path.join(runDir, "state");
  await mkdir(stateDir, { recursive: true });
  const proxy = createModelProxy({
    upstream: apiBaseOf(config),
    apiKey: config.labApiKey,
    log: (line) => progress(`model proxy: ${line}`),
  });
  try {
    const runtime =
      options.runtime ??
      (config.runtime === "local"
        ? new LocalRuntime({ stateDir, log: progress, view: defaultHostView(stateDir, root) })
        : await selectRuntime(config.runtime, { log: progress, stateDir }));
    const agent: AgentBuild = {
      ref: options.ref,
      commit: plan.commit,
      root,
      ...(runtime.name === "local"
        ? {}
        : { image: await agentImage(root, plan.commit, (l) => progress(`image: ${l}`)) }),
    };
    const store = await GenerationStore.open(stateDir);
    const total = plan.tasks.length;
    const results: BenchAgentTaskResult[] = new Array(total);
    let next = 0;
    const worker = async () => {
      while (next < total && !options.signal?.aborted) {
        const i = next++;
        const task = plan.tasks[i] as Task;
        const tag = `[${i + 1}/${total} ${task.name}]`;
        progress(`${tag} started`);
        const r = await runTask(
          {
            runtime,
            store,
            modelProxy: proxy,
            config: { ...config, stateDir },
            agent,
            tools: modules,
            workDir: path.join(runDir, "tasks"),
            repos: path.join(dir, "repos"),
            portsInUse: new Set(),
            // The tool each call is to: live progress, one line per call.
            emit: (e) => {
              if (e.type === "lab_tool") progress(`${tag} ${e.tool}`);
            },
            ...(options.signal ? { signal: options.signal } : {}),
          },
          task,
        );
        results[i] = r;
        progress(
          `${tag} ${r.solved ? "solved" : `not solved: ${r.reason}`} (${(r.durationMs / 1000).toFixed(1)} s)`,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.parallel, total) }, worker));
    if (options.signal?.aborted) throw new BenchInputError("bench-agent was stopped before every task ran");
    const costs = results.map((r) => r.costUsd ?? null);
    const result = BenchAgentResult.parse({
      ref: plan.commit,
      model: config.labModel,
      apiBase: apiBaseOf(config),
      taskSet: plan.taskSet,
      solved: results.filter((r) => r.solved).length,
      total,
      costUsd: costs.some((c) => c === null) ? null : costs.reduce((a, b) => (a ?? 0) + (b ?? 0), 0),
      tasks: results,
    });
    const stored = resultPath(config, result);
    await mkdir(path.dirname(stored), { recursive: true });
    await atomicWriteFile(stored, `${JSON.stringify(result, null, 2)}\n`);
    return { result, problems: plan.problems, stored, runDir };
  } finally {
    await proxy.closeAll().catch(() => {});
    if (!options.keep) await rm(runDir, { recursive: true, force: true }).catch(() => {});
  }
}
