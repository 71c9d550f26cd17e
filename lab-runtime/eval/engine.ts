import path from "node:path";
import type { EvalResponse } from "../../schemas/index.ts";
import { EvaluatorProcess } from "./evaluator-process.ts";
import { EvalFormError, loadTypeScript, type PreparedForm, prepareForm } from "./prepare-form.ts";
import type { RunResult, TransformAnswer, TransformRequest } from "./protocol.ts";
import { describeEsbuildFailure, TransformCache } from "./transform-cache.ts";
import { workerSource } from "./worker-source.ts";

export interface EvalEngineOptions {
  /** Root the form's relative imports resolve from. */
  workspace: string;
  /** Default time limit of one eval when the request gives none (ms). */
  timeoutMs?: number;
  /** Heap limit of the evaluator's worker (V8 old generation, MB); exceeding it ends the eval with an error. */
  memoryLimitMb?: number;
  /**
   * Memory outside that heap (MB): Buffers, ArrayBuffers, native allocations. Added to the heap limit
   * and the evaluator's own footprint, it becomes the evaluator process's address-space limit
   * (Linux); an allocation past it fails in the form with a RangeError. 0 = no address-space limit.
   */
  offHeapLimitMb?: number;
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
  offHeapLimitMb: 1024,
  maxEvalsPerWorker: 1000,
  maxModules: 5000,
  maxHeapFraction: 0.75,
  maxOutputChars: 64 * 1024,
};

/**
 * Address space the evaluator process needs besides its worker's heap and the form's off-heap data
 * (MB): node's and the worker's reservations (code range, thread stacks, young generation, glibc
 * arenas at MALLOC_ARENA_MAX=2) measured at 1.24 GB idle, plus headroom for packages a form loads.
 */
const EVALUATOR_BASE_MB = 1536;

/** How V8 reports an allocation refused at the evaluator's address-space limit. */
const OUT_OF_ADDRESS_SPACE = /^RangeError: (Array buffer allocation failed|.*could not allocate memory)/;

/** Most transforms handed to a new evaluator (its worker keeps at most this many itself). */
const SEED_MAX = 2000;

/** Name the form runs under: relative imports in a form resolve from the workspace root. */
const FORM_BASENAME = "__loom_eval__.ts";

function withNotes(notes: string[], ...parts: string[]): string {
  return [...notes.map((n) => `[lab] ${n}`), ...parts].filter((p) => p.length > 0).join("\n");
}

