import path from "node:path";
import { KeyedQueue } from "../shared/keyed-queue.ts";
import type { Tool, ToolRole } from "./tool.ts";
import { resolveInWorkspace } from "./tools/paths.ts";

/**
 * The policy hooks the registry applies by a tool's declared properties (src/agent/tool.ts), so that
 * confinement, one-at-a-time calls and the shaping of known failures are written once, not per tool.
 */

/** Whether `role`'s catalog offers the tool. */
export function offeredTo(tool: Tool, role: ToolRole): boolean {
  return tool.roles?.includes(role) ?? false;
}

/** Throws (a ToolError the registry returns as data) when a confined tool's path leaves the workspace. */
export async function checkConfinement<I>(tool: Tool<I>, input: I, workspace: string): Promise<void> {
  const confine = tool.confine;
  const target = confine?.path(input);
  if (confine && target !== undefined) await resolveInWorkspace(workspace, target, confine.access);
}

const turns = new KeyedQueue();

/**
 * Runs `fn` now, or for an exclusive tool after every earlier exclusive call on the same workspace
 * (in call order). A call whose signal fired while it waited is not started.
 */
export function exclusively<T>(
  tool: Tool,
  workspace: string,
  signal: AbortSignal,
  fn: () => Promise<T>,
): Promise<T> {
  if (!tool.exclusive) return fn();
  return turns.run(path.resolve(workspace), () => {
    signal.throwIfAborted();
    return fn();
  });
}

/** The failure as the tool declares it should be shown, or unchanged. */
export function shapeFailure(tool: Tool, err: unknown): unknown {
  return tool.shapeError?.(err) ?? err;
}

/** How many workspaces have an exclusive call running or waiting (none once all have answered). */
export function workspacesInTurn(): number {
  return turns.size;
}
