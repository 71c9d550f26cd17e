import { startLabServer } from "../../lab-runtime/server.ts";
import type { ModelPort } from "../agent/model-port.ts";
import type { Config } from "../shared/config.ts";
import { errorMessage } from "../shared/errors.ts";
import type { EventSink } from "../shared/events.ts";
import { useBundledCompileCache } from "./compile-cache.ts";
import { takeLabSecrets } from "./lab-secrets.ts";
import { bridgeSocket } from "./socket-bridge.ts";
import { LabStatusTracker } from "./status-tracker.ts";

export interface RunLabOptions {
  readonly workspace: string;
  readonly generation: number | null;
  readonly config: Config;
  readonly port: number;
  readonly host: string;
  /** Also serve through this unix socket (a Lab without network: the Supervisor's way in). */
  readonly socketPath?: string;
  /** The Supervisor's secrets file (model token, server token): read, deleted, never in the environment. */
  readonly secretsFile?: string;
  readonly emit?: EventSink;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /** How long a model call is outstanding before the warm-ups start (default WARM_AFTER_MS). */
  readonly warmAfterMs?: number;
}

/**
 * What a Lab container runs: the status/eval server comes up first (the Supervisor's readiness probe),
 * then the worker carries out program.md. The agent's parts (ts-morph, the SDK) are imported only once
 * the first /status has been answered (or the server has been quiet for a moment, when nobody asks):
 * their evaluation blocks the event loop, so loading them earlier would hold up that answer. The server
 * stays up after the worker finishes so the Supervisor can read the final /status; the caller decides
 * when to close it. The structural TypeScript tools run in a worker thread, started and warmed first.
 */
/** Where a local connection reaches a server bound to `host`. */
const connectHost = (host: string): string => (host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host);