function toResponse(result: RunResult, notes: string[]): EvalResponse {
  if (result.cancelledTimers > 0) {
    const n = result.cancelledTimers;
    notes.push(
      `${n} timer${n === 1 ? "" : "s"} the form left pending ${n === 1 ? "was" : "were"} cancelled (timers do not outlive their eval)`,
    );
  }
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
 * Evaluates TypeScript forms against a workspace's current sources, one at a time, in an evaluator
 * process (a child with an address-space limit and no secrets in its environment, whose worker thread
 * keeps the module cache between evals). A timeout, exit or out-of-memory kills that process and the
 * answer does not wait for anything inside it; a fresh one serves the next eval. It is also recycled
 * past the eval/module/heap limits so memory stays bounded. The form parser, esbuild and the transform
 * cache stay in this process, so a replaced evaluator starts with every transform already done.
 */
export class EvalEngine {
  private readonly opts: Required<EvalEngineOptions>;
  private readonly formFile: string;
  private readonly cache = new TransformCache();
  private current: Promise<EvaluatorProcess> | undefined;
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

  /** The evaluator process's id (undefined before it started): its death is the engine's business only. */
  async evaluatorPid(): Promise<number | undefined> {
    return (await this.current?.catch(() => undefined))?.pid;
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = undefined;
    const evaluator = await current?.catch(() => undefined);
    evaluator?.kill();
    await evaluator?.exited;
  }

  private worker(): Promise<EvaluatorProcess> {
    if (this.closed) return Promise.reject(new Error("the eval engine is closed"));
    if (!this.current) {
      this.stats.workersStarted++;
      this.evalsOnWorker = 0;
      const { memoryLimitMb, offHeapLimitMb } = this.opts;
      const spawning = workerSource().then((code) =>
        EvaluatorProcess.spawn({
          code,
          workspace: this.opts.workspace,
          formFile: this.formFile,
          maxOutputChars: this.opts.maxOutputChars,
          memoryLimitMb,
          addressSpaceMb: offHeapLimitMb > 0 ? EVALUATOR_BASE_MB + memoryLimitMb + offHeapLimitMb : undefined,
          seed: this.cache.seed(SEED_MAX),
          transform: (req) => this.transform(req),
          onIdleEnd: (reason) => {
            if (this.current !== spawning) return;
            this.current = undefined;
            this.notes.push(`module state was reset: ${reason} between evals`);
          },
        }),
      );
      this.current = spawning;
      // A failed start is reported by the eval that awaits it; the next eval tries a fresh worker.
      spawning.catch(() => {
        if (this.current === spawning) this.current = undefined;
      });
    }
    return this.current;
  }

  private async transform(req: TransformRequest): Promise<TransformAnswer> {
    try {
      return { ok: true, ...(await this.cache.transform(req.file, req.source, req.hash)) };
    } catch (err) {
      return { ok: false, error: describeEsbuildFailure(err) };
    }
  }

  /**
   * Kill the current evaluator and start its replacement once this answer is out (spawning takes a
   * few ms of this thread), off the next eval's clock.
   */
  private replace(evaluator: EvaluatorProcess): void {
    this.current = undefined;
    evaluator.kill();
    setImmediate(() => {
      if (!this.closed && !this.current) this.worker().catch(() => {});
    });
  }

  private async evalNow(form: string, timeoutMs: number): Promise<EvalResponse> {
    if (this.closed) return { status: "error", message: "the eval engine is closed" };
    // The timeout covers preparing the form and running it; loading the form parser and waiting for an
    // evaluator that is still starting (after a kill, a crash or at first use) are added to it, not
    // taken from the form.
    await loadTypeScript();
    const started = performance.now();
    let prepared: PreparedForm;
    try {
      prepared = await prepareForm(form, this.formFile, this.cache);
    } catch (err) {
      if (err instanceof EvalFormError) return { status: "error", message: err.message };
      throw err;
    }
    if (this.closed) return { status: "error", message: "the eval engine is closed" };
    const preparedAt = performance.now();
    let handle = await this.worker();
    const remainingMs = Math.max(1, timeoutMs - (preparedAt - started));
    const notes = this.notes;
    this.notes = [];
    this.stats.evals++;
    this.evalsOnWorker++;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), remainingMs);
    });
    const req = { type: "run" as const, id: ++this.nextId, ...prepared };
    let answered = false;
    let restarting = false;
    const run = async () => {
      const first = await handle.run(req);
      if (first.type !== "ended" || !first.undelivered) return first;
      // It died between evals (killed from outside) before its exit was read: not this form's doing.
      this.replace(handle);
      notes.push("module state was reset: the evaluator process died between evals");
      restarting = true;
      handle = await this.worker();
      restarting = false;
      // Timed out while the fresh evaluator started: the form must not run after its answer.
      return answered ? first : handle.run(req);
    };
    const outcome = await Promise.race([run(), timedOut]);
    answered = true;
    clearTimeout(timer);
    if (outcome === "timeout") {
      this.stats.timeouts++;
      // An evaluator still starting has not seen the form: it stays to serve the next eval.
      if (!restarting) this.replace(handle);
      return {
        status: "error",
        message: withNotes(
          notes,
          `TimeoutError: the eval did not finish within ${timeoutMs} ms (a loop, a promise that never ` +
            "settles, or a timer loop); its evaluator was killed and replaced, so module state was reset " +
            "and every module is re-evaluated on the next eval",
        ),
      };
    }
    if (outcome.type === "ended") {
      this.replace(handle);
      return {
        status: "error",
        message: withNotes(
          notes,
          `${outcome.reason}; a fresh evaluator was started, so module state was reset`,
        ),
      };
    }
    const limits = this.opts;
    const recycle =
      // Memory a failed allocation did not get back stays taken until a GC: a fresh evaluator starts clean.
      !outcome.ok && OUT_OF_ADDRESS_SPACE.test(outcome.error ?? "")
        ? "an allocation failed at its memory limit"
        : this.evalsOnWorker >= limits.maxEvalsPerWorker
          ? `${this.evalsOnWorker} evals`
          : outcome.modules > limits.maxModules
            ? `${outcome.modules} cached modules`
            : outcome.heapUsedBytes > limits.maxHeapFraction * limits.memoryLimitMb * 1024 * 1024
              ? `a ${Math.round(outcome.heapUsedBytes / 1048576)} MB heap`
              : undefined;
    if (recycle) {
      this.stats.recycles++;
      this.notes.push(`module state was reset: the evaluator was recycled after ${recycle}`);
      this.replace(handle);
    }
    return toResponse(outcome, notes);
  }
}
