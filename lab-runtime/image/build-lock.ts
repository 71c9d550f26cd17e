import { promises as fs } from "node:fs";
import path from "node:path";
import { LoomError } from "../../src/shared/errors.ts";

export interface LockOptions {
  /** Give up after this long waiting for another build. */
  timeoutMs: number;
  pollMs?: number;
  log: (line: string) => void;
}

/**
 * Runs `work` while holding `lockDir` (mkdir is atomic; the holder's pid is written inside). Builds share
 * one stage path because docker's layer cache keys COPY on the source paths too; this keeps two builds
 * from writing it at once. A lock left by a process that no longer exists is taken over.
 */
export async function withBuildLock<T>(
  lockDir: string,
  opts: LockOptions,
  work: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const pidFile = path.join(lockDir, "pid");
  let announced = false;
  await fs.mkdir(path.dirname(lockDir), { recursive: true });
  for (;;) {
    const got = await fs.mkdir(lockDir).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") return false;
        throw err;
      },
    );
    if (got) break;
    const holder = Number((await fs.readFile(pidFile, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
      opts.log(`taking over the image build lock left by process ${holder}, which has exited`);
      await fs.rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new LoomError(
        "IMAGE_BUILD_LOCKED",
        `another image build (process ${holder || "unknown"}) has held ${lockDir} for over ${Math.round(opts.timeoutMs / 1000)}s; wait for it, or delete that directory if no build is running`,
      );
    }
    if (!announced) opts.log(`waiting for another image build (process ${holder || "starting"}) to finish`);
    announced = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
  try {
    await fs.writeFile(pidFile, String(process.pid));
    return await work();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
