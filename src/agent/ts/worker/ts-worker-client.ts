import { Worker } from "node:worker_threads";
import { errorMessage } from "../../../shared/errors.ts";
import { type Tool, type ToolContext, ToolError, type ToolResult } from "../../tool.ts";
import type { MainToWorker, ThrownError, WorkerStats, WorkerToMain } from "./protocol.ts";
import { type TsWorkerFile, tsWorkerFile } from "./worker-file.ts";

/**
 * The structural TypeScript tools run in a worker thread (ts-worker-main.ts), so building a Project
 * (seconds of synchronous parsing, binding and checking) uses another core instead of blocking the
 * Lab's main thread, and can start before the model's first ts_* call (`warm`). This module imports
 * no ts-morph: the Lab loads it first and starts the thread while its own agent modules still load.
 */

export interface TsWorkerOptions {
  /** Where the thread starts from; default `tsWorkerFile()`. */
  readonly file?: TsWorkerFile | Promise<TsWorkerFile | undefined>;
  /** How long an aborted (or timed-out) call may take to stop before its thread is terminated. */
  readonly abortGraceMs?: number;
  /** Lines for people: a thread that crashed, exited or was stopped. */
  readonly log?: (line: string) => void;
}

export type WarmOutcome =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly error: string };

type Outcome = WorkerToMain | { readonly ended: string };
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
/** A message to the worker before #request numbers it. */
type Request = WithoutId<MainToWorker>;

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, (outcome: Outcome) => void>;
  /** Calls (not warm-ups) waiting: only they keep the process alive. */
  held: number;
  ended?: string;
}

const DEFAULT_ABORT_GRACE_MS = 1_000;

/** Re-throws a worker's throw as the registry would have seen it in-process. */
function rebuild(e: ThrownError): unknown {
  if (e.notError) return e.message;
  const err =
    e.name === "ToolError" && e.code !== undefined
      ? new ToolError(e.code, e.message)
      : Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code });
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : reason === undefined ? "was aborted" : String(reason);
}

/** One worker thread at a time, started on demand and again after it crashed or was stopped. */
export class TsWorker {
  readonly #fileOption: TsWorkerOptions["file"];
  #file: Promise<TsWorkerFile | undefined> | undefined;
  readonly #graceMs: number;
  readonly #log: ((line: string) => void) | undefined;
  #thread: Thread | undefined;
  #nextId = 1;
  #started = 0;
  #closed = false;

  constructor(options: TsWorkerOptions = {}) {
    this.#fileOption = options.file;
    this.#graceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
    this.#log = options.log;
  }

