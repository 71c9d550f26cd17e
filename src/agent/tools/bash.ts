import { z } from "zod";
import { withoutSecrets } from "../../shared/secret-env.ts";
import { defineTool, ToolError } from "../tool.ts";
import { DEFAULT_LIMITS, truncateOutput } from "../truncate.ts";
import { type CommandResult, runInProcessGroup } from "./process-group.ts";

export const DEFAULT_BASH_TIMEOUT_S = 120;
export const MAX_BASH_TIMEOUT_S = 600;

/** Under the registry's limits, leaving room for the status line, so the registry never cuts a second time. */
const OUTPUT_BUDGET = { maxLines: DEFAULT_LIMITS.maxLines, maxBytes: DEFAULT_LIMITS.maxBytes - 1024 };

const BashInput = z.strictObject({
  command: z.string().min(1).describe("The bash command line to run, e.g. `npx vitest run test/x.test.ts`"),
  timeout: z
    .number()
    .positive()
    .max(MAX_BASH_TIMEOUT_S)
    .optional()
    .describe(`Time limit in SECONDS (default ${DEFAULT_BASH_TIMEOUT_S}, max ${MAX_BASH_TIMEOUT_S})`),
});

export const bashTool = defineTool({
  name: "bash",
  description:
    "Run a command with `bash -c` in the workspace root (stdin is closed, so nothing can prompt); the result has the exit code and the tail of stdout+stderr. " +
    `It is killed with everything it started after \`timeout\` seconds (default ${DEFAULT_BASH_TIMEOUT_S}, max ${MAX_BASH_TIMEOUT_S}), and background processes do not outlive the command. ` +
    "Prefer read_file/edit_file for files; use this for tests, builds, git, grep and find. It is not confined to the workspace — the container is the boundary — so keep to the workspace anyway.",
  input: BashInput,
  effect: "exec",
  // Above the largest `timeout` the model may ask for, so the command's own limit fires first.
  timeoutMs: (MAX_BASH_TIMEOUT_S + 30) * 1000,
  truncate: "tail",
  async run(input, ctx) {
    const timeoutS = input.timeout ?? DEFAULT_BASH_TIMEOUT_S;
    const result = await runInProcessGroup(input.command, {
      cwd: ctx.workspace,
      timeoutMs: timeoutS * 1000,
      signal: ctx.signal,
      // Explicit: whatever this process still holds, no key or token reaches a command the model wrote.
      env: withoutSecrets(process.env),
    }).catch((err: NodeJS.ErrnoException) => {
      // Node reports a missing cwd as "spawn bash ENOENT", which would send the model hunting for bash.
      throw new ToolError(
        "SPAWN_FAILED",
        `could not start bash in ${ctx.workspace}: ${err.message} (is the workspace there, and bash on PATH?)`,
      );
    });
    const { content: output } = truncateOutput(result.output, "tail", OUTPUT_BUDGET, {
      lines: result.droppedLines,
      bytes: result.droppedBytes,
    });
    const status = describeStatus(result, timeoutS);
    return {
      content: `${output === "" ? "(no output)" : output.replace(/\n$/, "")}\n${status}`,
      isError: result.exitCode !== 0,
      details: {
        exitCode: result.exitCode,
        signal: result.exitSignal,
        timedOut: result.timedOut,
        aborted: result.aborted,
        outputBytes: result.droppedBytes + Buffer.byteLength(result.output),
        durationMs: Math.round(result.durationMs),
      },
    };
  },
});

function describeStatus(r: CommandResult, timeoutS: number): string {
  const notes: string[] = [];
  if (r.timedOut) {
    notes.push(
      `timed out after ${timeoutS} s: the command and every process it started were killed; ` +
        "raise `timeout` (max 600) or run less at once",
    );
  } else if (r.aborted) {
    notes.push("aborted: the run was cancelled and the command's processes were killed");
  } else if (r.exitCode !== null) {
    notes.push(`exit code ${r.exitCode}`);
  } else {
    notes.push(`killed by ${r.exitSignal ?? "a signal"}`);
  }
  if (r.detachedOutput)
    notes.push("a process that left the process group kept the output open; its later output is missing");
  return `[${notes.join("; ")}]`;
}
