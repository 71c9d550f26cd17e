import { mkdir, open, rm, statfs } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

/**
 * A small tmpfs mounted on `dir` (root only), so the state folder can really run out of space.
 * undefined when this machine does not allow the mount (not root, no CAP_SYS_ADMIN).
 */
export async function mountSmallDisk(
  dir: string,
  bytes: number,
): Promise<{ unmount: () => Promise<void> } | undefined> {
  await mkdir(dir, { recursive: true });
  const r = await execa("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "loom-fault", dir], {
    reject: false,
  });
  if (r.exitCode !== 0) return undefined;
  return {
    unmount: async () => {
      await execa("umount", ["-l", dir], { reject: false });
    },
  };
}

/** Fills the filesystem holding `dir` to the last block; the returned function frees it again. */
export async function fillDisk(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, "filler.bin");
  const handle = await open(file, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; i < 100_000; i++) {
      const { bavail } = await statfs(dir);
      if (bavail === 0) break;
      await handle.write(chunk).catch(async () => {
        // Last partial block: write byte by byte until ENOSPC.
        for (let j = 0; j < 65_536; j++) {
          const ok = await handle.write(Buffer.alloc(1)).then(
            () => true,
            () => false,
          );
          if (!ok) break;
        }
      });
    }
  } finally {
    await handle.close().catch(() => {});
  }
  return () => rm(file, { force: true });
}
