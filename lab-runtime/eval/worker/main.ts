/**
 * The eval worker thread (started by the evaluator process with `eval: true`). Runs one form at a
 * time against a module cache that survives between evals; everything that could end the thread by
 * accident (uncaught errors in callbacks, unhandled rejections, process.abort/kill of itself) is
 * caught and reported as console output of the eval that caused it instead.
 */
import { getHeapStatistics } from "node:v8";
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type { RunRequest, RunResult, WorkerInit } from "../protocol.ts";
import { EvalScopes } from "./eval-scope.ts";
import { ModuleSystem, WRAPPER_PREFIX } from "./module-system.ts";
import { serializeValue } from "./serialize.ts";
import { describeError, StackMapper } from "./stack.ts";
import { createSyncTransform } from "./sync-transform.ts";

export function runWorker(): void {
  const init = workerData as WorkerInit & { port: MessagePort };
  const port = parentPort;
  if (!port) throw new Error("the eval worker must run in a worker thread");

  const output = new EvalScopes(init.maxOutputChars);
  output.installConsole(console);
  output.installTimers();

  const stacks = new StackMapper(init.workspace, init.formFile, WRAPPER_PREFIX.length);
  stacks.install();

  process.on("uncaughtException", (err) => output.push("uncaught", describeError(err)));
  process.on("unhandledRejection", (reason) => output.push("unhandled rejection", describeError(reason)));

  // These would take the whole Lab process (or its parent) down, not just this thread.
  process.abort = () => {
    throw new Error("process.abort() is disabled inside eval (it would kill the Lab server)");
  };
  const realKill = process.kill.bind(process);
  const protectedPids = new Set([process.pid, -process.pid, 0, process.ppid, -process.ppid]);
  process.kill = (pid: number, signal?: string | number) => {
    // Number(): Node's kill also accepts a numeric string.
    if (protectedPids.has(Number(pid))) {
      throw new Error(`process.kill(${pid}) is disabled inside eval (it would kill the Lab server)`);
    }
    return realKill(pid, signal);
  };

  const modules = new ModuleSystem(createSyncTransform(init.port, init.signal), stacks, init.seed);

  async function run(req: RunRequest): Promise<RunResult> {
    let ok = true;
    let valueJson: string | undefined;
    let error: string | undefined;
    try {
      modules.refresh();
      const value = await output.run(req.id, () =>
        modules.runForm(init.formFile, req.code, req.map, req.shifts),
      );
      valueJson = serializeValue(value, init.maxOutputChars);
    } catch (err) {
      ok = false;
      error = describeError(err);
    }
    const { console: printed, cancelledTimers } = output.finish();
    return {
      type: "result",
      id: req.id,
      ok,
      ...(valueJson === undefined ? {} : { valueJson }),
      ...(error === undefined ? {} : { error }),
      console: printed,
      cancelledTimers,
      modules: modules.size,
      heapUsedBytes: getHeapStatistics().used_heap_size,
    };
  }

  port.on("message", (req: RunRequest) => {
    run(req).then(
      (result) => port.postMessage(result),
      (err) => {
        const result: RunResult = {
          type: "result",
          id: req.id,
          ok: false,
          error: describeError(err),
          ...output.finish(),
          modules: modules.size,
          heapUsedBytes: 0,
        };
        port.postMessage(result);
      },
    );
  });
  port.postMessage({ type: "ready" });
}
