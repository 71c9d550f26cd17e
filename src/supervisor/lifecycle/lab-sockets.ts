import { chmod, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import { LoomError } from "../../shared/errors.ts";
import { STANDBY_SOCKET } from "../../shared/lab-claim.ts";

/**
 * A Lab runs without network; the model proxy and the Lab's own server meet the Supervisor through
 * unix sockets in one folder per generation, mounted into the Lab (at LAB_SOCKET_DIR in a container,
 * at its host path under `local`). The folder lives under the OS temp dir, not the state dir: a
 * socket path is limited to about 104 bytes, and a state dir can be deep.
 *
 * `<tmp>/loom-<n>-XXXXXX/` is private to the Supervisor's user (0700); inside it `s/` is 0777, as the
 * image's user (not the Supervisor's) creates the Lab's socket there, and is what the Lab sees.
 */

/** Where a container Lab sees its socket folder. */
export const LAB_SOCKET_DIR = "/run/loom";
export const MODEL_SOCKET = "model.sock";
export const LAB_SOCKET = "lab.sock";
export const SECRETS_FILE = "secrets.json";
/** sun_path is 108 bytes on Linux, 104 on macOS, NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;

export class LabSocketsError extends LoomError {
  constructor(message: string) {
    super("LAB_SOCKETS", message);
  }
}

export interface LabSockets {
  /** Host path of the folder the Lab sees. */
  readonly dir: string;
  readonly modelSocket: string;
  readonly labSocket: string;
  readonly secretsFile: string;
  /** Removes the folder and everything in it; idempotent. */
  remove(): Promise<void>;
}

export async function makeLabSockets(generation: number, tmp = os.tmpdir()): Promise<LabSockets> {
  const root = await mkdtemp(path.join(tmp, `loom-${generation}-`));
  const dir = path.join(root, "s");
  const remove = () => rm(root, { recursive: true, force: true });
  try {
    const longest = path.join(dir, MODEL_SOCKET);
    if (Buffer.byteLength(longest) > MAX_SOCKET_PATH_BYTES)
      throw new LabSocketsError(
        `the Lab's socket folder ${dir} is too deep for a unix socket (${Buffer.byteLength(longest)} of at most ${MAX_SOCKET_PATH_BYTES} bytes); set TMPDIR to a shorter folder`,
      );
    await chmod(root, 0o700);
    await mkdir(dir);
    // mkdir's mode is cut by the umask; chmod is not.
    await chmod(dir, 0o777);
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    dir,
    modelSocket: path.join(dir, MODEL_SOCKET),
    labSocket: path.join(dir, LAB_SOCKET),
    secretsFile: path.join(dir, SECRETS_FILE),
    remove,
  };
}

/**
 * The Lab's secrets, for it to read and delete at start (src/lab/lab-secrets.ts). Readable by the
 * image's user; nobody else reaches the folder (its parent is 0700).
 */
export async function writeLabSecrets(
  sockets: LabSockets,
  secrets: { apiKey: string; labToken: string },
): Promise<void> {
  await writeFile(sockets.secretsFile, JSON.stringify(secrets), { mode: 0o644, flag: "wx" });
  await chmod(sockets.secretsFile, 0o644);
}

/** What makeLabSockets names its folders: `loom-<n>-` and mkdtemp's six characters. */
const FOLDER = /^loom-\d+-[A-Za-z0-9]{6}$/;
/** A folder whose proxy never started is left alone this long (its Supervisor may be about to). */
const UNUSED_GRACE_MS = 10 * 60_000;
/**
 * Any folder younger than this is left alone, whatever its socket says: another Supervisor (or bench
 * run) on this machine may be between making it and its proxy answering. A suite run once lost a
 * Lab's secrets file to a neighbour's cleanup in that window.
 */
const YOUNG_MS = 60_000;

/** Whether something still listens on the socket (a live model proxy of some Supervisor). */
function listening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (live: boolean) => {
      socket.destroy();
      resolve(live);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.setTimeout(1000, () => done(true));
  });
}

/**
 * Removes socket folders a killed Supervisor left behind: ours (same user), shaped as makeLabSockets
 * makes them, at least a minute old, whose model proxy (or pooled Lab) no longer listens (or, neither
 * ever there, is older than ten minutes). A folder of a Supervisor still running answers on its socket and stays. Returns
 * what was removed.
 */
export async function removeStaleLabSockets(tmp = os.tmpdir(), now = Date.now()): Promise<string[]> {
  const names = await readdir(tmp).catch(() => [] as string[]);
  const uid = process.getuid?.();
  const removed: string[] = [];
  await Promise.all(
    names
      .filter((name) => FOLDER.test(name))
      .map(async (name) => {
        const root = path.join(tmp, name);
        const info = await lstat(root).catch(() => undefined);
        if (!info?.isDirectory() || (uid !== undefined && info.uid !== uid)) return;
        const inner = await lstat(path.join(root, "s")).catch(() => undefined);
        if (!inner?.isDirectory()) return;
        const age = now - info.mtimeMs;
        if (age < YOUNG_MS) return;
        // A generation's folder answers on its model proxy's socket; a pooled Lab's, before it is
        // claimed, on the Lab's standby socket.
        let probe: string | undefined;
        for (const name of [MODEL_SOCKET, STANDBY_SOCKET]) {
          const candidate = path.join(root, "s", name);
          if (!probe && (await lstat(candidate).catch(() => undefined))?.isSocket()) probe = candidate;
        }
        const stale = probe ? !(await listening(probe)) : age > UNUSED_GRACE_MS;
        if (!stale) return;
        await rm(root, { recursive: true, force: true }).catch(() => {});
        removed.push(root);
      }),
  );
  return removed;
}
