import { stat } from "node:fs/promises";
import path from "node:path";
import type { ToolResult } from "../../agent/tool.ts";
import { callWarm, stopWarm, WarmUnreachable } from "../../agent/ts/warm/client.ts";
import { LoomError } from "../../shared/errors.ts";
import type { ToolOptions } from "./tool.ts";

/**
 * `loom tool ts_*` through the workspace's warm TypeScript server (src/agent/ts/warm/server.ts): the
 * first call starts it, later calls reuse its Project instead of building one per process.
 */

const MAX_IDLE_S = 24 * 60 * 60;

function idleMs(raw: string): number {
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > MAX_IDLE_S) {
    throw new LoomError(
      "BAD_INPUT",
      `--warm-idle ${raw}: expected a number of seconds in (0, ${MAX_IDLE_S}]`,
    );
  }
  return Math.round(s * 1000);
}

/**
 * The call's result from the warm server; undefined when the call should run in this process instead
 * (no server could be reached or started — nothing ran — or the server does not know the tool).
 */
export async function runWarm(
  name: string,
  input: unknown,
  workspace: string,
  opts: ToolOptions,
): Promise<ToolResult | undefined> {
  const idle = idleMs(opts.warmIdle);
  const entry = process.argv[1];
  if (process.platform === "win32" || !entry) return undefined;
  try {
    return await callWarm({
      workspace,
      tool: name,
      input,
      server: {
        command: process.execPath,
        args: [
          ...process.execArgv,
          path.resolve(entry),
          "tool",
          "--serve-warm",
          "--workspace",
          workspace,
          "--warm-idle",
          String(idle / 1000),
        ],
      },
    });
  } catch (err) {
    if (
      err instanceof WarmUnreachable ||
      (err instanceof LoomError && err.code === "WARM_SOCKET_DIR_UNSAFE")
    ) {
      process.stderr.write(`loom tool: ${err.message}; running ${name} in this process\n`);
      return undefined;
    }
    // The in-process path names the available tools.
    if (err instanceof LoomError && err.code === "UNKNOWN_TOOL") return undefined;
    throw err;
  }
}

/** `--serve-warm` (the server process itself) and `--stop-warm`. */
export async function serveOrStop(opts: ToolOptions): Promise<void> {
  const workspace = path.resolve(opts.workspace);
  if (!(await stat(workspace).catch(() => undefined))?.isDirectory()) {
    throw new LoomError("WORKSPACE_NOT_FOUND", `--workspace ${opts.workspace}: not a directory`);
  }
  if (opts.stopWarm) {
    const stopped = await stopWarm(workspace);
    process.stdout.write(
      stopped ? `stopped the warm server of ${workspace}\n` : `no warm server for ${workspace}\n`,
    );
    return;
  }
  const [{ serveWarm }, { socketPathFor }] = await Promise.all([
    import("../../agent/ts/warm/server.ts"),
    import("../../agent/ts/warm/socket.ts"),
  ]);
  await serveWarm({ workspace, socketPath: socketPathFor(workspace), idleMs: idleMs(opts.warmIdle) });
  // Nothing may keep a server alive past its idle exit (a handle left by a tool would leak the process).
  process.exit(0);
}
