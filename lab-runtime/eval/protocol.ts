/**
 * Messages between the eval engine (main thread) and its worker. Plain data only: everything crosses
 * `postMessage` by structured clone.
 */

/** Identifier the worker passes to every module in place of `import.meta` (CJS has none). */
export const IMPORT_META_PARAM = "__loomImportMeta";

/** The prepared form calls this (a parameter of its wrapper) with its async body. */
export const RUN_PARAM = "__loomRun";

/**
 * Text the form's rewrite inserted on one line (0-based line, column `at` in rewritten text, `by`
 * characters): undone when mapping columns back to what the user wrote.
 */
export interface ColumnShift {
  line: number;
  at: number;
  by: number;
}

/** A 0-based column of rewritten text on `line` as a column of the original form. */
export function unshiftColumn(shifts: readonly ColumnShift[], line: number, column: number): number {
  let col = column;
  for (const s of [...shifts].filter((x) => x.line === line).sort((a, b) => b.at - a.at)) {
    if (col >= s.at + s.by) col -= s.by;
    else if (col >= s.at) col = s.at;
  }
  return col;
}

/** Passed once as `workerData` when the worker starts. */
export interface WorkerInit {
  workspace: string;
  /** Absolute path used as the form's filename: relative imports in a form resolve from here. */
  formFile: string;
  /** Max characters of the serialised value and of captured console output. */
  maxOutputChars: number;
  /** Transforms to start with (worker cache key → module), from the worker this one replaces. */
  seed: [string, { code: string; map: string }][];
  /** 4-byte SharedArrayBuffer the main thread signals on when a transform answer is posted. */
  signal: SharedArrayBuffer;
}

/** Main → worker: run one prepared form (already CommonJS JavaScript). */
export interface RunRequest {
  type: "run";
  id: number;
  code: string;
  /** esbuild source map of `code`, mapping back to the form's TypeScript lines. */
  map: string;
  shifts: ColumnShift[];
}

/** Worker → main: the outcome of one run. */
export interface RunResult {
  type: "result";
  id: number;
  ok: boolean;
  /** JSON text of the value (absent when the value is `undefined`); on error, absent. */
  valueJson?: string;
  /** On error: name, message and mapped stack. */
  error?: string;
  /** Captured console lines, already prefixed (`[log] …`), bounded. */
  console: string;
  /** Timers the form left pending, cancelled when it answered. */
  cancelledTimers: number;
  /** Modules held in the worker's cache after the run; the engine recycles past a limit. */
  modules: number;
  heapUsedBytes: number;
}

/** Worker → main once it is set up. */
export interface ReadyMessage {
  type: "ready";
}

export type WorkerToMain = RunResult | ReadyMessage;

/** A run either produced a result or the evaluator died under it (exit, out of memory, crash). */
export type RunOutcome =
  | RunResult
  /** `undelivered`: the process was gone before the run reached it, so the form never started. */
  | { type: "ended"; reason: string; undelivered?: boolean };

/** Worker → main on the transform port (the worker blocks until answered). */
export interface TransformRequest {
  file: string;
  source: string;
  hash: string;
  /** Start the transform but send no answer: the worker will ask for it (synchronously) soon. */
  prefetch?: boolean;
}

/** Main → worker on the transform port. */
export type TransformAnswer = { ok: true; code: string; map: string } | { ok: false; error: string };

/** Parent → evaluator process, first message: what to start its worker with. */
export interface EvaluatorInit {
  type: "init";
  /** The evaluator bundle: its main thread is the host, its worker thread runs forms. */
  code: string;
  workspace: string;
  formFile: string;
  maxOutputChars: number;
  memoryLimitMb: number;
  seed: WorkerInit["seed"];
}

/** Evaluator process → parent: a transform its worker needs (`n` numbers the answer; none for a prefetch). */
export interface TransformCall {
  type: "transform";
  n: number;
  req: TransformRequest;
}

/** Parent → evaluator process: the answer to transform call `n`. */
export interface TransformReply {
  type: "transformed";
  n: number;
  answer: TransformAnswer;
}

export type ParentToEvaluator = EvaluatorInit | RunRequest | TransformReply;
/** Evaluator process → parent: run `id` reached it (a run not acknowledged never started). */
export interface StartedMessage {
  type: "started";
  id: number;
}

export type EvaluatorToParent = ReadyMessage | StartedMessage | RunOutcome | TransformCall;
