import { readFile } from "node:fs/promises";
import path from "node:path";
import { LabReport } from "../../../schemas/lab-report.ts";
import type { ContainerRuntime } from "../runtime/index.ts";

const LOG_TAIL_LINES = 15;
const LOG_TAIL_CHARS = 1500;

/** The last lines a Lab printed, for a failure reason; empty when they cannot be read. */
export async function logTail(runtime: ContainerRuntime, id: string): Promise<string> {
  const text = await runtime.logs(id, { tail: LOG_TAIL_LINES }).catch(() => "");
  const flat = text.trim();
  return flat.length > LOG_TAIL_CHARS ? `…${flat.slice(-LOG_TAIL_CHARS)}` : flat;
}

/**
 * Gives a Lab that said it is done a moment to exit by itself (it is closing its server); true when
 * it is gone by then.
 */
export async function waitForExit(runtime: ContainerRuntime, id: string, ms: number): Promise<boolean> {
  const end = await runtime.wait(id, { timeoutMs: ms }).catch(() => undefined);
  return end?.kind === "exited" || end?.kind === "gone";
}

/** Stops then removes; each step is tried even if the other fails, and failures are returned, not thrown. */
export async function stopAndRemove(
  runtime: ContainerRuntime,
  id: string,
  graceMs: number,
): Promise<string[]> {
  const problems: string[] = [];
  await runtime.stop(id, { timeoutMs: graceMs }).catch((err: Error) => {
    if ((err as { code?: string }).code !== "NOT_FOUND") problems.push(`stop ${id}: ${err.message}`);
  });
  await runtime.remove(id).catch((err: Error) => problems.push(`remove ${id}: ${err.message}`));
  return problems;
}

/** The Lab's report, or undefined when it wrote none (killed early) or wrote something unreadable. */
export async function readLabReport(workspace: string): Promise<LabReport | undefined> {
  const text = await readFile(path.join(workspace, ".loom", "report.json"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = LabReport.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
