import { symlink } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

/** This checkout: the Loom whose main a clone copies and whose installed packages it reuses. */
export const LOOM_ROOT = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");

/**
 * A clone of this repository's main (what is committed, not the work tree) at `into`, with this
 * checkout's node_modules linked in, as a Supervisor finds a repo it was pointed at: the Labs and
 * verification steps reuse those packages (the lockfile is main's), so nothing is installed. The link
 * is not a folder, so `.gitignore`'s `node_modules/` does not keep it out: stage files by name, never `-A`.
 */
export async function cloneLoom(into: string): Promise<string> {
  // No hard links: the clone's objects are its own, whatever this checkout's gc does meanwhile.
  await execa("git", ["clone", "-q", "--no-hardlinks", "-b", "main", LOOM_ROOT, into], { stdin: "ignore" });
  await symlink(path.join(LOOM_ROOT, "node_modules"), path.join(into, "node_modules"), "dir");
  return into;
}
