import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LabReport } from "../../schemas/index.ts";
import { type LoopOptions, type LoopResult, runAgentLoop, type ToolExecutor } from "../agent/loop.ts";
import type { ModelPort } from "../agent/model-port.ts";
import { labSystemPrompt } from "../agent/prompts/lab.ts";
import { atomicWriteFile } from "../shared/atomic-write.ts";
import type { EventSink } from "../shared/events.ts";
import { zeroUsage } from "../shared/events.ts";
import { commitWork, ensureBranch, excludeStateDir, WORKSPACE_STATE_DIR } from "./commit-work.ts";
import type { LabStatusTracker } from "./status-tracker.ts";

export const PROGRAM_FILE = "program.md";
export const REPORT_FILE = `${WORKSPACE_STATE_DIR}/report.json`;

export interface LabWorkerOptions {
  readonly workspace: string;
  readonly generation: number | null;
  readonly model: ModelPort;
  readonly tools: ToolExecutor;
  readonly tracker: LabStatusTracker;
  readonly loop: Omit<LoopOptions, "system">;
  readonly emit?: EventSink;
  readonly signal?: AbortSignal;
}

const branchFor = (generation: number | null) =>
  generation === null ? "lab/local" : `lab/gen-${generation}`;

/**
 * One Lab run: program.md in, a commit on `lab/gen-N` and a report out. Whatever happens (model
 * failure, iteration cap, abort), the work so far is committed and the report written, so the
 * Supervisor always has something to fetch and learn from.
 */
export async function runLabWorker(opts: LabWorkerOptions): Promise<LabReport> {
  const started = performance.now();
  const { workspace, tracker } = opts;
  const branch = branchFor(opts.generation);
  const emit: EventSink = (e) => {
    tracker.onEvent(e);
    opts.emit?.(e);
  };

  let program: string;
  try {
    program = await readFile(join(workspace, PROGRAM_FILE), "utf8");
  } catch {
    return finishWithoutRun(opts, branch, started, `no ${PROGRAM_FILE} in the workspace (${workspace})`);
  }
  if (!program.trim()) return finishWithoutRun(opts, branch, started, `${PROGRAM_FILE} is empty`);

  await excludeStateDir(workspace);
  const base = await ensureBranch(workspace, branch);
  tracker.setProgress("working on program.md");

  const result: LoopResult = await runAgentLoop(
    [{ role: "user", content: `Here is your program.md. Carry it out in this workspace.\n\n${program}` }],
    {
      model: opts.model,
      tools: opts.tools,
      emit,
      workspace,
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
    { ...opts.loop, system: labSystemPrompt },
  );

  tracker.setProgress("committing");
  const ok = result.reason === "end_turn";
  const title = program.match(/^#+\s*Task:?\s*(.*)$/im)?.[1]?.trim() || "Lab work";
  const message = `${opts.generation === null ? "lab" : `gen-${opts.generation}`}: ${title}\n\n${
    ok ? result.finalText.slice(0, 4000) : `Stopped before finishing: ${describeStop(result)}`
  }`;
  let commit: string | null = null;
  let filesChanged: string[] = [];
  let error: string | null = ok ? null : describeStop(result);
  try {
    ({ commit, filesChanged } = await commitWork(workspace, base, message));
  } catch (err) {
    error = (err as Error).message;
  }

  const report = LabReport.parse({
    version: 1,
    generation: opts.generation,
    status: error ? "failed" : "done",
    stopReason: result.reason,
    error,
    tokens: result.usage,
    toolCalls: tracker.toolCalls,
    modelCalls: tracker.modelCallCount,
    durationMs: Math.round(performance.now() - started),
    filesChanged,
    commit,
    branch,
    summary: result.finalText.slice(0, 4000),
  });
  await writeReport(workspace, report);
  tracker.finish(
    error
      ? { ok: false, error }
      : { ok: true, progress: commit ? `committed ${commit.slice(0, 12)}` : "done (no changes)" },
  );
  return report;
}

function describeStop(result: LoopResult): string {
  switch (result.reason) {
    case "iteration_cap":
      return `reached the iteration cap after ${result.iterations} model calls`;
    case "token_budget":
      return "ran out of its token budget";
    case "aborted":
      return "was aborted";
    case "error":
      return `model error: ${result.error?.message ?? "unknown"}`;
    case "end_turn":
      return "finished";
  }
}

async function finishWithoutRun(
  opts: LabWorkerOptions,
  branch: string,
  started: number,
  error: string,
): Promise<LabReport> {
  const report = LabReport.parse({
    version: 1,
    generation: opts.generation,
    status: "failed",
    stopReason: "error",
    error,
    tokens: zeroUsage(),
    toolCalls: {},
    modelCalls: 0,
    durationMs: Math.round(performance.now() - started),
    filesChanged: [],
    commit: null,
    branch,
    summary: "",
  });
  await writeReport(opts.workspace, report).catch(() => {});
  opts.tracker.finish({ ok: false, error });
  return report;
}

async function writeReport(workspace: string, report: LabReport): Promise<void> {
  const path = join(workspace, REPORT_FILE);
  await mkdir(dirname(path), { recursive: true });
  await atomicWriteFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
