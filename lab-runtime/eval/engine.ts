import path from "node:path";
import type { EvalResponse } from "../../schemas/index.ts";
import { EvalFormError, loadTypeScript, type PreparedForm, prepareForm } from "./prepare-form.ts";
import type { RunResult } from "./protocol.ts";
import { TransformCache } from "./transform-cache.ts";
import { WorkerHandle } from "./worker-handle.ts";

export interface EvalEngineOptions {
  /** Root the form's relative imports resolve from. */
  workspace: string;
  /** Default time limit of one eval when the request gives none (ms). */
  timeoutMs?: number;
  /** Heap limit of the worker (V8 old generation, MB); exceeding it ends the eval with an error. */
  memoryLimitMb?: number;
  /**
   * Largest growth of the process's RSS during one eval (MB). Buffers and ArrayBuffers live outside
   * the worker's heap limit, so this catches allocation loops the heap limit cannot.
   */
  maxRssGrowthMb?: number;
  /** Recycle the worker after this many evals, */
  maxEvalsPerWorker?: number;
  /** …or once its module cache holds more modules than this, */
  maxModules?: number;
  /** …or once its heap passes this fraction of `memoryLimitMb`. */
  maxHeapFraction?: number;
  /** Bound on the serialised value and on captured console output (characters each). */
  maxOutputChars?: number;
}

export interface EvalEngineStats {
  evals: number;
  workersStarted: number;
  timeouts: number;
  recycles: number;
}

const DEFAULTS = {
  timeoutMs: 5000,
  memoryLimitMb: 512,
  maxRssGrowthMb: 1024,
  maxEvalsPerWorker: 1000,
  maxModules: 5000,
  maxHeapFraction: 0.75,
  maxOutputChars: 64 * 1024,
};

/** How often the RSS watchdog looks during an eval: small enough to stop a fill loop early. */
const RSS_POLL_MS = 20;

/** Name the form runs under: relative imports in a form resolve from the workspace root. */
const FORM_BASENAME = "__loom_eval__.ts";

function withNotes(notes: string[], ...parts: string[]): string {
  return [...notes.map((n) => `[lab] ${n}`), ...parts].filter((p) => p.length > 0).join("\n");
}

function toResponse(result: RunResult, notes: string[]): EvalResponse {
  if (!result.ok) {
    const consoleText = result.console ? `\nconsole output before the error:\n${result.console}` : "";
    return { status: "error", message: withNotes(notes, result.error ?? "the eval failed", consoleText) };
  }
  const message = withNotes(notes, result.console);
  return {
    status: "ok",
    ...(result.valueJson === undefined ? {} : { value: JSON.parse(result.valueJson) as unknown }),
    ...(message ? { message } : {}),
  };
}

/**
 * Evaluates TypeScript forms against a workspace's current sources in a worker thread, one at a time.
 * The worker keeps its module cache between evals; a timeout, exit or out-of-memory replaces it with a
 * fresh one, and it is recycled past the eval/module/heap limits so memory stays bounded.
 */
