import path from "node:path";
import { EvalEngine } from "./engine.ts";

const engines = new Map<string, EvalEngine>();

/** One eval engine per workspace, shared by every caller in this process (the agent's `eval` tool). */
export function sharedEvalEngine(workspace: string, timeoutMs?: number): EvalEngine {
  const key = path.resolve(workspace);
  let engine = engines.get(key);
  if (!engine) {
    engine = new EvalEngine({ workspace: key, ...(timeoutMs ? { timeoutMs } : {}) });
    engines.set(key, engine);
  }
  return engine;
}

/** Stops every shared engine's worker thread (a live worker keeps the process running). */
export async function closeSharedEvalEngines(): Promise<void> {
  const all = [...engines.values()];
  engines.clear();
  await Promise.all(all.map((e) => e.close()));
}
