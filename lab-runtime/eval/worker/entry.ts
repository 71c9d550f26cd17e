/**
 * Entry of the evaluator bundle (`../worker-source.ts` builds it; everything it loads is in this folder, so a local Lab sees a change here as a stale bundle). The same code is the evaluator
 * process's main thread — started by the engine with the bundle sent as its first IPC message — and
 * the worker thread that process starts to run forms.
 */
import { isMainThread } from "node:worker_threads";
import type { EvaluatorInit } from "../protocol.ts";
import { runHost } from "./host.ts";
import { runWorker } from "./main.ts";

/** Where the process's bootstrap leaves the init message before running this bundle. */
const INIT_GLOBAL = "__loomEvaluatorInit";

if (isMainThread) {
  const holder = globalThis as Record<string, unknown>;
  const init = holder[INIT_GLOBAL] as EvaluatorInit;
  delete holder[INIT_GLOBAL];
  runHost(init);
} else {
  runWorker();
}
