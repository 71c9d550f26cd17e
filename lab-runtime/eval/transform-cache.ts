import path from "node:path";
import type { Loader, TransformOptions } from "esbuild";
import { IMPORT_META_PARAM } from "./protocol.ts";

/** One module turned into CommonJS JavaScript, with its source map back to the original text. */
export interface TransformedModule {
  code: string;
  map: string;
}

interface EsbuildLocation {
  file: string;
  line: number;
  column: number;
}

const LOADERS: Record<string, Loader> = {
  ".ts": "ts",
  ".mts": "ts",
  ".cts": "ts",
  ".tsx": "tsx",
  ".js": "js",
  ".mjs": "js",
  ".cjs": "js",
  ".jsx": "jsx",
};

export function loaderFor(file: string): Loader | undefined {
  return LOADERS[path.extname(file)];
}

const BASE_OPTIONS: TransformOptions = {
  format: "cjs",
  platform: "node",
  target: "node20",
  sourcemap: "external",
  sourcesContent: false,
  logLevel: "silent",
  define: { "import.meta": IMPORT_META_PARAM },
  // CJS output must not keep `import()`: the worker's module system serves it through its own require.
  supported: { "dynamic-import": false },
};

/** Why esbuild refused a module, as `file:line:col: text` lines. */
export function describeEsbuildFailure(
  err: unknown,
  where: (loc: EsbuildLocation) => string = (loc) => `${loc.file}:${loc.line}:${loc.column + 1}`,
): string {
  const errors = (err as { errors?: { text: string; location?: EsbuildLocation | null }[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return err instanceof Error ? err.message : String(err);
  return errors
    .slice(0, 5)
    .map((e) => (e.location ? `${where(e.location)}: ${e.text}` : e.text))
    .join("\n");
}

/**
 * esbuild `transform` (never bundle) per module, cached by file + content hash so an unchanged module
 * is never transformed twice — across worker respawns too, since the cache lives on the main thread.
 */
export class TransformCache {
  private readonly entries = new Map<string, TransformedModule>();
  private readonly inflight = new Map<string, Promise<TransformedModule>>();
  /** Cache key of each file's latest transform, most recent last: what a fresh worker is seeded with. */
  private readonly latest = new Map<string, string>();

  constructor(private readonly maxEntries = 4000) {}

  get size(): number {
    return this.entries.size;
  }

  /** Transform `source` of `file` (hash = its content hash), or return the cached result. */
  transform(file: string, source: string, hash: string, loader?: Loader): Promise<TransformedModule> {
    const key = `${file}\0${hash}`;
    this.latest.delete(file);
    this.latest.set(file, key);
    if (this.latest.size > this.maxEntries) {
      const oldest = this.latest.keys().next().value;
      if (oldest !== undefined) this.latest.delete(oldest);
    }
    return this.cached(key, async () => {
      // Loaded on the first transform, not with the Lab's server: its import would delay the first /status.
      const { transform } = await import("esbuild");
      const result = await transform(source, {
        ...BASE_OPTIONS,
        loader: loader ?? loaderFor(file) ?? "ts",
        sourcefile: file,
      });
      return { code: result.code, map: result.map };
    });
  }

  /**
   * The latest transform of up to `max` recently served files, keyed as the worker keys them: a
   * replacement worker starts with these, so re-running every module costs no round trip each.
   */
  seed(max: number): [string, TransformedModule][] {
    const out: [string, TransformedModule][] = [];
    for (const key of [...this.latest.values()].slice(-max)) {
      const entry = this.entries.get(key);
      if (entry) out.push([key, entry]);
    }
    return out;
  }

  /** The cached entry under `key`, produced once by `produce` on a miss (concurrent callers share it). */
  async cached(key: string, produce: () => Promise<TransformedModule>): Promise<TransformedModule> {
    const hit = this.entries.get(key);
    if (hit) {
      // Re-insert: Map order doubles as least-recently-used order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = produce().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const entry = await pending;
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return entry;
  }
}
