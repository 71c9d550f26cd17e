import { createHash } from "node:crypto";
import { readdir, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import type { Task } from "./tasks.ts";

/** Every file under `dir` as [path relative to `base`, absolute path, is a symlink], unsorted. */
async function walk(base: string, dir: string): Promise<[string, string, boolean][]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map(async (e): Promise<[string, string, boolean][]> => {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) return walk(base, abs);
      return [[path.relative(base, abs).split(path.sep).join("/"), abs, e.isSymbolicLink()]];
    }),
  );
  return nested.flat();
}

/**
 * sha256 (hex) over what makes each task: task.json, inject.patch, repo/ and hidden/, by task name and
 * sorted path, so a stored result is reused only for the same tasks byte for byte. oracle.json is left
 * out: it is how the suite is checked, not what the agent is asked.
 */
export async function taskSetHash(tasks: readonly Task[]): Promise<string> {
  const hash = createHash("sha256");
  for (const task of [...tasks].sort((a, b) => a.name.localeCompare(b.name))) {
    const files = [
      ...(await walk(task.dir, path.join(task.dir, "repo"))),
      ...(await walk(task.dir, path.join(task.dir, "hidden"))),
      ["task.json", path.join(task.dir, "task.json"), false] as [string, string, boolean],
      ...(task.injectPatch ? [["inject.patch", task.injectPatch, false] as [string, string, boolean]] : []),
    ].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [rel, abs, link] of files) {
      const data = link ? Buffer.from(`symlink:${await readlink(abs)}`) : await readFile(abs);
      hash.update(`${task.name}/${rel}\0${data.length}\0`);
      hash.update(data);
    }
  }
  return hash.digest("hex");
}