export class EvalEngine {
  private readonly opts: Required<EvalEngineOptions>;
  private readonly formFile: string;
  private readonly cache = new TransformCache();
  private current: Promise<WorkerHandle> | undefined;
  private evalsOnWorker = 0;
  private notes: string[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private nextId = 0;
  private closed = false;
  readonly stats: EvalEngineStats = { evals: 0, workersStarted: 0, timeouts: 0, recycles: 0 };

  constructor(options: EvalEngineOptions) {
    this.opts = { ...DEFAULTS, ...options, workspace: path.resolve(options.workspace) };
    this.formFile = path.join(this.opts.workspace, FORM_BASENAME);
  }

  /** Start the worker and load the form parser now rather than on the first eval. */
  async warm(): Promise<void> {
    await Promise.all([this.worker(), loadTypeScript()]);
  }

  /** Evaluate `form`; evals queue behind each other. Never rejects for anything the form does. */
  eval(form: string, timeoutMs?: number): Promise<EvalResponse> {
    const run = this.tail.then(() => this.evalNow(form, timeoutMs ?? this.opts.timeoutMs));
    this.tail = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = undefined;
    const handle = await current?.catch(() => undefined);
    await handle?.terminate();
  }

  private worker(): Promise<WorkerHandle> {
    if (this.closed) return Promise.reject(new Error("the eval engine is closed"));
    if (!this.current) {
      this.stats.workersStarted++;
      this.evalsOnWorker = 0;
      const spawning = WorkerHandle.spawn({
        workspace: this.opts.workspace,
        formFile: this.formFile,
        maxOutputChars: this.opts.maxOutputChars,
        memoryLimitMb: this.opts.memoryLimitMb,
        cache: this.cache,
        onIdleEnd: (reason) => {
          if (this.current !== spawning) return;
          this.current = undefined;
          this.notes.push(`module state was reset: ${reason} between evals`);
        },
      });
      this.current = spawning;
      // A failed start is reported by the eval that awaits it; the next eval tries a fresh worker.
      spawning.catch(() => {
        if (this.current === spawning) this.current = undefined;
      });
    }
    return this.current;
  }

  /** Drop the current worker and start its replacement right away, off the next eval's clock. */
  private replace(handle: WorkerHandle): Promise<void> {
    this.current = undefined;
    if (!this.closed) this.worker().catch(() => {});
    return handle.terminate();
  }

  private async evalNow(form: string, timeoutMs: number): Promise<EvalResponse> {
    if (this.closed) return { status: "error", message: "the eval engine is closed" };
    let prepared: PreparedForm;
    try {
      prepared = await prepareForm(form, this.formFile, this.cache);
    } catch (err) {
      if (err instanceof EvalFormError) return { status: "error", message: err.message };
      throw err;
    }
    if (this.closed) return { status: "error", message: "the eval engine is closed" };
    const handle = await this.worker();
    const notes = this.notes;
    this.notes = [];
    this.stats.evals++;
    this.evalsOnWorker++;
    let timer: NodeJS.Timeout | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const rssLimit = process.memoryUsage.rss() + this.opts.maxRssGrowthMb * 1048576;
    const overgrown = new Promise<"memory">((resolve) => {
      watchdog = setInterval(() => {
        if (process.memoryUsage.rss() > rssLimit) resolve("memory");
      }, RSS_POLL_MS);
    });
    const outcome = await Promise.race([
      handle.run({ type: "run", id: ++this.nextId, ...prepared }),
      timedOut,
      overgrown,
    ]);
    clearTimeout(timer);
    clearInterval(watchdog);
    if (outcome === "memory") {
      await this.replace(handle);
      return {
        status: "error",
        message: withNotes(
          notes,
          `RangeError: out of memory — the process grew by more than ${this.opts.maxRssGrowthMb} MB during ` +
            "the eval (Buffers and ArrayBuffers count here, outside the worker's heap limit); the worker was " +
            "terminated and replaced, so module state was reset",
        ),
      };
    }
    if (outcome === "timeout") {
      this.stats.timeouts++;
      await this.replace(handle);
      return {
        status: "error",
        message: withNotes(
          notes,
          `TimeoutError: the eval did not finish within ${timeoutMs} ms (a loop, a promise that never ` +
            "settles, or a timer loop); the worker was terminated and replaced, so module state was reset " +
            "and every module is re-evaluated on the next eval",
        ),
      };
    }
    if (outcome.type === "ended") {
      await this.replace(handle);
      return {
        status: "error",
        message: withNotes(notes, `${outcome.reason}; a fresh worker was started, so module state was reset`),
      };
    }
    const limits = this.opts;
    const recycle =
      this.evalsOnWorker >= limits.maxEvalsPerWorker
        ? `${this.evalsOnWorker} evals`
        : outcome.modules > limits.maxModules
          ? `${outcome.modules} cached modules`
          : outcome.heapUsedBytes > limits.maxHeapFraction * limits.memoryLimitMb * 1024 * 1024
            ? `a ${Math.round(outcome.heapUsedBytes / 1048576)} MB heap`
            : undefined;
    if (recycle) {
      this.stats.recycles++;
      this.notes.push(`module state was reset: the eval worker was recycled after ${recycle}`);
      // The old worker is idle: answer now and let it stop in the background.
      this.replace(handle).catch(() => {});
    }
    return toResponse(outcome, notes);
  }
}