export async function runLab(options: RunLabOptions) {
  const { workspace } = options;
  // Before anything that starts a thread or a child (eval worker, TypeScript worker, bash): they would
  // inherit the environment, and the agent reaches all of them.
  const config = await takeLabSecrets(options.config, options.secretsFile);
  // The eval engine's form parser loads ts-morph's TypeScript on this thread: compiled code from the build.
  useBundledCompileCache(import.meta.url);
  const tracker = new LabStatusTracker(options.generation ?? undefined);
  let tsWarmed: () => void = () => {};
  const labServer = await startLabServer({
    workspace,
    port: options.port,
    host: options.host,
    ...(config.labToken ? { token: config.labToken } : {}),
    status: () => tracker.snapshot(),
    evalTimeoutMs: config.evalTimeoutMs,
    // Two warm-ups at once on two cores slow the one the first ts_* call waits for.
    warmEvalAfter: new Promise<void>((resolve) => {
      tsWarmed = resolve;
    }),
    log: (line) => options.log?.(`lab: ${line}`),
  });
  const bridge = options.socketPath
    ? await bridgeSocket(options.socketPath, labServer.port, connectHost(options.host)).catch(
        async (err: unknown) => {
          await labServer.close();
          throw err;
        },
      )
    : undefined;
  const server: typeof labServer = {
    ...labServer,
    close: async () => {
      await Promise.all([bridge?.close(), labServer.close()]);
    },
  };
  options.log?.(
    `lab: serving ${labServer.url}${options.socketPath ? ` and ${options.socketPath}` : ""} for ${workspace}`,
  );
  const done = (async () => {
    await server.quiet;
    const [{ closeSharedEvalEngines }, { TsWorker }] = await Promise.all([
      import("../../lab-runtime/eval/shared-engines.ts"),
      import("../agent/ts/worker/ts-worker-client.ts"),
    ]);
    // The TypeScript thread's client (it loads no ts-morph); the thread builds the workspace's Project
    // when warmed (below) or at the first ts_* call.
    const tsWorker = new TsWorker({ log: (line) => options.log?.(`lab: ${line}`) });
    let finished = false;
    const useWorker = tsWorker.available();
    // The warm-ups (the workspace's Project in the TypeScript thread, then the eval engine) hide the
    // first ts_* and eval call's cost behind the model's turn: they start once a model call has kept
    // the agent waiting WARM_AFTER_MS, which a real model's first turn always does. A model that answers
    // at once (a scripted one) lets a short Lab end without paying for them: the first call of a tool
    // does that work then.
    let warming = false;
    const warm = () => {
      if (warming || finished) return;
      warming = true;
      void useWorker
        .then(async (ok) => {
          if (!ok) return;
          const result = await tsWorker.warm(workspace);
          if (finished) return;
          options.log?.(
            result.ok
              ? `lab: TypeScript tools warmed in ${result.ms} ms (worker thread)`
              : `lab: warming the TypeScript tools failed (${result.error}); the first ts_* call does that work`,
          );
        })
        // The eval engine's warm-up follows, unless the agent is done by then.
        .finally(() => {
          if (!finished) tsWarmed();
        });
    };
    try {
      // No ts-morph on this thread: the ts_* tools are the worker's twins of their specs.
      const [{ labToolsAround }, { tsToolSpecs }, { modelClientFor }, { ToolRegistry }, { runLabWorker }] =
        await Promise.all([
          import("../agent/lab-catalog.ts"),
          import("../agent/ts/tools/tool-specs.ts"),
          import("../agent/model-for-role.ts"),
          import("../agent/tool-registry.ts"),
          import("./worker.ts"),
        ]);
      // Without a worker file (a bundle other than the Lab's), the ts tools run in-process as before.
      const ts = (await useWorker)
        ? tsWorker.bind(tsToolSpecs)
        : (await import("../agent/ts/tools/index.ts")).tsTools;
      const report = await runLabWorker({
        workspace,
        generation: options.generation,
        model: warmWhileWaiting(
          modelOrFailure(() => modelClientFor(config, "lab"), config.labModel),
          warm,
          options.warmAfterMs ?? WARM_AFTER_MS,
        ),
        tools: new ToolRegistry(labToolsAround(ts), { defaultTimeoutMs: config.toolTimeoutMs }),
        tracker,
        loop: {
          maxIterations: config.maxIterations,
          maxContextMessages: config.maxContextMessages,
          tokenBudget: config.tokenBudget,
        },
        ...(options.emit ? { emit: options.emit } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (report.status === "failed") options.log?.(`lab: failed: ${report.error ?? report.stopReason}`);
      return report;
    } catch (err) {
      const error = errorMessage(err);
      options.log?.(`lab: failed: ${error}`);
      tracker.finish({ ok: false, error });
      return undefined;
    } finally {
      // A warm-up not started now never starts: nothing of the agent's is left to wait for.
      finished = true;
      await Promise.all([closeSharedEvalEngines(), tsWorker.close()]);
    }
  })();
  return { server, tracker, done };
}

/** How long a model call keeps the agent waiting before the warm-ups start (see runLab). */
export const WARM_AFTER_MS = 200;

/** `model`, calling `warm` once any call of it has been outstanding for `afterMs`. */
export function warmWhileWaiting(model: ModelPort, warm: () => void, afterMs: number): ModelPort {
  return {
    model: model.model,
    call: (request, signal) => {
      const timer = setTimeout(warm, afterMs);
      return model.call(request, signal).finally(() => clearTimeout(timer));
    },
  };
}

/**
 * The Lab's model client, or, when it cannot be made (no key, a bad base URL), a model whose every
 * call fails with that reason: the worker then ends the run as for any model error, writing the
 * report, committing the branch and setting /status, so the reason reaches the Supervisor's record.
 */
function modelOrFailure(make: () => ModelPort, model: string): ModelPort {
  try {
    return make();
  } catch (err) {
    return { model, call: () => Promise.reject(err) };
  }
}
