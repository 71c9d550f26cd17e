import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RegistryError } from "./errors.ts";
import { isRegistryProcess, processState, readPidFile, removePidFile, writePidFile } from "./pid-file.ts";
import { renderRegistryConfig } from "./registry-config.ts";
import { probeRegistry } from "./registry-http.ts";
import { withStartLock } from "./start-lock.ts";

/**
 * Loom's own image registry: Debian's docker-registry serving one folder on one loopback address.
 * It runs detached, so it outlives the `npm run image -- --push` that started it and the swarm can pull
 * later; `pid.json` in its folder lets the next start find it (same address: kept) or reap it.
 */

export interface StartRegistryOptions {
  /** The registry's folder: config, data/, registry.log and pid.json. */
  readonly dir: string;
  readonly host?: string;
  readonly port: number;
  /** The docker-registry program. */
  readonly bin?: string;
  /** How long it may take to answer `GET /v2/`. */
  readonly readyTimeoutMs?: number;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as it goes in front of a repository. */
  readonly address: string;
  readonly pid: number;
  /** True when an already running registry of this folder was found and kept. */
  readonly adopted: boolean;
  /** Ends the process (TERM, then KILL) and removes the pid file; idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "install Debian's package (apt-get install docker-registry), or set LOOM_REGISTRY to a registry every swarm node can pull from";

export async function startRegistry(opts: StartRegistryOptions): Promise<RunningRegistry> {
  const dir = path.resolve(opts.dir);
  return withStartLock(dir, (opts.readyTimeoutMs ?? 15_000) + 30_000, () => startLocked(dir, opts));
}

async function startLocked(dir: string, opts: StartRegistryOptions): Promise<RunningRegistry> {
  const host = opts.host ?? "127.0.0.1";
  const address = `${host}:${opts.port}`;
  const configPath = path.join(dir, "config.yml");

  const found = await findRegistry(dir);
  if (found?.address === address) return found;
  if (found) await found.stop();
  else await reapRegistry(dir);

  await mkdir(path.join(dir, "data"), { recursive: true });
  await writeFile(
    configPath,
    renderRegistryConfig({ dataDir: path.join(dir, "data"), host, port: opts.port }),
  );
  const logPath = path.join(dir, "registry.log");
  const log = openSync(logPath, "w");
  let child: ChildProcess;
  try {
    child = spawn(opts.bin ?? "docker-registry", ["serve", configPath], {
      detached: true,
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<string>((resolve) => {
    child.once("error", (err: NodeJS.ErrnoException) =>
      resolve(
        err.code === "ENOENT"
          ? `${opts.bin ?? "docker-registry"} is not installed`
          : `could not run: ${err.message}`,
      ),
    );
    child.once("exit", (code, signal) =>
      resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`),
    );
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    const why = await exited;
    throw new RegistryError(
      why.endsWith("not installed") ? "REGISTRY_NOT_INSTALLED" : "REGISTRY_START_FAILED",
      `Loom's registry at ${address} did not start: ${why}; ${INSTALL_HINT}`,
    );
  }
  // Written before the wait, so a Loom killed while it waits leaves something to reap.
  await writePidFile(dir, { pid, address, configPath, startedAt: new Date().toISOString() });
  const handle = registryHandle(dir, address, pid, false);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000);
  let ended: string | undefined;
  void exited.then((why) => {
    ended = why;
  });
  for (;;) {
    if (ended !== undefined || Date.now() > deadline) {
      const why =
        ended ?? `did not answer GET http://${address}/v2/ within ${opts.readyTimeoutMs ?? 15_000} ms`;
      await handle.stop();
      const tail = await logTail(logPath);
      throw new RegistryError(
        "REGISTRY_START_FAILED",
        `Loom's registry (docker-registry serve ${configPath}) ${why}${tail ? `: ${tail}` : ""}; if ${address} is taken, set LOOM_REGISTRY_PORT to a free port`,
      );
    }
    if ((await probeRegistry(address, 1000)).ok) return handle;
    await sleep(50);
  }
}

/** The registry serving `dir`, when its pid file names a live docker-registry that answers. */
export async function findRegistry(dir: string): Promise<RunningRegistry | undefined> {
  const record = await readPidFile(path.resolve(dir));
  if (!record || !(await isRegistryProcess(record.pid, record.configPath))) return undefined;
  if (!(await probeRegistry(record.address, 1000)).ok) return undefined;
  return registryHandle(path.resolve(dir), record.address, record.pid, true);
}

/**
 * Ends whatever registry `dir`'s pid file names (only when it is that folder's docker-registry) and
 * removes the file. Returns the pid that was ended, if any.
 */
export async function reapRegistry(dir: string): Promise<number | undefined> {
  const resolved = path.resolve(dir);
  const record = await readPidFile(resolved);
  if (!record) return undefined;
  const ours = await isRegistryProcess(record.pid, record.configPath);
  if (ours) await endProcess(record.pid);
  await removePidFile(resolved);
  return ours ? record.pid : undefined;
}

function registryHandle(dir: string, address: string, pid: number, adopted: boolean): RunningRegistry {
  let stopping: Promise<void> | undefined;
  return {
    address,
    pid,
    adopted,
    stop: () => {
      stopping ??= (async () => {
        await endProcess(pid);
        const record = await readPidFile(dir);
        if (record?.pid === pid) await removePidFile(dir);
      })();
      return stopping;
    },
  };
}

async function endProcess(pid: number): Promise<void> {
  for (const [signal, waitMs] of [
    ["SIGTERM", 5000],
    ["SIGKILL", 5000],
  ] as const) {
    try {
      // Its own process group (spawned detached), so anything it started ends with it.
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        return;
      }
    }
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      if ((await processState(pid)) === "gone") return;
      await sleep(25);
    }
  }
  throw new RegistryError("REGISTRY_START_FAILED", `docker-registry (pid ${pid}) did not end after SIGKILL`);
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .trim()
    .split("\n")
    .slice(-3)
    .map((line) => line.replace(/^time="[^"]*" /, "").slice(0, 400))
    .join(" | ");
}
