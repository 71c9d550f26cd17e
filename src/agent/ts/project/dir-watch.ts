import { type FSWatcher, statfsSync, statSync, watch } from "node:fs";
import path from "node:path";

/**
 * Which folders saw a file-system event since the last look, so a sync of the workspace Project stats
 * the files of those folders only, not all of them. Linux only: inotify reports every change made
 * through the kernel, by any process, to a watch on the file's folder. Elsewhere (macOS delivers
 * FSEvents late) and on network or FUSE file systems (changes made by other machines raise no event)
 * there is no watch, or the folder is "blind" and checked on every look.
 */

/** statfs magic numbers of local file systems, whose every change inotify sees. */
const LOCAL_FS = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs (containers)
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
]);

/**
 * The kernel queues 16384 events by default and silently drops the rest (libuv does not report the
 * overflow). A burst this size since the last look is treated as a possible loss: check everything.
 */
const FLOOD = 4096;

/** Events seen by every watch of this process: they share one kernel queue. */
let events = 0;

export interface DirWatch {
  /** Watches exactly these folders; the newly watched ones count as changed (their past is unseen). */
  set(dirs: Iterable<string>): void;
  /**
   * Folders to check: those with events since the last call and those that cannot be watched. null:
   * events may have been lost, check everything.
   */
  take(): Set<string> | null;
  close(): void;
}

function isDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function isLocal(dir: string): boolean {
  try {
    return LOCAL_FS.has(Number(statfsSync(dir).type));
  } catch {
    return false;
  }
}

/** A watch, or null where events cannot be trusted to arrive before the next look (not Linux). */
export function createDirWatch(): DirWatch | null {
  if (process.platform !== "linux") return null;
  const watched = new Map<string, FSWatcher>();
  const blind = new Set<string>();
  /** Folders whose watch may have died: the folder itself was deleted, moved or replaced. */
  const suspect = new Set<string>();
  let dirty = new Set<string>();
  let seen = events;

  const unwatch = (dir: string): void => {
    watched.get(dir)?.close();
    watched.delete(dir);
    suspect.delete(dir);
  };
  const open = (dir: string): void => {
    unwatch(dir);
    blind.delete(dir);
    dirty.add(dir);
    if (!isDir(dir) || !isLocal(dir)) {
      blind.add(dir);
      return;
    }
    const base = path.basename(dir);
    try {
      // Not persistent: an idle watch must not keep the process alive.
      const watcher = watch(dir, { persistent: false }, (type, name) => {
        events++;
        dirty.add(dir);
        // An event about the folder itself carries its own name. A watch follows the inode, so once
        // the folder is deleted or moved away it is dead or watching elsewhere: a child of the same
        // name is rare, and a needless new watch costs nothing.
        if (type === "rename" && (name === null || name === base)) suspect.add(dir);
      });
      watcher.on("error", () => {
        unwatch(dir);
        blind.add(dir);
      });
      watched.set(dir, watcher);
    } catch {
      // Out of inotify watches (ENOSPC) and the like: this folder is checked on every look instead.
      blind.add(dir);
    }
  };

  return {
    set(dirs) {
      const wanted = new Set(dirs);
      for (const dir of [...watched.keys()]) if (!wanted.has(dir)) unwatch(dir);
      for (const dir of [...blind]) if (!wanted.has(dir)) blind.delete(dir);
      for (const dir of [...dirty]) if (!wanted.has(dir)) dirty.delete(dir);
      // Blind folders are tried again: one missing a moment ago may exist now.
      for (const dir of wanted) if (!watched.has(dir)) open(dir);
    },
    take() {
      const flood = events - seen >= FLOOD;
      seen = events;
      const out = dirty;
      dirty = new Set();
      // Watched anew (or blind while missing); checked now and, being newly watched, on the next look.
      for (const dir of [...suspect]) open(dir);
      for (const dir of blind) out.add(dir);
      return flood ? null : out;
    },
    close() {
      for (const dir of [...watched.keys()]) unwatch(dir);
      blind.clear();
      dirty.clear();
      suspect.clear();
    },
  };
}

/**
 * Lets the event loop read the kernel's queue: two turns, because code resumed in the poll phase would
 * otherwise reach the check phase without another read, missing events of a write it just made.
 */
export function settleEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
