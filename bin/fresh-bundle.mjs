// Whether a built bundle in dist/ may run instead of the TypeScript sources. Plain JavaScript: bin/loom.js
// asks before any TypeScript loader is registered. Typed by fresh-bundle.d.mts.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** The eval worker is built separately and embedded as text, so a metafile does not list its sources. */
const EMBEDDED_SOURCES = path.join("lab-runtime", "eval", "worker");

/** @param {string} file */
const mtimeOf = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

/**
 * `<root>/dist/<name>.mjs` (from `npm run build`) when every output it may load exists and no source it
 * was built from is newer than it, nor the lockfile (packages it bundles); else undefined: a stale bundle
 * would run code the checkout no longer has, so it is never used then. Metafile paths are relative to
 * the checkout (the build's working directory). Packages it loads from node_modules are not checked:
 * npm gives their files fixed old times.
 *
 * @param {string} root the Loom checkout
 * @param {string} name the bundle: "lab", "supervisor" or "prime"
 * @returns {string | undefined}
 */
export function freshBundle(root, name) {
  const bundle = path.join(root, "dist", `${name}.mjs`);
  const built = mtimeOf(bundle);
  if (built === undefined) return undefined;
  /** @type {{ inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }} */
  let meta;
  try {
    meta = JSON.parse(readFileSync(path.join(root, "dist", `${name}.meta.json`), "utf8"));
  } catch {
    return undefined;
  }
  const inputs = Object.keys(meta.inputs ?? {});
  const outputs = Object.keys(meta.outputs ?? {}).filter((f) => f.endsWith(".mjs"));
  if (inputs.length === 0 || outputs.length === 0) return undefined;
  for (const output of outputs) {
    if (mtimeOf(path.join(root, output)) === undefined) return undefined;
  }
  /** @type {string[]} */
  let embedded;
  try {
    embedded = readdirSync(path.join(root, EMBEDDED_SOURCES)).map((f) => path.join(EMBEDDED_SOURCES, f));
  } catch {
    embedded = [];
  }
  const lock = mtimeOf(path.join(root, "package-lock.json"));
  if (lock !== undefined && lock > built) return undefined;
  for (const input of [...inputs, ...embedded]) {
    // A synthetic input (esbuild's "<runtime>", a plugin's namespace) has no file.
    if (input.includes("node_modules/") || input.includes(":")) continue;
    const changed = mtimeOf(path.join(root, input));
    if (changed === undefined || changed > built) return undefined;
  }
  return bundle;
}
