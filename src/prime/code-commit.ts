import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The folder holding bin/loom.js above this module: the Loom code this process runs. */
export function loomCodeRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "bin", "loom.js"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The commit of the running code when it is a git checkout (Prime on a promoted main), else undefined. */
export function codeCommit(root = loomCodeRoot()): Promise<string | undefined> {
  if (!root) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile(
      "git",
      ["rev-parse", "--show-toplevel", "HEAD"],
      { cwd: root, timeout: 10_000 },
      (err, stdout) => {
        const [top, sha] = (stdout ?? "").trim().split("\n");
        // An installed Loom inside someone else's repository is not a checkout of Loom.
        const isRoot = !err && Boolean(top) && realpathSync(top as string) === realpathSync(root);
        resolve(!err && isRoot && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sha ?? "") ? sha : undefined);
      },
    );
  });
}
