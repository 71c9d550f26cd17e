import { promises as fs } from "node:fs";
import { runCli } from "./cli-exec.ts";

/**
 * Identifies a process by pid AND start time, so a registry entry never matches an unrelated process
 * that later got the same pid.
 */

export interface ProcIdentity {
  readonly startTime: string;
  readonly zombie: boolean;
}

export async function procIdentity(pid: number): Promise<ProcIdentity | undefined> {
  if (process.platform === "linux") {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
    if (stat === undefined) return undefined;
    // Fields after the ")" that closes the command name (which may itself contain spaces or parens).
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const startTime = rest[19];
    if (startTime === undefined) return undefined;
    return { startTime, zombie: rest[0] === "Z" || rest[0] === "X" };
  }
  const r = await runCli("ps", ["-o", "lstart=,stat=", "-p", String(pid)], { timeoutMs: 10_000 }).catch(
    () => undefined,
  );
  const line = r?.exitCode === 0 ? r.stdout.trim() : "";
  if (!line) return undefined;
  const fields = line.split(/\s+/);
  const state = fields.pop() ?? "";
  return { startTime: fields.join(" "), zombie: state.startsWith("Z") };
}

/** Alive and still the same process that was recorded. */
export async function isSameLiveProcess(pid: number, startTime: string): Promise<boolean> {
  const id = await procIdentity(pid);
  return id !== undefined && !id.zombie && id.startTime === startTime;
}

/** Signals every process in the group; false if none is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Whether the group still has a process that is not a zombie. Zombies count as members for kill(2),
 * and they linger until their reaper (often the host's init) collects them, which would make a
 * finished stop look unfinished.
 */
export async function groupHasLiveMembers(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  if (process.platform !== "linux") return true;
  const pids = await fs.readdir("/proc").catch(() => [] as string[]);
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
    if (stat === undefined) continue;
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // rest[0] is the state, rest[2] the process group.
    if (rest[2] === String(pgid) && rest[0] !== "Z" && rest[0] !== "X") return true;
  }
  return false;
}