  /** Whether there is a worker to start (the Lab bundle and the sources have one; other bundles not). */
  async available(): Promise<boolean> {
    return (await this.#workerFile().catch(() => undefined)) !== undefined;
  }

  /** How many threads were started so far (a restart after a crash or a stop counts again). */
  get threadsStarted(): number {
    return this.#started;
  }

  /**
   * Twins of these manifest tools (tool-specs.ts) whose `run` happens in the worker thread; spec and
   * declared properties stay, so the calling thread's registry validates, confines and orders calls.
   */
  bind(tools: readonly Tool[]): Tool[] {
    return tools.map((tool) => ({ ...tool, run: (input, ctx) => this.call(tool.name, input, ctx) }));
  }

  /** Runs one tool in the thread; `input` is already validated. Throws what the tool threw. */
  async call(tool: string, input: unknown, ctx: ToolContext): Promise<ToolResult> {
    const thread = await this.#open();
    let stoppedUs: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (id: number) => {
      const why = reasonText(ctx.signal.reason);
      this.#post(thread, { type: "abort", id, reason: why });
      // Synchronous TypeScript work never sees the signal: past the grace, only terminating stops it.
      timer = setTimeout(() => {
        if (!thread.pending.has(id)) return;
        stoppedUs = `${tool} was still busy ${this.#graceMs} ms after being stopped (${why}), so the TypeScript worker thread was terminated`;
        this.#stop(thread, stoppedUs);
      }, this.#graceMs);
    };
    let listener: (() => void) | undefined;
    const outcome = await this.#request(
      thread,
      { type: "call", tool, input, workspace: ctx.workspace },
      true,
      (id) => {
        listener = () => onAbort(id);
        if (ctx.signal.aborted) listener();
        else ctx.signal.addEventListener("abort", listener, { once: true });
      },
    );
    clearTimeout(timer);
    if (listener) ctx.signal.removeEventListener("abort", listener);
    if ("result" in outcome) return outcome.result;
    if ("error" in outcome) throw rebuild(outcome.error);
    if ("ended" in outcome) {
      if (stoppedUs) {
        return {
          content: `${stoppedUs}; the next ts_* call starts a fresh one (and rebuilds the workspace's Project)`,
          isError: true,
        };
      }
      throw new ToolError(
        "TS_WORKER_ENDED",
        `${tool} did not finish: ${outcome.ended}; the next ts_* call starts a fresh worker thread (and rebuilds the workspace's Project)`,
      );
    }
    throw new Error(`the TypeScript worker answered ${tool} with something else`);
  }

  /**
   * Builds the workspace's Project, programs and type checkers in the thread, so the first call finds
   * them ready. Never throws: a failed warm-up only means the first call does that work itself.
   */
  async warm(workspace: string): Promise<WarmOutcome> {
    try {
      const outcome = await this.#request(await this.#open(), { type: "warm", workspace }, false);
      if ("warmed" in outcome) return { ok: true, ms: outcome.warmed.ms };
      if ("error" in outcome) return { ok: false, error: `${outcome.error.name}: ${outcome.error.message}` };
      return { ok: false, error: "ended" in outcome ? outcome.ended : "unexpected answer" };
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }

  /** The thread's own counters (starts it if needed). */
  async stats(): Promise<WorkerStats> {
    const outcome = await this.#request(await this.#open(), { type: "stats" }, true);
    if ("stats" in outcome) return outcome.stats;
    throw new Error("ended" in outcome ? outcome.ended : "the TypeScript worker did not answer stats");
  }

  /** Terminates the thread for good; later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const thread = this.#thread;
    if (!thread) return;
    this.#end(thread, "the TypeScript tools were closed", false);
    await thread.worker.terminate();
  }

  #workerFile(): Promise<TsWorkerFile | undefined> {
    if (!this.#file) {
      const file = Promise.resolve(this.#fileOption ?? tsWorkerFile());
      // A failed build of the worker is tried again by the next call.
      file.catch(() => {
        if (this.#file === file) this.#file = undefined;
      });
      this.#file = file;
    }
    return this.#file;
  }

  async #open(): Promise<Thread> {
    const file = this.#closed ? undefined : await this.#workerFile();
    // Checked again after the await: the tools may have been closed, or another call started a thread.
    if (this.#closed) throw new ToolError("TS_WORKER_CLOSED", "the TypeScript tools were closed");
    if (this.#thread) return this.#thread;
    if (!file) throw new ToolError("TS_WORKER_MISSING", "this build of Loom has no TypeScript worker");
    // Nothing inherited (e.g. `--import tsx`, a tracer): the worker module needs no loader.
    const worker = new Worker(file.url, { name: "loom-ts-tools", execArgv: [] });
    // Idle, the thread must not keep the process alive; a waiting call holds it (see #hold).
    worker.unref();
    const thread: Thread = { worker, pending: new Map(), held: 0 };
    worker.on("message", (msg: WorkerToMain) => {
      const settle = thread.pending.get(msg.id);
      thread.pending.delete(msg.id);
      settle?.(msg);
    });
    worker.on("error", (err) =>
      this.#end(thread, `the TypeScript worker thread crashed (${err.name}: ${err.message})`, true),
    );
    worker.on("exit", (code) =>
      this.#end(thread, `the TypeScript worker thread exited with code ${code}`, true),
    );
    this.#thread = thread;
    this.#started++;
    return thread;
  }

  #request(thread: Thread, req: Request, hold: boolean, sent?: (id: number) => void): Promise<Outcome> {
    const id = this.#nextId++;
    return new Promise<Outcome>((resolve) => {
      if (thread.ended) return resolve({ ended: thread.ended });
      if (hold) this.#hold(thread, 1);
      thread.pending.set(id, (outcome) => {
        if (hold) this.#hold(thread, -1);
        resolve(outcome);
      });
      this.#post(thread, { ...req, id } as MainToWorker);
      sent?.(id);
    });
  }

  #post(thread: Thread, msg: MainToWorker): void {
    if (thread.ended) return;
    try {
      thread.worker.postMessage(msg);
    } catch (err) {
      // An input that cannot be cloned fails this call only.
      const settle = thread.pending.get(msg.id);
      thread.pending.delete(msg.id);
      settle?.({
        id: msg.id,
        error: { name: "Error", message: `could not send it to the TypeScript worker: ${reasonText(err)}` },
      });
    }
  }

  #hold(thread: Thread, delta: number): void {
    const before = thread.held;
    thread.held += delta;
    if (before === 0 && thread.held > 0) thread.worker.ref();
    else if (before > 0 && thread.held === 0) thread.worker.unref();
  }

  #stop(thread: Thread, reason: string): void {
    this.#end(thread, reason, true);
    void thread.worker.terminate();
  }

  /** Fails every pending request of a thread that is gone; the next call starts another. */
  #end(thread: Thread, reason: string, log: boolean): void {
    if (thread.ended) return;
    thread.ended = reason;
    if (this.#thread === thread) this.#thread = undefined;
    const pending = [...thread.pending.values()];
    thread.pending.clear();
    for (const settle of pending) settle({ ended: reason });
    if (log) this.#log?.(`ts tools: ${reason}`);
  }
}
