import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import Module from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

/**
 * A V8 code cache for the CommonJS packages a process loads — above all ts-morph's TypeScript (9 MB),
 * whose compile is a few hundred ms of every Lab's TypeScript thread. `npm run build` records it after a
 * warm-up that runs the compiler (so the functions that warm-up compiled come back compiled too) into
 * `dist/compile-cache/`, which the Lab image carries; a Lab reads it instead of compiling again. Keyed by
 * each file's content, so a changed package just compiles as before. (Node 22's module.enableCompileCache
 * keys on absolute paths, which differ between where the cache is made and the image; Node 20 has none.)
 */

/** Only packages: the cache is made for node_modules, never for the project's own changing code. */
const PACKAGE_FILE = /[\\/]node_modules[\\/].+\.c?js$/;

interface CompiledModule {
  exports: unknown;
  require(id: string): unknown;
  _compile(content: string, filename: string): unknown;
}

interface ModuleStatics {
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  _cache: Record<string, unknown>;
  _extensions: Record<string, unknown>;
  wrap(content: string): string;
}

export interface CompileCache {
  /** Files compiled from the cache / compiled anew. */
  readonly hits: number;
  readonly misses: number;
  /** Recording: writes the caches of what was compiled (with every function compiled since); the count. */
  save(): number;
}

const keyOf = (content: string) => createHash("sha256").update(content).digest("hex").slice(0, 40);

/**
 * Compiles CommonJS package files through `dir`'s cache from now on (call it before they load). With
 * `record`, also keeps each script it compiled anew so `save()` can write its cache. A cache V8 rejects
 * (another V8, other flags) is just a miss.
 */
export function useCompileCache(dir: string, options: { record?: boolean } = {}): CompileCache {
  const statics = Module as unknown as ModuleStatics;
  const proto = Module.prototype as unknown as CompiledModule;
  const original = proto._compile;
  const recorded: [string, vm.Script][] = [];
  const state = { hits: 0, misses: 0 };
  proto._compile = function compile(this: CompiledModule, content: string, filename: string) {
    if (!PACKAGE_FILE.test(filename)) return original.call(this, content, filename);
    const file = path.join(dir, `${keyOf(content)}.v8`);
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(file);
    } catch {}
    if (!cachedData && !options.record) {
      state.misses++;
      return original.call(this, content, filename);
    }
    const script = new vm.Script(statics.wrap(content), {
      filename,
      ...(cachedData ? { cachedData } : {}),
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData && !script.cachedDataRejected) state.hits++;
    else {
      state.misses++;
      if (options.record) recorded.push([file, script]);
    }
    const require = Object.assign((id: string) => this.require(id), {
      resolve: (request: string, opts?: unknown) => statics._resolveFilename(request, this, false, opts),
      cache: statics._cache,
      extensions: statics._extensions,
    });
    const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return fn.call(this.exports, this.exports, require, this, filename, path.dirname(filename));
  };
  return {
    get hits() {
      return state.hits;
    },
    get misses() {
      return state.misses;
    },
    save() {
      mkdirSync(dir, { recursive: true });
      for (const [file, script] of recorded) writeFileSync(file, script.createCachedData());
      return recorded.length;
    },
  };
}

let installed: CompileCache | undefined;

/**
 * The cache `npm run build` recorded beside a bundle's chunks (`dist/compile-cache/`, one folder up
 * from `moduleUrl`, a chunk's own URL), used from now on by this thread; undefined from the sources or
 * when there is none. Once per thread.
 */
export function useBundledCompileCache(moduleUrl: string): CompileCache | undefined {
  if (installed) return installed;
  // A module run from a data: URL (the worker from the sources) has no folder.
  if (!moduleUrl.startsWith("file:")) return undefined;
  const dir = new URL("../compile-cache/", moduleUrl);
  if (!existsSync(fileURLToPath(dir))) return undefined;
  installed = useCompileCache(fileURLToPath(dir));
  return installed;
}
