import { promises as fs } from "node:fs";
import path from "node:path";
import { LoomError } from "../../src/shared/errors.ts";
import { run } from "./run.ts";

/**
 * Removes a debootstrap target directory. debootstrap mounts /proc, /sys (and sometimes binds /dev) inside
 * the target while it works; if it was killed those mounts stay, and a recursive delete would walk into the
 * host's /dev. So: unmount anything still mounted below the target first, and refuse to delete if that fails.
 */
export async function removeRootfs(dir: string): Promise<void> {
  const root = path.resolve(dir);
  for (const mount of (await mountsUnder(root)).reverse()) {
    await run("umount", ["--lazy", mount]).catch(() => undefined);
  }
  const left = await mountsUnder(root);
  if (left.length > 0) {
    throw new LoomError(
      "ROOTFS_BUSY",
      `not deleting ${root}: still mounted below it: ${left.join(", ")}; unmount these (umount -l <path>) and delete it by hand`,
    );
  }
  await fs.rm(root, { recursive: true, force: true });
}

async function mountsUnder(root: string): Promise<string[]> {
  const table = await fs.readFile("/proc/self/mounts", "utf8").catch(() => "");
  return table
    .split("\n")
    .map((line) => line.split(" ")[1])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\040/g, " "))
    .filter((p) => p === root || p.startsWith(`${root}/`))
    .sort();
}
