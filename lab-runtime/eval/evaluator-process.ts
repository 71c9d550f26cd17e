import { type ChildProcess, spawn } from "node:child_process";
import type {
  EvaluatorInit,
  EvaluatorToParent,
  ParentToEvaluator,
  RunOutcome,
  RunRequest,
  TransformAnswer,
  TransformRequest,
} from "./protocol.ts";

export interface EvaluatorProcessOptions {
  /** The evaluator bundle (`workerSource()`). */
  code: string;
  workspace: string;
  formFile: string;
  maxOutputChars: number;
  /** Heap limit of the worker thread that runs forms (V8 old generation, MB). */
  memoryLimitMb: number;
  /** Address-space limit of the whole process (MB), or undefined for none. */
  addressSpaceMb: number | undefined;
  seed: EvaluatorInit["seed"];
  /** Serves a transform the evaluator's worker needs; a prefetch's answer is not sent. */
  transform: (req: TransformRequest) => Promise<TransformAnswer>;
  /** Called when the process dies on its own while no run is pending. */
  onIdleEnd: (reason: string) => void;
}

/**
 * Variables the evaluator process gets; nothing else of the engine's environment (API keys, tokens,
 * NODE_OPTIONS with a loader) reaches a form. MALLOC_ARENA_MAX keeps glibc from reserving a 64 MB
 * arena per thread, which would eat the address-space limit without using memory.
 */
const PASSED_ENV = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"];

function evaluatorEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { MALLOC_ARENA_MAX: "2" };
  for (const key of PASSED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

/** Runs the bundle sent as the first IPC message (argv would show 20+ KB of code in `ps`). */
const BOOTSTRAP = `process.once("message", (m) => {
  globalThis.__loomEvaluatorInit = m;
  require("node:vm").runInThisContext("(function (require, module, exports) {" + m.code + "\\n})", { filename: "loom-eval-evaluator.js" })(require, module, exports);
});`;

/**
 * With its trap handler, V8 reserves ~10 GB of address space per WebAssembly memory, which no
 * address-space limit leaves room for; without it wasm checks bounds explicitly (a little slower).
 */
const WASM_FLAGS = process.allowedNodeEnvironmentFlags.has("--disable-wasm-trap-handler")
  ? ["--disable-wasm-trap-handler"]
  : [];

/** Most of the evaluator's stderr kept to explain its death (V8 prints its fatal errors there). */
const STDERR_TAIL = 4096;
/** Longest wait for that tail after the process exits. */
const STDERR_WAIT_MS = 50;

/** What a run gets when the process died before acknowledging it: the form never started. */
const UNDELIVERED: RunOutcome = {
  type: "ended",
  reason: "the evaluator process was gone",
  undelivered: true,
};

/** Every evaluator process alive in this process, killed when it exits (a crash or process.exit). */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}

function describeDeath(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
  opts: EvaluatorProcessOptions,
) {
  const limits = `heap limit ${opts.memoryLimitMb} MB${opts.addressSpaceMb ? `, address space ${opts.addressSpaceMb} MB` : ""}`;
  if (/heap out of memory|Reached heap limit|invalid (table |array )?size|Allocation failed/i.test(stderr)) {
    return `RangeError: out of memory — the eval exhausted the evaluator's memory (${limits})`;
  }
  if (signal === "SIGABRT") {
    return `RangeError: out of memory, most likely — the eval's evaluator process aborted (${limits})`;
  }
  if (signal === "SIGKILL") {
    return (
      "the eval's evaluator process was killed by SIGKILL (if nobody sent it, the kernel's out-of-memory " +
      "killer did: the container or machine ran out of memory, and the evaluator goes first)"
    );
  }
  if (signal) return `the eval's evaluator process was killed by ${signal}`;
  return `the eval's evaluator process exited with code ${code}`;
}

/**
 * One evaluator: a child process (address space limited with `ulimit -v`, minimal environment) whose
 * worker thread runs forms. Any way it dies — out of memory included, which in a worker thread can
 * abort the whole process — ends only this child; the engine answers and starts another.
 */
export class EvaluatorProcess {
  private readonly child: ChildProcess;
  private pending: { id: number; started: boolean; resolve: (outcome: RunOutcome) => void } | undefined;
  private endReason: string | undefined;
  private stderr = "";
  private killed = false;
  private settleReady: { resolve: () => void; reject: (err: Error) => void } | undefined;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;

