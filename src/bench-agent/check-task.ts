import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { labCatalog } from "../agent/lab-catalog.ts";
import { ToolRegistry } from "../agent/tool-registry.ts";
import { copyHidden, materializeTask } from "./materialize.ts";
import type { Task } from "./tasks.ts";

export interface TaskCheck {
  readonly name: string;
  /** The hidden tests failed on the task as given, and passed after the oracle. */
  readonly ok: boolean;
  /** Exit codes of the test command (null: killed at the task's timeout). */
  readonly unsolvedExit: number | null;
  readonly solvedExit: number | null;
  /** One line each: what is wrong with the task. */
  readonly problems: readonly string[];
}

const lastLines = (text: string, n = 12): string => text.trim().split("\n").slice(-n).join("\n");

/** The test command in the workspace, with node_modules/.bin of this installation (tsx, tsc) on PATH. */
async function runTest(task: Task, workspace: string, bin: string) {
  await copyHidden(task, workspace);
  const r = await execa("sh", ["-c", task.spec.test], {
    cwd: workspace,
    reject: false,
    stdin: "ignore",
    all: true,
    timeout: task.spec.timeoutMs,
    env: { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` },
  });
  return { exit: r.timedOut ? null : (r.exitCode ?? null), output: String(r.all ?? "") };
}

/**
 * Checks a task as TASKS.md asks, without a Lab or a model: on one fresh workspace the hidden tests
 * must fail; on another, after oracle.json's steps run through the Lab's own tools (the registry's
 * validation and confinement included), they must pass. For `tasks/README.md`'s check and for CI.
 */
export async function checkTask(task: Task, options: { readonly loomRoot: string }): Promise<TaskCheck> {
  const problems: string[] = [];
  const bin = path.join(options.loomRoot, "node_modules", ".bin");
  const scratch = await mkdtemp(path.join(tmpdir(), `loom-check-${task.name}-`));
  try {
    const unsolved = path.join(scratch, "unsolved");
    await materializeTask(task, unsolved);
    const before = await runTest(task, unsolved, bin);
    if (before.exit === 0)
      problems.push("the hidden tests pass on the task as given: they must fail before the fix");
    let after: { exit: number | null; output: string } = { exit: null, output: "" };
    if (!task.oracle) problems.push("no oracle.json: the known fix is needed to check the task");
    else {
      const solved = path.join(scratch, "solved");
      await materializeTask(task, solved);
      const tools = new ToolRegistry(labCatalog());
      const signal = new AbortController().signal;
      for (const [i, step] of task.oracle.steps.entries()) {
        const r = await tools.execute(step.tool, step.input, { workspace: solved, signal });
        if (r.isError)
          problems.push(`oracle step ${i + 1} (${step.tool}) failed: ${lastLines(r.content, 3)}`);
      }
      after = await runTest(task, solved, bin);
      if (after.exit !== 0) {
        const how = after.exit === null ? `timed out after ${task.spec.timeoutMs} ms` : `exit ${after.exit}`;
        problems.push(`the hidden tests fail after the oracle (${how}):\n${lastLines(after.output)}`);
      }
    }
    return {
      name: task.name,
      ok: problems.length === 0,
      unsolvedExit: before.exit,
      solvedExit: after.exit,
      problems,
    };
  } catch (err) {
    problems.push((err as Error).message);
    return { name: task.name, ok: false, unsolvedExit: null, solvedExit: null, problems };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
