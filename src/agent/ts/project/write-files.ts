import { randomBytes } from "node:crypto";
import { closeSync, promises as fs, fsync, openSync, writeFileSync } from "node:fs";
import path from "node:path";
import { errorMessage } from "../../../shared/errors.ts";

/**
 * All-or-nothing writes of a set of files: each file is written to a temp sibling, fsynced and renamed
 * over the original (atomic per file); if any step fails, files already replaced get their old text
 * back and temp files are removed, so an edit never leaves half a rename on disk.
 */

/** The file operations used, injectable so tests can make the n-th write fail for real. */
export interface WriteIo {
  writeFile(file: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
}

export const nodeIo: WriteIo = {
  // Opened and written at once (into the page cache: microseconds); only the fsync waits for the disk,
  // in the thread pool, so a caller that starts the writes and goes on computing overlaps with it.
  async writeFile(file, data) {
    const fd = openSync(file, "w");
    try {
      writeFileSync(fd, data, "utf8");
      await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
    } finally {
      closeSync(fd);
    }
  },
  rename: (from, to) => fs.rename(from, to),
  unlink: (file) => fs.unlink(file),
};

export interface FileWrite {
  readonly file: string;
  readonly before: string;
  readonly after: string;
}

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.loom-${randomBytes(4).toString("hex")}.tmp`);
}

export async function writeFilesAtomically(
  writes: readonly FileWrite[],
  io: WriteIo = nodeIo,
): Promise<void> {
  const temps: string[] = [];
  const replaced: FileWrite[] = [];
  try {
    // Phase 1: every new text on disk next to its target; nothing visible has changed yet.
    // Written concurrently: a rename touching 100 files should not wait for 100 sequential fsyncs.
    for (const w of writes) temps.push(tempName(w.file));
    const results = await Promise.allSettled(writes.map((w, i) => io.writeFile(temps[i]!, w.after)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    // Phase 2: the renames, each atomic.
    for (const [i, w] of writes.entries()) {
      await io.rename(temps[i]!, w.file);
      replaced.push(w);
    }
  } catch (err) {
    for (const tmp of temps.slice(replaced.length)) await io.unlink(tmp).catch(() => {});
    const failedRestores: string[] = [];
    for (const w of replaced.reverse()) {
      const tmp = tempName(w.file);
      try {
        await io.writeFile(tmp, w.before);
        await io.rename(tmp, w.file);
      } catch {
        await io.unlink(tmp).catch(() => {});
        failedRestores.push(w.file);
      }
    }
    const why = errorMessage(err);
    const extra = failedRestores.length ? `; could NOT restore ${failedRestores.join(", ")}` : "";
    throw new Error(`writing the edited files failed (${why}); no file was changed${extra}`, { cause: err });
  }
}
