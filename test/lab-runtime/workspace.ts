import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** A temp workspace with the given files (relative path → content); `remove()` deletes it. */
export async function makeWorkspace(files: Record<string, string>) {
  const root = await mkdtemp(path.join(os.tmpdir(), "loom-lab-eval-"));
  const write = async (rel: string, content: string) => {
    const abs = path.join(root, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, content);
  };
  for (const [rel, content] of Object.entries(files)) await write(rel, content);
  return { root, write, remove: () => rm(root, { recursive: true, force: true }) };
}
