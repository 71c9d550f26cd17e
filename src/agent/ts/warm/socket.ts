import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, realpathSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LoomError } from "../../../shared/errors.ts";

/**
 * Where `loom tool`'s warm TypeScript server for a workspace listens: one unix socket per workspace, in
 * a folder only this user can enter. Each call carries a stamp of the tools' code; a server started
 * from other code (Loom edits its own tools) refuses the call and exits, and a fresh one takes over,
 * so no call is ever served by old code.
 */

/** Lines of the protocol: one request, one answer, per connection. */
export type WarmRequest =
  | { readonly tool: string; readonly input: unknown; readonly code: string }
  | { readonly status: true }
  | { readonly stop: true };

export interface WarmStatus {
  readonly pid: number;
  readonly workspace: string;
  readonly calls: number;
  readonly projectsBuilt: number;
  readonly idleMs: number;
}

export type WarmAnswer =
  | { readonly result: { content: string; details?: unknown; isError?: boolean } }
  | { readonly status: WarmStatus }
  | { readonly stopped: true }
  /** The server runs other code than the caller: it exits without running the call. */
  | { readonly stale: true }
  | { readonly error: { readonly code: string; readonly message: string } };

/** Largest request or answer line accepted (a whole file's text fits many times over). */
export const MAX_LINE_BYTES = 64 * 2 ** 20;

/** The private folder holding the sockets; refused if someone else could write into it. */
export function socketDir(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const dir = path.join(os.tmpdir(), `loom-ts-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new LoomError(
      "WARM_SOCKET_DIR_UNSAFE",
      `${dir} is not a private folder of this user (mode ${(st.mode & 0o777).toString(8)}): remove it, or pass --no-warm`,
    );
  }
  return dir;
}

/** Size and mtime of each file in the folders, in name order (recursive where asked). */
function stampFolders(hash: ReturnType<typeof createHash>, folders: readonly [string, boolean][]): void {
  const stack = [...folders].reverse();
  let seen = 0;
  while (stack.length > 0 && seen < 2000) {
    const [dir, recursive] = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        const st = statSync(file);
        if (st.isDirectory()) {
          if (recursive && !name.startsWith(".")) stack.push([file, true]);
        } else {
          seen++;
          hash.update(`${file}\0${st.size}\0${st.mtimeMs}\0`);
        }
      } catch {}
    }
  }
}

/**
 * What identifies the code a server runs: Node, and the size and mtime of the TypeScript tools' files
 * and the registry beside them (from the sources: src/agent/ts/** and src/agent/*; from a bundle: its folder).
 */
export function codeStamp(): string {
  const here = fileURLToPath(import.meta.url);
  const dir = path.dirname(here);
  const hash = createHash("sha256").update(`${process.execPath}\0${process.version}\0`);
  stampFolders(
    hash,
    here.endsWith(".ts")
      ? [
          [dir, true],
          [path.dirname(dir), false],
        ]
      : [[dir, false]],
  );
  return hash.digest("hex");
}

/** The socket of the warm server for `workspace` (resolved through symlinks, so aliases share one). */
export function socketPathFor(workspace: string): string {
  const real = realpathSync(path.resolve(workspace));
  const key = createHash("sha256").update(real).digest("hex").slice(0, 20);
  return path.join(socketDir(), `${key}.sock`);
}
