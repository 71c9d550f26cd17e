import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import { type ColumnShift, IMPORT_META_PARAM, RUN_PARAM } from "../protocol.ts";
import { checkNamedImports, namedImports } from "./links.ts";
import { isLocalSpecifier, notFound, resolveFile, SOURCE_EXTENSIONS } from "./resolve.ts";
import type { StackMapper } from "./stack.ts";
import type { TransformPort } from "./sync-transform.ts";

const PARAMS = ["exports", "require", "module", "__filename", "__dirname", IMPORT_META_PARAM, RUN_PARAM];
/** Wrapper put on line 1 of every module; its length shifts line-1 columns (the stack mapper undoes it). */
export const WRAPPER_PREFIX = `(function (${PARAMS.join(", ")}) {`;

/** `require("./x")` / `require("../x")` calls as esbuild prints them in CommonJS output. */
const LOCAL_REQUIRE = /\brequire\("(\.{1,2}\/[^"]*)"\)/g;
/** Transformed modules a worker keeps locally (the main thread's cache backs it). */
const TRANSFORMS_KEPT = 2000;

interface ModuleRecord {
  file: string;
  module: { exports: unknown; id: string; filename: string; loaded: boolean };
  /** Local modules this one required: the edges walked backwards on invalidation. */
  deps: Set<string>;
  mtimeMs: number;
  size: number;
  hash: string;
}

type RequireFn = ((spec: string) => unknown) & { resolve: (spec: string) => string };

const sha1 = (data: string | Buffer) => createHash("sha1").update(data).digest("hex");

/**
 * A small CommonJS module system over esbuild-transformed sources. Modules are cached by absolute
 * path with their content fingerprint and the local modules they required; `refresh()` drops every
 * changed module and, transitively, every module that imported it, so the next require re-runs
 * exactly those and reuses the rest. Builtins and packages go through Node's real require.
 */
export class ModuleSystem {
  private readonly records = new Map<string, ModuleRecord>();
  private readonly resolved = new Map<string, string | undefined>();
  /** Files whose transform was already started during this eval. */
  private readonly prefetched = new Set<string>();
  /** Transforms already fetched by this worker (file + hash → answer): re-running an unchanged
   *  importer then costs no round trip to the main thread. Bounded, least recently used dropped. */
  private readonly transformed = new Map<string, { code: string; map: string }>();

  constructor(
    private readonly transforms: TransformPort,
    private readonly stacks: StackMapper,
    seed: Iterable<[string, { code: string; map: string }]> = [],
  ) {
    for (const [key, entry] of seed) this.transformed.set(key, entry);
  }

  get size(): number {
    return this.records.size;
  }

