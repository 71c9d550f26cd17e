import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

/**
 * Writes a file so readers see either the old content or the new, never half of it: the data goes to a
 * temp sibling (same directory, so the rename cannot cross filesystems), is fsynced, renamed over the
 * target, and the directory is fsynced so the rename itself survives a crash. On any failure the temp
 * file is removed and the target is untouched. The parent directory must exist.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  // Keep an existing file's permissions (an executable script stays executable).
  const keepMode = await fs.stat(file).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  );
  try {
    const handle = await fs.open(temp, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (keepMode !== undefined) await fs.chmod(temp, keepMode);
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  // Directory fsync is unsupported on some platforms/filesystems; the rename already happened, so ignore.
  const handle = await fs.open(dir, "r").catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle.close();
  }
}
