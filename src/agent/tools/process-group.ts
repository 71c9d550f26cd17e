import { spawn } from "node:child_process";

/**
 * Runs a shell command as the leader of its own process group, so a timeout or abort can kill it with
 * everything it started (grandchildren included). Output is drained continuously into a bounded tail
 * buffer: a child writing megabytes never blocks on a full pipe, and memory stays bounded.
 */

export interface CommandOptions {
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Bytes of the most recent output kept (older output is dropped and counted). */
  readonly keepBytes?: number;
  /** Between SIGTERM and SIGKILL. */
  readonly killGraceMs?: number;
  /** The command's whole environment (default: this process's). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface CommandResult {
  /** The kept tail of stdout and stderr, interleaved in arrival order. */
  readonly output: string;
  readonly droppedBytes: number;
  readonly droppedLines: number;
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** A process outside the group still held the output pipes open; its further output was not captured. */
  readonly detachedOutput: boolean;
  readonly durationMs: number;
}

const DEFAULT_KEEP_BYTES = 256 * 1024;
const DEFAULT_KILL_GRACE_MS = 2_000;
/** After the shell exits and its group is signalled, how long to wait for the pipes to close. */
const PIPE_CLOSE_GRACE_MS = 2_000;

// Non-interactive defaults: a pager or a credential prompt would otherwise wait forever on a closed stdin.
const QUIET_ENV = { PAGER: "cat", GIT_PAGER: "cat", GIT_TERMINAL_PROMPT: "0" };

export function runInProcessGroup(command: string, options: CommandOptions): Promise<CommandResult> {
  const keepBytes = options.keepBytes ?? DEFAULT_KEEP_BYTES;
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const started = performance.now();
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn("bash", ["-c", command], {
      cwd: options.cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...(options.env ?? process.env), ...QUIET_ENV },
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    let droppedBytes = 0;
    let droppedLines = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      kept += chunk.length;
      while (kept - (chunks[0]?.length ?? 0) >= keepBytes && chunks.length > 1) {
        const old = chunks.shift()!;
        kept -= old.length;
        droppedBytes += old.length;
        droppedLines += countNewlines(old);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);

    let timedOut = false;
    let aborted = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let pipeTimer: NodeJS.Timeout | undefined;
    let finished = false;

    const killGroup = () => {
      if (child.pid === undefined || killTimer) return;
      if (!signalGroup(child.pid, "SIGTERM")) return;
      // Unref'd: a process that ignores SIGTERM still gets SIGKILL, but never keeps Loom alive on its own.
      killTimer = setTimeout(() => signalGroup(child.pid!, "SIGKILL"), killGraceMs);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener("abort", onAbort, { once: true });

    const finish = (detachedOutput: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(pipeTimer);
      options.signal.removeEventListener("abort", onAbort);
      resolve({
        output: Buffer.concat(chunks).toString("utf8"),
        droppedBytes,
        droppedLines,
        exitCode,
        exitSignal,
        timedOut,
        aborted,
        detachedOutput,
        durationMs: performance.now() - started,
      });
    };
    child.on("error", (err) => {
      clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
      if (!finished) reject(err);
      finished = true;
    });
    child.on("exit", (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      // The command's lifetime ends with the shell: background leftovers are killed, never leaked.
      killGroup();
      pipeTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(true);
      }, PIPE_CLOSE_GRACE_MS + killGraceMs);
    });
    child.on("close", () => finish(false));
  });
}

/** Signals every process in the group; false if the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}
