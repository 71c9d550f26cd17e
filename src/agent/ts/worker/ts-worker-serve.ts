import { parentPort } from "node:worker_threads";
import type { Tool } from "../../tool.ts";
import { toolsFor } from "../../tool-manifest.ts";
import { exclusive, openWorkspaceProject, projectsBuilt } from "../project/project-cache.ts";
import type { MainToWorker, ThrownError, WorkerToMain } from "./protocol.ts";

/**
 * The TypeScript tools' worker thread (see ts-worker-client.ts; started by ts-worker-main.ts): hosts the
 * manifest's worker tools, with their Project cache, folder watches and per-workspace queue, off the
 * Lab's main thread. Input arrives validated and confined by the calling thread's registry.
 */

const port = parentPort;
if (!port) throw new Error("ts-worker-serve.ts runs only as a worker thread");

const tools = new Map<string, Tool>(toolsFor("worker").map((t) => [t.name, t]));
const running = new Map<number, AbortController>();

function thrown(err: unknown): ThrownError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), notError: true };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    ...(typeof code === "string" ? { code } : {}),
    ...(err.stack ? { stack: err.stack } : {}),
  };
}

function answer(msg: WorkerToMain): void {
  try {
    port!.postMessage(msg);
  } catch (err) {
    // `details` that cannot be cloned must not cost the answer the model needs.
    const withoutDetails = "result" in msg && msg.result.details !== undefined;
    port!.postMessage(
      withoutDetails
        ? { id: msg.id, result: { content: msg.result.content, isError: msg.result.isError } }
        : { id: msg.id, error: thrown(err) },
    );
  }
}

async function call(msg: Extract<MainToWorker, { type: "call" }>): Promise<void> {
  const tool = tools.get(msg.tool);
  if (!tool) {
    answer({
      id: msg.id,
      error: { name: "Error", message: `the TypeScript worker has no tool ${msg.tool}` },
    });
    return;
  }
  const controller = new AbortController();
  running.set(msg.id, controller);
  try {
    const result = await tool.run(msg.input, { workspace: msg.workspace, signal: controller.signal });
    answer({ id: msg.id, result });
  } catch (err) {
    answer({ id: msg.id, error: thrown(err) });
  } finally {
    running.delete(msg.id);
  }
}

/** What a first call would build anyway: the Project and both programs with their checkers. */
async function warm(msg: Extract<MainToWorker, { type: "warm" }>): Promise<void> {
  const started = performance.now();
  try {
    await exclusive(msg.workspace, async () => {
      const { project } = await openWorkspaceProject(msg.workspace);
      // The language service's program answers renames; ts-morph's own program the checks and lookups.
      project.getLanguageService().compilerObject.getProgram()?.getTypeChecker();
      project.getProgram().compilerObject.getTypeChecker();
    });
    answer({ id: msg.id, warmed: { ms: Math.round(performance.now() - started) } });
  } catch (err) {
    answer({ id: msg.id, error: thrown(err) });
  }
}

port.on("message", (msg: MainToWorker) => {
  switch (msg.type) {
    case "call":
      void call(msg);
      break;
    case "abort":
      running.get(msg.id)?.abort(new Error(msg.reason));
      break;
    case "warm":
      void warm(msg);
      break;
    case "stats":
      answer({ id: msg.id, stats: { projectsBuilt: projectsBuilt() } });
      break;
  }
});
