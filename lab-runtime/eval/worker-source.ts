import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("./worker/entry.ts", import.meta.url));

let source: Promise<string> | undefined;

/**
 * The evaluator's code (its process's main thread and its worker thread) as one CommonJS script,
 * bundled once per process from `worker/entry.ts`. Bundling (our own runtime, not user code) lets
 * it start the same way under tsx, vitest or plain node, without a loader inherited.
 */
export function workerSource(): Promise<string> {
  // esbuild is imported here, not at the top: a Lab's server loads this module before its first /status.
  source ??= import("esbuild").then(({ build }) =>
    build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      write: false,
      logLevel: "silent",
    }).then((result) => {
      const file = result.outputFiles[0];
      if (!file) throw new Error(`bundling the eval worker (${ENTRY}) produced no output`);
      return file.text;
    }),
  );
  // A failed build is retried on the next call instead of being cached forever.
  source.catch(() => {
    source = undefined;
  });
  return source;
}
