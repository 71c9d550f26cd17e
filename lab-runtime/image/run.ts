import { spawn } from "node:child_process";
import { LoomError } from "../../src/shared/errors.ts";

/** A program the image builder needs is not installed (or not on PATH). */
export class ToolMissingError extends LoomError {
  constructor(
    readonly tool: string,
    hint: string,
  ) {
    super("TOOL_MISSING", `${tool} was not found (looked for "${tool}" on PATH): ${hint}`);
  }
}

/** A command the image builder ran failed; the message carries the tail of its output. */
export class CommandFailedError extends LoomError {
  constructor(what: string, result: RunResult) {
    const how = result.timedOut
      ? "timed out"
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with code ${result.code}`;
    const tail = lastLines(`${result.stderr}\n${result.stdout}`.trim(), 15);
    super("COMMAND_FAILED", `${what} ${how}${tail ? `:\n${tail}` : ""}`);
  }
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the command (TERM, then KILL 5 s later) after this long. */
  timeoutMs?: number;
  /** Called with each output line (stdout and stderr) as it arrives, for progress. */
  onLine?: (line: string) => void;
  /** How to say the program is missing, for ToolMissingError. */
  missingHint?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

// Output is drained always (a full pipe would hang the child) but only the tail is kept.
const KEEP_CHARS = 256 * 1024;

/** Runs a command to completion; never throws for a non-zero exit, only when the program is missing. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGTERM");
            killTimer = setTimeout(() => child.kill("SIGKILL"), 5000);
          }, opts.timeoutMs);
    const collect = (stream: NodeJS.ReadableStream, which: "stdout" | "stderr") => {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (text: string) => {
        if (which === "stdout") stdout = (stdout + text).slice(-KEEP_CHARS);
        else stderr = (stderr + text).slice(-KEEP_CHARS);
        if (!opts.onLine) return;
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) opts.onLine(line);
      });
      stream.on("end", () => {
        if (opts.onLine && partial.trim()) opts.onLine(partial);
      });
    };
    collect(child.stdout, "stdout");
    collect(child.stderr, "stderr");
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (err.code === "ENOENT")
        reject(new ToolMissingError(cmd, opts.missingHint ?? "install it and retry"));
      else reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Runs a command and returns its stdout; a failure throws CommandFailedError naming `what`. */
export async function runOk(
  what: string,
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<string> {
  const result = await run(cmd, args, opts);
  if (result.code !== 0) throw new CommandFailedError(what, result);
  return result.stdout;
}

function lastLines(text: string, n: number): string {
  return text.split("\n").slice(-n).join("\n");
}
