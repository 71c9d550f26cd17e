import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RegistryError } from "./errors.ts";
import { processState } from "./pid-file.ts";

/**
 * One start at a time per registry folder (mkdir is atomic; the holder's pid is inside): two Looms
 * starting the same registry at once would otherwise both spawn, and the loser's pid file would hide
 * the winner's process from every later reap. A lock whose holder has exited is taken over.
 */
export async function withStartLock<T>(dir: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, "start.lock");
  const deadline = Date.now() + timeoutMs;
  await mkdir(dir, { recursive: true });
  for (;;) {
    const got = await mkdir(lock).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") return false;
        throw err;
      },
    );
    if (got) break;
    const holder = Number((await readFile(path.join(lock, "pid"), "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && (await processState(holder)) === "gone") {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new RegistryError(
        "REGISTRY_START_FAILED",
        `another process (${holder || "unknown"}) has been starting the registry in ${dir} for over ${Math.round(timeoutMs / 1000)}s; wait for it, or remove ${lock} if none is running`,
      );
    }
    await sleep(100);
  }
  try {
    await writeFile(path.join(lock, "pid"), String(process.pid));
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
