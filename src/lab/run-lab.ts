import { startLabServer } from "../../lab-runtime/server.ts";
import type { Config } from "../shared/config.ts";
import type { EventSink } from "../shared/events.ts";
import { LabStatusTracker } from "./status-tracker.ts";

export interface RunLabOptions {
  readonly workspace: string;
  readonly generation: number | null;
  readonly config: Config;
  readonly port: number;
  readonly host: string;
  readonly emit?: EventSink;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/**
 * What a Lab container runs: the status/eval server comes up first (the Supervisor's readiness probe),
 * then the worker carries out program.md. The agent's parts (ts-morph, the SDK) are imported only once
 * the first /status has been answered (or the server has been quiet for a moment, when nobody asks):
 * their evaluation blocks the event loop, so loading them earlier would hold up that answer. The server
 * stays up after the worker finishes so the Supervisor can read the final /status; the caller decides
 * when to close it.
 */
export async function runLab(options: RunLabOptions) {
  const { config, workspace } = options;
  const tracker = new LabStatusTracker(options.generation ?? undefined);
  const server = await startLabServer({
    workspace,
    port: options.port,
    host: options.host,
    status: () => tracker.snapshot(),
    evalTimeoutMs: config.evalTimeoutMs,
  });
  options.log?.(`lab: serving ${server.url} for ${workspace}`);
  const done = (async () => {
    await server.quiet;
    const { closeSharedEvalEngines } = await import("../../lab-runtime/eval/shared-engines.ts");
    try {
      const [{ labTools }, { modelClientFor }, { ToolRegistry }, { runLabWorker }] = await Promise.all([
        import("../agent/catalog.ts"),
        import("../agent/model-for-role.ts"),
        import("../agent/tool-registry.ts"),
        import("./worker.ts"),
      ]);
      return await runLabWorker({
        workspace,
        generation: options.generation,
        model: modelClientFor(config, "lab"),
        tools: new ToolRegistry(labTools(), { defaultTimeoutMs: config.toolTimeoutMs }),
        tracker,
        loop: {
          maxIterations: config.maxIterations,
          maxContextMessages: config.maxContextMessages,
          tokenBudget: config.tokenBudget,
        },
        ...(options.emit ? { emit: options.emit } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      tracker.finish({ ok: false, error: err instanceof Error ? err.message : String(err) });
      return undefined;
    } finally {
      await closeSharedEvalEngines();
    }
  })();
  return { server, tracker, done };
}