  static async spawn(opts: EvaluatorProcessOptions): Promise<EvaluatorProcess> {
    const evaluator = new EvaluatorProcess(opts);
    await evaluator.ready;
    return evaluator;
  }

  private constructor(private readonly opts: EvaluatorProcessOptions) {
    const nodeArgs = [...WASM_FLAGS, "-e", BOOTSTRAP];
    // ulimit -v sets RLIMIT_AS before node starts: it bounds Buffers and ArrayBuffers (outside V8's
    // heap limit) without polling; an allocation past it fails with a RangeError in the form.
    const [command, args] =
      opts.addressSpaceMb !== undefined
        ? [
            "/bin/sh",
            [
              "-c",
              'ulimit -v "$1" 2>/dev/null; shift; exec "$@"',
              "loom-eval",
              String(opts.addressSpaceMb * 1024),
              process.execPath,
              ...nodeArgs,
            ],
          ]
        : [process.execPath, nodeArgs];
    this.child = spawn(command, args, {
      cwd: opts.workspace,
      env: evaluatorEnv(),
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
    });
    track(this.child);
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => {});
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    this.child.on("message", (msg: EvaluatorToParent) => this.onMessage(msg));
    this.child.on("error", (err) => this.end(`the eval's evaluator process could not start: ${err.message}`));
    this.child.on("exit", (code, signal) => {
      const done = () => this.end(describeDeath(code, signal, this.stderr, opts));
      // V8's fatal error may still be in the pipe: wait for its end, briefly (a grandchild may hold it open).
      const stderr = this.child.stderr;
      if (!stderr || stderr.readableEnded) return done();
      const timer = setTimeout(done, STDERR_WAIT_MS);
      stderr.once("end", () => {
        clearTimeout(timer);
        done();
      });
    });
    const init: EvaluatorInit = {
      type: "init",
      code: opts.code,
      workspace: opts.workspace,
      formFile: opts.formFile,
      maxOutputChars: opts.maxOutputChars,
      memoryLimitMb: opts.memoryLimitMb,
      seed: opts.seed,
    };
    this.send(init);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  run(req: RunRequest): Promise<RunOutcome> {
    if (this.endReason !== undefined) return Promise.resolve({ type: "ended", reason: this.endReason });
    if (this.pending) throw new Error("EvaluatorProcess.run called while a run is pending");
    if (!this.child.connected) return Promise.resolve(UNDELIVERED);
    return new Promise<RunOutcome>((resolve) => {
      this.pending = { id: req.id, started: false, resolve };
      this.send(req);
    });
  }

  /** SIGKILL now: nothing inside (a loop, a builtin, a GC) can delay it. The answer need not wait for the exit. */
  kill(): void {
    this.killed = true;
    this.end("the eval's evaluator process was stopped");
    this.child.kill("SIGKILL");
  }

  private send(msg: ParentToEvaluator): void {
    if (this.endReason !== undefined || !this.child.connected) return;
    // A channel closing under a send is seen as the exit that follows; nothing to do here.
    this.child.send(msg, (err) => void err);
  }

  private onMessage(msg: EvaluatorToParent): void {
    if (msg.type === "ready") {
      this.settleReady?.resolve();
    } else if (msg.type === "started") {
      if (this.pending?.id === msg.id) this.pending.started = true;
    } else if (msg.type === "transform") {
      const { n, req } = msg;
      const answer = this.opts.transform(req);
      if (req.prefetch) {
        answer.catch(() => {});
        return;
      }
      answer.then(
        (a) => this.send({ type: "transformed", n, answer: a }),
        (err: Error) => this.send({ type: "transformed", n, answer: { ok: false, error: err.message } }),
      );
    } else if (msg.type === "ended") {
      this.end(msg.reason);
      this.child.kill("SIGKILL");
    } else if (this.pending && msg.id === this.pending.id) {
      const { resolve } = this.pending;
      this.pending = undefined;
      resolve(msg);
    }
  }

  private end(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    this.settleReady?.reject(new Error(`the eval's evaluator did not start: ${reason}`));
    const pending = this.pending;
    this.pending = undefined;
    if (pending) pending.resolve(pending.started ? { type: "ended", reason } : UNDELIVERED);
    else if (!this.killed) this.opts.onIdleEnd(reason);
  }
}
