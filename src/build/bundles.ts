import { mkdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildFailure, build, type Message, type Metafile, type Plugin } from "esbuild";
import { workerSource } from "../../lab-runtime/eval/worker-source.ts";
import { LoomError } from "../shared/errors.ts";

/** Repository root: entries and metafile input paths are relative to it. */
export const LOOM_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** One process bundle: `entry` (absolute path) becomes `<outdir>/<name>.mjs`. */
export interface BundleSpec {
  readonly name: string;
  readonly entry: string;
  /** Entry of the TypeScript tools' worker thread, built beside the chunks as `chunks/<name>-ts-worker.mjs`. */
  readonly tsWorker?: string;
}

/** The processes Loom runs as: the Lab (inside a container), the Supervisor and the Prime agent. */
export const BUNDLES: readonly BundleSpec[] = ["lab", "supervisor", "prime"].map((name) => ({
  name,
  entry: join(LOOM_ROOT, "src", "entries", `${name}.ts`),
  // `loom lab` runs its ts_* tools in a worker thread (src/lab/run-lab.ts): the Lab's bundle, and the
  // full CLI's (bin/loom.js runs it when fresh), carry that thread's entry; Prime runs them in-process.
  ...(name !== "prime"
    ? { tsWorker: join(LOOM_ROOT, "src", "agent", "ts", "worker", "ts-worker-main.ts") }
    : {}),
}));

export interface BuiltBundle {
  readonly name: string;
  /** Absolute path of the bundle (`.mjs`; its source map sits next to it as `.mjs.map`). */
  readonly file: string;
  /** Absolute path of the esbuild metafile written next to it (`<name>.meta.json`). */
  readonly metafileFile: string;
  readonly metafile: Metafile;
  readonly bytes: number;
  readonly ms: number;
  readonly warnings: readonly string[];
}

export interface BuildOptions {
  /** Directory the bundles are written to (created if missing). */
  readonly outdir: string;
  /** Which bundles to build; default all of BUNDLES. */
  readonly bundles?: readonly BundleSpec[];
  /** Directory metafile paths are relative to; default the repository root. */
  readonly workingDir?: string;
  /**
   * The eval worker's code to embed (default: this checkout's, `workerSource()`): a build of another
   * tree of Loom (bench-agent's agent at a ref) passes that tree's own.
   */
  readonly evalWorker?: string;
}

const WORKER_SOURCE_MODULE = /[\\/]lab-runtime[\\/]eval[\\/]worker-source\.ts$/;

/**
 * The eval engine bundles its worker thread at run time from `worker/main.ts` next to its own file,
 * which a bundle in `dist/` does not have. Build that code now, with the engine's own function, and
 * put it in the bundle as a string in place of `worker-source.ts`.
 */
function embedEvalWorker(code: string): Plugin {
  return {
    name: "embed-eval-worker",
    setup(b) {
      b.onLoad({ filter: WORKER_SOURCE_MODULE }, () => ({
        contents: `const source = ${JSON.stringify(code)};\nexport function workerSource() { return Promise.resolve(source); }\n`,
        loader: "js",
      }));
    },
  };
}

const TS_WORKER_FILE_MODULE = /[\\/]src[\\/]agent[\\/]ts[\\/]worker[\\/]worker-file\.ts$/;

/**
 * From the sources, the TypeScript worker is bundled at run time (`worker-file.ts`); a bundle has its
 * worker built already. Put a module pointing at that file in place of `worker-file.ts`. Every output
 * sits in the bundle's folder or in its `chunks/` folder (chunkNames below), and so does the worker.
 */
function locateTsWorker(name: string): Plugin {
  const contents = [
    'const here = new URL(".", import.meta.url);',
    'const chunks = here.href.endsWith("/chunks/") ? here : new URL("chunks/", here);',
    `const url = new URL(${JSON.stringify(`${name}-ts-worker.mjs`)}, chunks);`,
    "export function tsWorkerFile() { return Promise.resolve({ url }); }",
    "",
  ].join("\n");
  return {
    name: "locate-ts-worker",
    setup(b) {
      b.onLoad({ filter: TS_WORKER_FILE_MODULE }, () => ({ contents, loader: "js" }));
    },
  };
}

/**
 * Packages bundled into Loom's own code instead of loaded from node_modules: the ones every process
 * loads before it can answer. Loaded from node_modules, zod's ESM is dozens of files to resolve and
 * read before a Lab's first /status. (commander is CommonJS, whose `require`s of node's modules an ESM
 * bundle cannot make; it is two files from node_modules.)
 */
