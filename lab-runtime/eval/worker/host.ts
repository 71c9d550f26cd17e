/**
 * Main thread of the evaluator process. It runs no form itself: it starts the worker thread that does,
 * passes runs and their results between the parent and that thread, and forwards the thread's
 * transform requests to the parent (esbuild and the transform cache live there, outside this
 * process's address-space limit, and survive its replacement).
 */
import fs from "node:fs";
import type {
  EvaluatorInit,
  EvaluatorToParent,
  ParentToEvaluator,
  TransformAnswer,
  TransformRequest,
} from "../protocol.ts";
import { WorkerHandle } from "./worker-handle.ts";

/** Ends this process at once: a worker stuck in a builtin (e.g. Array.prototype.fill) would hold up process.exit. */
function die(): never {
  process.kill(process.pid, "SIGKILL");
  throw new Error("unreachable");
}

export function runHost(init: EvaluatorInit): void {
  // When the machine or the Lab's container runs out of memory, the kernel kills this process first,
  // never the Lab: the address-space limit is virtual and cannot see how full the container is.
  try {
    fs.writeFileSync("/proc/self/oom_score_adj", "1000");
  } catch {
    // Not Linux: nothing to raise.
  }
  // libuv starts its thread pool on first use and aborts the process if it cannot: start it now, while
  // the address space is free, not when a form that filled it reads a file.
  fs.stat(init.workspace, () => {});
  const send = (msg: EvaluatorToParent) => {
    if (process.connected) process.send?.(msg);
  };
  // The parent is gone (closed, crashed or SIGKILLed: its end of the IPC channel closes): so is this process.
  process.on("disconnect", die);
  if (!process.connected) die();

  const waiting = new Map<number, (answer: TransformAnswer) => void>();
  let calls = 0;
  const transform = (req: TransformRequest): Promise<TransformAnswer> => {
    const n = ++calls;
    send({ type: "transform", n, req });
    if (req.prefetch) return Promise.resolve({ ok: false, error: "prefetch" });
    return new Promise((resolve) => waiting.set(n, resolve));
  };

  const handle = WorkerHandle.spawn(init.code, {
    workspace: init.workspace,
    formFile: init.formFile,
    maxOutputChars: init.maxOutputChars,
    memoryLimitMb: init.memoryLimitMb,
    seed: init.seed,
    transform,
    onIdleEnd: (reason) => send({ type: "ended", reason }),
  });
  handle.then(
    () => send({ type: "ready" }),
    (err: Error) => send({ type: "ended", reason: err.message }),
  );

  process.on("message", (msg: ParentToEvaluator) => {
    if (msg.type === "transformed") {
      waiting.get(msg.n)?.(msg.answer);
      waiting.delete(msg.n);
    } else if (msg.type === "run") {
      send({ type: "started", id: msg.id });
      handle
        .then((worker) => worker.run(msg))
        .then(send, (err: Error) => send({ type: "ended", reason: err.message }));
    }
  });
}
