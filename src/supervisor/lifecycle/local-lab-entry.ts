import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** esbuild's metafile, as far as the freshness check reads it. */
interface Metafile {
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
}

/** The eval worker is built separately and embedded as text, so the metafile does not list its sources. */
const EMBEDDED_SOURCES = path.join("lab-runtime", "eval", "worker");

const mtimeOf = (file: string): number | undefined => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

/**
 * The program a `local` Lab runs: the Lab bundle (`<loomRoot>/dist/lab.mjs`, from `npm run build`) when
 * every output it may load exists and no source it was built from is newer than it; else the sources
 * through `bin/loom.js`. The bundle starts without a TypeScript loader (about a second less before the
 * Lab answers /status); a stale one would run code the checkout no longer has, so it is never used then.
 */
export function localLabEntry(loomRoot: string): string {
  const sources = path.join(loomRoot, "bin", "loom.js");
  const bundle = path.join(loomRoot, "dist", "lab.mjs");
  const built = mtimeOf(bundle);
  if (built === undefined) return sources;
  let meta: Metafile;
  try {
    meta = JSON.parse(readFileSync(path.join(loomRoot, "dist", "lab.meta.json"), "utf8")) as Metafile;
  } catch {
    return sources;
  }
  const inputs = Object.keys(meta.inputs ?? {});
  const outputs = Object.keys(meta.outputs ?? {}).filter((f) => f.endsWith(".mjs"));
  if (inputs.length === 0 || outputs.length === 0) return sources;
  // Metafile paths are relative to the checkout (the build's working directory).
  for (const output of outputs) {
    if (mtimeOf(path.join(loomRoot, output)) === undefined) return sources;
  }
  let embedded: string[];
  try {
    embedded = readdirSync(path.join(loomRoot, EMBEDDED_SOURCES)).map((f) => path.join(EMBEDDED_SOURCES, f));
  } catch {
    embedded = [];
  }
  for (const input of [...inputs, ...embedded]) {
    // Packages are not bundled (they load from node_modules at run time); a synthetic input has no file.
    if (input.includes("node_modules/") || input.includes(":")) continue;
    const changed = mtimeOf(path.join(loomRoot, input));
    if (changed === undefined || changed > built) return sources;
  }
  return bundle;
}
