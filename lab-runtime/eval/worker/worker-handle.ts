import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type {
  RunOutcome,
  RunRequest,
  TransformAnswer,
  TransformRequest,
  WorkerInit,
  WorkerToMain,
} from "../protocol.ts";

export interface WorkerHandleOptions {
  workspace: string;
  formFile: string;
  maxOutputChars: number;
  memoryLimitMb: number;
  /** Transforms to start the worker with (worker cache key → module). */
  seed: WorkerInit["seed"];
  /** Serves the worker's transform requests (a prefetch gets no answer). */
  transform: (req: TransformRequest) => Promise<TransformAnswer>;
  /** Called when the worker dies on its own while no run is pending (e.g. a timer called process.exit). */
  onIdleEnd: (reason: string) => void;
}

function describeWorkerError(err: unknown, memoryLimitMb: number): string {
  const code = (err as { code?: string }).code;
  if (code === "ERR_WORKER_OUT_OF_MEMORY") {
    return `RangeError: out of memory — the eval exceeded the worker's ${memoryLimitMb} MB heap limit`;
  }
  return `the eval worker crashed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
}

/**
 * The eval worker thread inside the evaluator process: starts it, runs forms on it one at a time,
 * passes its transform requests on.
 */
export class WorkerHandle {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private pending: { id: number; resolve: (outcome: RunOutcome) => void } | undefined;
  private endReason: string | undefined;
  private terminating = false;
  private settleReady: { resolve: () => void; reject: (err: Error) => void } | undefined;
  readonly ready: Promise<void>;

  /** Start a worker running `code` (the evaluator bundle) and wait until it is ready to run forms. */
  static async spawn(code: string, opts: WorkerHandleOptions): Promise<WorkerHandle> {
    const handle = new WorkerHandle(code, opts);
    await handle.ready;
    return handle;
  }

  private constructor(
    code: string,
    private readonly opts: WorkerHandleOptions,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: WorkerInit & { port: MessagePort } = {
      workspace: opts.workspace,
      formFile: opts.formFile,
      maxOutputChars: opts.maxOutputChars,
      seed: opts.seed,
      signal: this.flag.buffer as SharedArrayBuffer,
      port: port2,
    };
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => {});
    this.worker = new Worker(code, {
      eval: true,
      name: "loom-eval",
      // Nothing inherited (e.g. `--import tsx`): the bundled worker needs no loader.
      execArgv: [],
      workerData: init,
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: opts.memoryLimitMb, maxYoungGenerationSizeMb: 32 },
    });
    port1.on("message", (req: TransformRequest) => void this.answerTransform(req));
    this.worker.on("message", (msg: WorkerToMain) => this.onMessage(msg));
    this.worker.on("error", (err) => this.end(describeWorkerError(err, opts.memoryLimitMb)));
    this.worker.on("exit", (code) =>
      this.end(`the eval worker exited with code ${code} (process.exit() inside eval ends the worker)`),
    );
  }

  get alive(): boolean {
    return this.endReason === undefined;
  }

  run(req: RunRequest): Promise<RunOutcome> {
    if (this.endReason !== undefined) return Promise.resolve({ type: "ended", reason: this.endReason });
    if (this.pending) throw new Error("WorkerHandle.run called while a run is pending");
    return new Promise<RunOutcome>((resolve) => {
      this.pending = { id: req.id, resolve };
      this.worker.postMessage(req);
    });
  }

  /** Stop the thread (also mid-run: sync loops included) and wait until it is gone. */
  async terminate(): Promise<void> {
    this.terminating = true;
    this.end("the eval worker was terminated");
    await this.worker.terminate();
  }

  private onMessage(msg: WorkerToMain): void {
    if (msg.type === "ready") {
      this.settleReady?.resolve();
    } else if (this.pending && msg.id === this.pending.id) {
      const { resolve } = this.pending;
      this.pending = undefined;
      resolve(msg);
    }
  }

  private end(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    this.port.close();
    this.settleReady?.reject(new Error(`the eval worker did not start: ${reason}`));
    const pending = this.pending;
    this.pending = undefined;
    if (pending) pending.resolve({ type: "ended", reason });
    else if (!this.terminating) this.opts.onIdleEnd(reason);
  }

  private async answerTransform(req: TransformRequest): Promise<void> {
    if (req.prefetch) {
      // A failure is reported when the worker asks for this module for real.
      this.opts.transform(req).catch(() => {});
      return;
    }
    let answer: TransformAnswer;
    try {
      answer = await this.opts.transform(req);
    } catch (err) {
      answer = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (this.endReason !== undefined) return;
    this.port.postMessage(answer);
    Atomics.store(this.flag, 0, 1);
    Atomics.notify(this.flag, 0);
  }
}