export const INLINED_PACKAGES: readonly string[] = ["zod"];

/** The package a bare import names (`zod/v4/core` → `zod`, `@scope/pkg/x` → `@scope/pkg`). */
export function packageOf(specifier: string): string | undefined {
  if (/^(\.|\/|node:|[A-Za-z]:[\\/])/.test(specifier)) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/**
 * Every package external (the image ships node_modules next to the bundle) but INLINED_PACKAGES:
 * what esbuild's `packages: "external"` does, with those few exceptions.
 */
function externalPackages(inlined: readonly string[]): Plugin {
  return {
    name: "external-packages",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const pkg = packageOf(args.path);
        if (pkg === undefined || inlined.includes(pkg)) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

function formatMessages(messages: readonly Message[]): string[] {
  return messages.map((m) => {
    const at = m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : "";
    return `${at}${m.text}`;
  });
}

function isBuildFailure(err: unknown): err is BuildFailure {
  return err instanceof Error && Array.isArray((err as Partial<BuildFailure>).errors);
}

async function buildOne(
  spec: BundleSpec,
  outdir: string,
  workingDir: string,
  evalWorker: Plugin,
): Promise<BuiltBundle> {
  if (!(await stat(spec.entry).catch(() => undefined))?.isFile()) {
    throw new LoomError("BUILD_ENTRY_MISSING", `bundle "${spec.name}": entry ${spec.entry} is not a file`);
  }
  const file = join(outdir, `${spec.name}.mjs`);
  const started = performance.now();
  let result: Awaited<ReturnType<typeof build<{ metafile: true }>>>;
  try {
    result = await build({
      entryPoints: [
        { in: spec.entry, out: spec.name },
        ...(spec.tsWorker ? [{ in: spec.tsWorker, out: `chunks/${spec.name}-ts-worker` }] : []),
      ],
      outdir,
      outExtension: { ".js": ".mjs" },
      // Code splitting keeps each lazily imported part (and the packages it imports, such as ts-morph)
      // out of start-up: a Lab answers /status before it has loaded the agent.
      splitting: true,
      chunkNames: `chunks/${spec.name}-[name]-[hash]`,
      absWorkingDir: workingDir,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      sourcemap: true,
      // The image ships node_modules next to the bundle; Loom's own code (and INLINED_PACKAGES) is
      // bundled, so nothing is read from src/ (which the Lab's agent edits) at run time.
      metafile: true,
      logLevel: "silent",
      plugins: [
        externalPackages(INLINED_PACKAGES),
        evalWorker,
        ...(spec.tsWorker ? [locateTsWorker(spec.name)] : []),
      ],
    });
  } catch (err) {
    const detail = isBuildFailure(err) ? formatMessages(err.errors).join("\n  ") : String(err);
    throw new LoomError("BUILD_FAILED", `bundle "${spec.name}" (${spec.entry}) failed:\n  ${detail}`, {
      cause: err,
    });
  }
  const ms = performance.now() - started;
  const metafileFile = join(outdir, `${spec.name}.meta.json`);
  await writeFile(metafileFile, `${JSON.stringify(result.metafile, null, 2)}\n`);
  // The entry and every chunk it may load (maps excluded): what a Lab image has to carry.
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([path]) => !path.endsWith(".map"))
    .reduce((sum, [, output]) => sum + output.bytes, 0);
  return {
    name: spec.name,
    file,
    metafileFile,
    metafile: result.metafile,
    bytes,
    ms,
    warnings: formatMessages(result.warnings),
  };
}

/** Bundles each process entry with esbuild into `outdir`, writing `<name>.mjs`, its map and `<name>.meta.json`. */
export async function buildBundles(options: BuildOptions): Promise<BuiltBundle[]> {
  const specs = options.bundles ?? BUNDLES;
  const names = specs.map((s) => s.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new LoomError(
      "BUILD_DUPLICATE_NAME",
      `two bundles are named "${duplicate}"; each name must be unique`,
    );
  }
  const bad = names.find((n) => !/^[a-z0-9][a-z0-9-]*$/.test(n));
  if (bad !== undefined) {
    throw new LoomError(
      "BUILD_BAD_NAME",
      `bundle name ${JSON.stringify(bad)} is not accepted; use lowercase letters, digits and "-"`,
    );
  }
  const outdir = resolve(options.outdir);
  await mkdir(outdir, { recursive: true });
  const plugin = embedEvalWorker(options.evalWorker ?? (await workerSource()));
  return Promise.all(specs.map((spec) => buildOne(spec, outdir, options.workingDir ?? LOOM_ROOT, plugin)));
}