  /** Drop changed modules and their importers; returns how many were dropped. Call before each eval. */
  refresh(): number {
    this.resolved.clear();
    this.prefetched.clear();
    const changed: string[] = [];
    for (const rec of this.records.values()) {
      const st = fs.statSync(rec.file, { throwIfNoEntry: false });
      if (!st) {
        changed.push(rec.file);
      } else if (st.mtimeMs !== rec.mtimeMs || st.size !== rec.size) {
        // Touched: only a different content counts as a change.
        const source = fs.readFileSync(rec.file, "utf8");
        const hash = sha1(source);
        if (hash === rec.hash) {
          rec.mtimeMs = st.mtimeMs;
        } else {
          changed.push(rec.file);
          // Overlap esbuild's work with the rest of this scan and the importers re-running first.
          if (SOURCE_EXTENSIONS.has(path.extname(rec.file)))
            this.transforms.prefetch({ file: rec.file, source, hash });
        }
      }
    }
    if (changed.length === 0) return 0;
    const importers = new Map<string, string[]>();
    for (const rec of this.records.values()) {
      for (const dep of rec.deps) {
        const list = importers.get(dep);
        if (list) list.push(rec.file);
        else importers.set(dep, [rec.file]);
      }
    }
    const stale = new Set(changed);
    const queue = [...changed];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      for (const importer of importers.get(file) ?? []) {
        if (!stale.has(importer)) {
          stale.add(importer);
          queue.push(importer);
        }
      }
    }
    for (const file of stale) {
      this.records.delete(file);
      this.stacks.delete(file);
    }
    return stale.size;
  }

  /** Compile CommonJS `code` under `file`'s name with the module wrapper's parameters. */
  compile(file: string, code: string): (...args: unknown[]) => unknown {
    return vm.runInThisContext(`${WRAPPER_PREFIX}${code}\n})`, { filename: file }) as (
      ...args: unknown[]
    ) => unknown;
  }

  /** Run the prepared form: its imports load through this module system; resolves to the form's value. */
  runForm(file: string, code: string, map: string, shifts: ColumnShift[]): Promise<unknown> {
    this.stacks.set(file, map, shifts);
    let body: (() => Promise<unknown>) | undefined;
    const module = { exports: {}, id: file, filename: file, loaded: false };
    const setRun = (fn: () => Promise<unknown>) => {
      body = fn;
    };
    this.prefetchDeps(file, code);
    const fn = this.compile(file, code);
    fn(
      module.exports,
      this.requireFor(file, undefined, namedImports(code)),
      module,
      file,
      path.dirname(file),
      importMeta(file),
      setRun,
    );
    if (!body) throw new Error("the prepared form did not register its body");
    return body();
  }

  private resolve(spec: string, fromDir: string): string | undefined {
    const key = `${fromDir}\0${spec}`;
    if (this.resolved.has(key)) return this.resolved.get(key);
    const found = resolveFile(spec, fromDir);
    this.resolved.set(key, found);
    return found;
  }

  /** `links`: the export names this module imports from each local specifier, checked as Node links them. */
  private requireFor(
    file: string,
    record: ModuleRecord | undefined,
    links: ReadonlyMap<string, ReadonlySet<string>>,
  ): RequireFn {
    const nodeRequire = createRequire(file);
    const dir = path.dirname(file);
    const resolveLocal = (spec: string): string => {
      const target = this.resolve(spec.startsWith("file:") ? fileURLToPath(spec) : spec, dir);
      if (!target) throw notFound(spec, file);
      return target;
    };
    const isLocal = (spec: string) => isLocalSpecifier(spec) || spec.startsWith("file:");
    const req = ((spec: string) => {
      if (typeof spec !== "string") throw new TypeError(`require() expects a string, got ${typeof spec}`);
      if (isBuiltin(spec) || !isLocal(spec)) return nodeRequire(spec);
      const target = resolveLocal(spec);
      record?.deps.add(target);
      const exports = this.load(target, nodeRequire);
      // A module still running (an import cycle) may not have all its names yet: as in Node, no check.
      if (this.records.get(target)?.module.loaded !== false) {
        checkNamedImports(spec, target, exports, links.get(spec));
      }
      return exports;
    }) as RequireFn;
    req.resolve = (spec: string) =>
      isBuiltin(spec) || !isLocal(spec) ? nodeRequire.resolve(spec) : resolveLocal(spec);
    return req;
  }

  /**
   * Start transforming the local modules `code` will require and that are not cached yet, so a cold
   * load runs esbuild on many files at once instead of one round trip per module in import order.
   */
  private prefetchDeps(file: string, code: string): void {
    const dir = path.dirname(file);
    for (const match of code.matchAll(LOCAL_REQUIRE)) {
      const target = match[1] === undefined ? undefined : this.resolve(match[1], dir);
      if (!target || this.records.has(target) || this.prefetched.has(target)) continue;
      if (!SOURCE_EXTENSIONS.has(path.extname(target))) continue;
      this.prefetched.add(target);
      let source: string;
      try {
        source = fs.readFileSync(target, "utf8");
      } catch {
        continue; // Only a head start: the require itself reports an unreadable file.
      }
      const hash = sha1(source);
      if (!this.transformed.has(`${target}\0${hash}`))
        this.transforms.prefetch({ file: target, source, hash });
    }
  }

  private transformCached(file: string, source: string, hash: string): { code: string; map: string } {
    const key = `${file}\0${hash}`;
    const hit = this.transformed.get(key);
    if (hit) {
      this.transformed.delete(key);
      this.transformed.set(key, hit);
      return hit;
    }
    const answer = this.transforms.call({ file, source, hash });
    if (!answer.ok) {
      const err = new SyntaxError(`cannot compile ${file}:\n${answer.error}`);
      err.stack = err.message;
      throw err;
    }
    const entry = { code: answer.code, map: answer.map };
    this.transformed.set(key, entry);
    if (this.transformed.size > TRANSFORMS_KEPT) {
      const oldest = this.transformed.keys().next().value;
      if (oldest !== undefined) this.transformed.delete(oldest);
    }
    return entry;
  }

  private load(file: string, nodeRequire: NodeJS.Require): unknown {
    const cached = this.records.get(file);
    if (cached) return cached.module.exports;
    const ext = path.extname(file);
    if (!SOURCE_EXTENSIONS.has(ext) && ext !== ".json") return nodeRequire(file);
    // Stat before reading: a write in between then shows up as a change on the next refresh.
    const st = fs.statSync(file);
    const source = fs.readFileSync(file, "utf8");
    const record: ModuleRecord = {
      file,
      module: { exports: {}, id: file, filename: file, loaded: false },
      deps: new Set(),
      mtimeMs: st.mtimeMs,
      size: st.size,
      hash: sha1(source),
    };
    if (ext === ".json") {
      record.module.exports = JSON.parse(source);
      this.records.set(file, record);
      return record.module.exports;
    }
    const answer = this.transformCached(file, source, record.hash);
    this.prefetchDeps(file, answer.code);
    const fn = this.compile(file, answer.code);
    // Registered before running so import cycles see the partial exports, as in Node.
    this.records.set(file, record);
    this.stacks.set(file, answer.map);
    const { module } = record;
    try {
      fn.call(
        module.exports,
        module.exports,
        this.requireFor(file, record, namedImports(answer.code)),
        module,
        file,
        path.dirname(file),
        importMeta(file),
      );
    } catch (err) {
      this.records.delete(file);
      throw err;
    }
    module.loaded = true;
    return module.exports;
  }
}

function importMeta(file: string) {
  const url = pathToFileURL(file).href;
  return {
    url,
    filename: file,
    dirname: path.dirname(file),
    resolve: (spec: string) => new URL(spec, url).href,
  };
}
