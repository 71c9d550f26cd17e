import { useBundledCompileCache } from "../../../lab/compile-cache.ts";

/**
 * The TypeScript tools' worker thread starts here. Built into the Lab bundle (dist/chunks/), it first
 * reads ts-morph's compiled code from the V8 cache the build recorded beside it (dist/compile-cache/,
 * src/lab/compile-cache.ts); then the thread itself (ts-worker-serve.ts) loads, ts-morph with it.
 */
useBundledCompileCache(import.meta.url);
await import("./ts-worker-serve.ts");
