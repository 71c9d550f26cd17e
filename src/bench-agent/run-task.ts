import { createHash, randomBytes } from "node:crypto";
import { cp, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { SupervisorEvent } from "../../schemas/events.ts";
import type { GenerationRecord } from "../../schemas/generation-record.ts";
import { LabReport } from "../../schemas/lab-report.ts";
import type { BenchAgentTaskResult } from "../../schemas/task.ts";
import type { Config } from "../shared/config.ts";
import { runGit } from "../shared/git/run-git.ts";
import { renderProgram } from "../shared/program.ts";
import { fetchLabBranch, prepareWorkspace } from "../supervisor/git/index.ts";
import { reportPath } from "../supervisor/lifecycle/lab-end.ts";
import { DEFAULT_LAB_IMAGE } from "../supervisor/lifecycle/lab-spec.ts";
import { runGeneration } from "../supervisor/lifecycle/run-generation.ts";
import type { ModelProxy } from "../supervisor/model-proxy/index.ts";
import type { ContainerRuntime } from "../supervisor/runtime/index.ts";
import type { GenerationStore } from "../supervisor/store/index.ts";
import { runStep, VERIFY_PACKAGES } from "../supervisor/verify/run-step.ts";
import type { AgentBuild } from "./agent-build.ts";
import { copyHidden, materializeTask } from "./materialize.ts";
import { taskMarker } from "./oracle.ts";
import { taskSetHash } from "./task-set-hash.ts";
import type { Task } from "./tasks.ts";

/** What every task of one bench run shares: the engine, one state folder and one model proxy. */
export interface BenchPorts {
  readonly runtime: ContainerRuntime;
  readonly store: GenerationStore;
  readonly modelProxy: ModelProxy;
  /** LOOM_* as loaded; each task gets its own repoPath. */
  readonly config: Config;
  readonly agent: AgentBuild;
  /** Host node_modules whose .bin holds tsx and tsc: mounted read-only for the hidden tests. */
  readonly tools: string;
  /** Scratch for this run's task repositories and test folders. */
  readonly workDir: string;
  /**
   * Where each task's starting repository is kept once made (`<name>-<content hash>`), copied for every
   * later run of the same task: the same commits, without npm pack and git again.
   */
  readonly repos?: string;
  readonly emit: (event: SupervisorEvent) => void;
  readonly portsInUse: Set<number>;
  readonly signal?: AbortSignal;
}

/** The program.md a task's Lab reads: the statement as the objective; the task's marker names it. */
export function taskProgram(task: Pick<Task, "name" | "spec">): string {
  return renderProgram({
    task: taskMarker(task.name),
    objective: task.spec.statement,
    files: ["The package in this workspace: find the files the task needs before editing them"],
    acceptanceCriteria: [
      "The behaviour the objective asks for works, including every case it names",
      "Everything else the package does keeps working as before",
    ],
    constraints: [
      "There is no network: do not install packages or add dependencies",
      "Keep the change to what the task needs",
    ],
  });
}

const total = (r: GenerationRecord): number =>
  r.tokens.input + r.tokens.output + r.tokens.cacheRead + r.tokens.cacheWrite;

async function toolCallsOf(stateDir: string, n: number): Promise<number> {
  try {
    const report = LabReport.parse(JSON.parse(await readFile(reportPath(stateDir, n), "utf8")));
    return Object.values(report.toolCalls).reduce((sum, c) => sum + c.calls, 0);
  } catch {
    return 0;
  }
}

/** The last lines of a failing test's output, as one short reason. */
const lastWords = (output: string): string =>
  output.trim().split("\n").slice(-6).join(" | ").replace(/\s+/g, " ").slice(-400);

/**
 * Why the hidden tests failed, in one line: the failing tests by name (node's TAP output, `not ok N -
 * <name>`) with the pass/fail counts, or the first type error (`error TS…`), else the output's last lines.
 */
export function failureReason(output: string): string {
  const lines = output.split("\n").map((l) => l.trim());
  const failed = [
    ...new Set(
      lines.flatMap((l) => /^not ok \d+ - (.+?)(?: # .*)?$/.exec(l)?.[1] ?? []).map((n) => n.slice(0, 120)),
    ),
  ];
  const count = (what: string) => lines.find((l) => l.startsWith(`# ${what} `))?.slice(what.length + 3);
  const typeError = lines.find((l) => /error TS\d+:/.test(l));
  const parts: string[] = [];
  if (failed.length > 0) {
    const shown =
      failed.slice(0, 3).join("; ") + (failed.length > 3 ? `; and ${failed.length - 3} more` : "");
    const tally = count("fail") && count("pass") ? ` (${count("fail")} failed, ${count("pass")} passed)` : "";
    parts.push(`failing: ${shown}${tally}`);
  }
  if (typeError) parts.push(typeError.slice(0, 240));
  return parts.length > 0 ? parts.join("; ") : lastWords(output);
}

/**
 * The kept starting repository of `task` under `repos` (`<name>-<content hash>`), made now when this
 * task (by content) was never made there. Materializing is deterministic (fixed identity and dates), so
 * a copy of it is the same repository, commit for commit.
 */
export async function keptStartingRepo(task: Task, repos: string): Promise<string> {
  const kept = path.join(repos, `${task.name}-${(await taskSetHash([task])).slice(0, 16)}`);
  if (await stat(path.join(kept, ".git")).catch(() => undefined)) return kept;
  const tmp = `${kept}.tmp-${randomBytes(4).toString("hex")}`;
  await materializeTask(task, tmp);
  await rename(tmp, kept).catch(async (err: NodeJS.ErrnoException) => {
    // Another run kept it meanwhile: theirs is the same.
    await rm(tmp, { recursive: true, force: true });
    if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
  });
  return kept;
}

/** The task's starting repository at `dest`: a copy of the kept one (keptStartingRepo), or made there. */
async function startingRepo(task: Task, dest: string, repos: string | undefined): Promise<void> {
  if (!repos) await materializeTask(task, dest);
  else await cp(await keptStartingRepo(task, repos), dest, { recursive: true, verbatimSymlinks: true });
}

/**
 * One task, start to end: its workspace made (package + inject.patch, committed as main), a Lab of
 * the agent at the run's ref working on it through the model proxy, then — only when the Lab finished
 * — the hidden tests copied over its branch and `test` run in a fresh container (or sandbox) with no
 * network. Never throws for the task's own failure: a Lab that fails or times out, a test that fails or
 * hangs, all end unsolved with the reason. `cost` is the proxy's dollars for this task (null unpriced).
 */
export async function runTask(ports: BenchPorts, task: Task): Promise<BenchAgentTaskResult> {
  const started = performance.now();
  const base = path.join(ports.workDir, task.name);
  const repo = path.join(base, "repo");
  const config: Config = { ...ports.config, repoPath: repo };
  const unsolved = (reason: string, record?: GenerationRecord, toolCalls = 0) => ({
    name: task.name,
    solved: false,
    reason,
    tokens: record ? total(record) : 0,
    durationMs: Math.round(performance.now() - started),
    toolCalls,
    costUsd: record?.modelUsage?.costUsd ?? null,
  });
  try {
    await startingRepo(task, repo, ports.repos);
  } catch (err) {
    return unsolved(`the task's workspace could not be made: ${(err as Error).message}`);
  }
  const program = taskProgram(task);
  const allocated = await ports.store.allocate({
    programHash: createHash("sha256").update(program).digest("hex"),
    parent: null,
  });
  const n = allocated.generation;
  const record = await runGeneration(
    {
      store: ports.store,
      runtime: ports.runtime,
      git: { prepareWorkspace, fetchLabBranch },
      config,
      emit: ports.emit,
      loomRoot: ports.agent.root,
      image: ports.agent.image ?? DEFAULT_LAB_IMAGE,
      modelProxy: ports.modelProxy,
      portsInUse: ports.portsInUse,
    },
    { generation: n, program, ...(ports.signal ? { signal: ports.signal } : {}) },
  );
  const toolCalls = await toolCallsOf(config.stateDir, n);
  if (record.outcome !== "verifying") {
    return unsolved(
      `the Lab ended ${record.outcome}: ${record.reason ?? "no reason given"}`,
      record,
      toolCalls,
    );
  }
  // The Lab's branch as it left it, in a folder of its own; then the hidden tests over it.
  const testDir = path.join(base, "test");
  await runGit(base, ["clone", "-q", "--no-local", "--branch", `lab/gen-${n}`, repo, testDir]);
  await copyHidden(task, testDir);
  const run = await runStep(
    {
      runtime: ports.runtime,
      config,
      // The harness's own image, not the agent's: the tests must not depend on what is measured.
      image: DEFAULT_LAB_IMAGE,
      clone: testDir,
      packages: ports.tools,
      // Container names are short: the generation, not the task's name, tells them apart.
      subject: `bench-gen-${n}`,
      ...(ports.signal ? { signal: ports.signal } : {}),
    },
    "hidden",
    // tsx and tsc for the test: the tools' folder, where the runtime shows it (a local sandbox binds
    // host paths where they are; a container sees the mount).
    `export PATH="${ports.runtime.name === "local" ? ports.tools : VERIFY_PACKAGES}/.bin:$PATH"; ${task.spec.test}`,
    task.spec.timeoutMs,
  );
  if (run.timedOut)
    return unsolved(`the hidden tests did not end within ${task.spec.timeoutMs} ms`, record, toolCalls);
  if (!run.result.passed) {
    return unsolved(
      `the hidden tests failed (exit ${run.result.exitCode}): ${failureReason(run.output)}`,
      record,
      toolCalls,
    );
  }
  return {
    name: task.name,
    solved: true,
    tokens: total(record),
    durationMs: Math.round(performance.now() - started),
    toolCalls,
    costUsd: record.modelUsage?.costUsd ?? null,
  };
}
