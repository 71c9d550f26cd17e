import { execa } from "execa";
import type { z } from "zod";
import { formatIssues } from "../../shared/zod-issues.ts";
import { RuntimeError } from "./runtime.ts";

/**
 * Runs an engine CLI once and returns its output. Output is always drained by execa and capped by
 * maxBuffer (the command is killed past it), stdin is closed so nothing can wait for input, and every
 * call has a timeout, so a wedged daemon fails a call instead of hanging the supervisor.
 */

export interface CliOptions {
  readonly timeoutMs?: number;
  readonly maxBuffer?: number;
  /** Added to the CLI's own environment (the engine client needs HOME, DOCKER_HOST, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Ends the command early; the call then fails with ABORTED. */
  readonly signal?: AbortSignal;
}

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved. */
  readonly all: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;

/** Resolves with any exit code; throws only when the program could not run or ran out of time/buffer. */
export async function runCli(
  bin: string,
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  const result = await execa(bin, args, {
    reject: false,
    all: true,
    stdin: "ignore",
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBuffer: options.maxBuffer ?? DEFAULT_MAX_BUFFER,
    env: options.env ? { ...options.env } : undefined,
    stripFinalNewline: false,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  const shown = `${bin} ${args.slice(0, 2).join(" ")}`;
  if (result.code === "ENOENT") {
    throw new RuntimeError("ENGINE_NOT_FOUND", `${bin} is not installed or not on PATH`);
  }
  if (result.isCanceled) throw new RuntimeError("ABORTED", `${shown} was stopped before it finished`);
  if (result.timedOut) {
    throw new RuntimeError(
      "ENGINE_TIMEOUT",
      `${shown} did not finish within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms; is the engine responsive?`,
    );
  }
  if (result.isMaxBuffer) {
    throw new RuntimeError(
      "ENGINE_FAILED",
      `${shown} printed more than ${options.maxBuffer ?? DEFAULT_MAX_BUFFER} bytes`,
    );
  }
  if (result.exitCode === undefined) {
    throw new RuntimeError("ENGINE_FAILED", `${shown} could not run: ${result.shortMessage}`, {
      cause: result,
    });
  }
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    all: String(result.all ?? ""),
  };
}

/** The first lines of an engine's error output, for messages. */
export function firstLines(text: string, lines = 3): string {
  return text.trim().split("\n").slice(0, lines).join(" | ");
}

/** Parses an engine's JSON output against `schema`, failing with BAD_ENGINE_OUTPUT naming the field. */
export function parseEngineJson<S extends z.ZodType>(text: string, schema: S, command: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RuntimeError(
      "BAD_ENGINE_OUTPUT",
      `${command} printed something that is not JSON: ${text.slice(0, 200)}`,
      {
        cause: err,
      },
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new RuntimeError(
      "BAD_ENGINE_OUTPUT",
      `${command} output has an unexpected shape: ${formatIssues(parsed.error, { limit: 3 })}`,
    );
  }
  return parsed.data;
}
