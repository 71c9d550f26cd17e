import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The Loom installation this process runs: the nearest folder above this module holding bin/loom.js
 * (sources run from src/, a bundle from dist/), or undefined when there is none.
 */
export function loomRoot(from: string = fileURLToPath(import.meta.url)): string | undefined {
  let dir = path.dirname(from);
  for (;;) {
    if (existsSync(path.join(dir, "bin", "loom.js"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
