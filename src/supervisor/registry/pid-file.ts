import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { onlyVersion, readVersionedJson } from "../../shared/versioned-json.ts";
import { RegistryError } from "./errors.ts";

/** What a registry folder's `pid.json` says about the docker-registry serving it. */
const pidRecord = z.object({
  version: z.literal(1),
  pid: z.number().int().positive(),
  address: z.string(),
  configPath: z.string(),
  startedAt: z.string(),
});
export type PidRecord = z.infer<typeof pidRecord>;

export const pidFilePath = (dir: string): string => path.join(dir, "pid.json");

const invalid = (file: string) => (why: string) =>
  new RegistryError("REGISTRY_START_FAILED", `${file} is ${why}; remove it and start the registry again`);

export async function writePidFile(dir: string, record: Omit<PidRecord, "version">): Promise<void> {
  await atomicWriteFile(pidFilePath(dir), `${JSON.stringify({ version: 1, ...record }, null, 2)}\n`);
}

/** The record, or undefined when there is none; a damaged file counts as none (it is replaced). */
export async function readPidFile(dir: string): Promise<PidRecord | undefined> {
  const file = pidFilePath(dir);
  return readVersionedJson(file, {
    what: "registry pid file",
    schema: pidRecord,
    upgrade: onlyVersion(1, invalid(file)),
    invalid: invalid(file),
  }).catch(() => undefined);
}

export async function removePidFile(dir: string): Promise<void> {
  await rm(pidFilePath(dir), { force: true });
}

export type ProcessState = "running" | "gone";

/** `/proc/PID/stat`'s text; `missing` when procfs has no such entry, `no-procfs` without procfs. */
export type ReadStat = (pid: number) => Promise<string | "missing" | "no-procfs">;

const readProcStat: ReadStat = async (pid) => {
  try {
    return await readFile(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") return "no-procfs";
    return existsSync("/proc/self/stat") ? "missing" : "no-procfs";
  }
};

/**
 * A zombie (exited, not yet reaped by its parent) counts as gone: it serves nothing and holds no port.
 * So does a pid whose procfs entry vanished after `kill(0)` answered: its parent reaped it in between.
 */
export async function processState(pid: number, readStat: ReadStat = readProcStat): Promise<ProcessState> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? "running" : "gone";
  }
  const stat = await readStat(pid);
  if (stat === "missing") return "gone";
  if (stat === "no-procfs") return "running"; // trust kill(0)
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state === "Z" || state === "X" ? "gone" : "running";
}

/**
 * Whether `pid` is the docker-registry serving `configPath`, so a pid reused by another program since
 * the file was written is never signalled. Without procfs the pid file is trusted.
 */
export async function isRegistryProcess(pid: number, configPath: string): Promise<boolean> {
  if ((await processState(pid)) === "gone") return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  if (cmdline === undefined) return process.platform !== "linux";
  const args = cmdline.split("\0");
  return args[1] === "serve" && args[2] === configPath;
}
