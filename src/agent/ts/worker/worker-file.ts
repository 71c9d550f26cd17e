import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";

/** What the TypeScript tools' worker thread starts from (a file: or data: URL of an ES module). */
export interface TsWorkerFile {
  readonly url: URL;
}

const ENTRY = fileURLToPath(new URL("./ts-worker-main.ts", import.meta.url));

/** Packages stay outside the bundle, imported by absolute URL: a data: module has no node_modules. */
const packagesByUrl: Plugin = {
  name: "packages-by-url",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith("node:") || args.pluginData === "resolving") return undefined;
      const found = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: "resolving",
      });
      if (found.errors.length > 0 || !found.path) return undefined;
      return { path: pathToFileURL(found.path).href, external: true };
    });
  },
};

let file: Promise<TsWorkerFile | undefined> | undefined;

/**
 * From the sources (tsx, vitest): `ts-worker-main.ts` bundled once per process (our own code only,
 * about 0.2 s) and started as a data: URL, because a worker thread on Node 20 gets no tsx loader (tsx
 * registers its ES module hooks on the main thread only). The Lab bundle replaces this module with one
 * pointing at its built worker (src/build/bundles.ts). Undefined where neither exists (another
 * bundle): the caller then runs the tools in-process.
 */
export function tsWorkerFile(): Promise<TsWorkerFile | undefined> {
  if (!existsSync(ENTRY)) return Promise.resolve(undefined);
  // esbuild is imported only here: nothing in the Lab loads it before the agent starts.
  file ??= import("esbuild").then(async ({ build }) => {
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      write: false,
      logLevel: "silent",
      plugins: [packagesByUrl],
    });
    const code = result.outputFiles[0]?.text;
    if (code === undefined) throw new Error(`bundling the TypeScript worker (${ENTRY}) produced no output`);
    return { url: new URL(`data:text/javascript,${encodeURIComponent(code)}`) };
  });
  // A failed build is retried on the next start instead of being cached forever.
  file.catch(() => {
    file = undefined;
  });
  return file;
}
