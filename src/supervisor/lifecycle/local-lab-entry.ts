import path from "node:path";
import { freshBundle } from "../../../bin/fresh-bundle.mjs";

/**
 * The program a `local` Lab runs: the Lab bundle (`<loomRoot>/dist/lab.mjs`, from `npm run build`) when
 * it is fresh (bin/fresh-bundle.mjs); else the sources through `bin/loom.js`. The bundle starts without
 * a TypeScript loader (about a second less before the Lab answers /status); a stale one would run code
 * the checkout no longer has, so it is never used then.
 */
export function localLabEntry(loomRoot: string): string {
  return freshBundle(loomRoot, "lab") ?? path.join(loomRoot, "bin", "loom.js");
}
