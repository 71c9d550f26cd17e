// Small helpers the benchmarks share: percentiles, durations as text, the machine's load.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
/** The p-th percentile (nearest rank); 0 for no samples. */
export const pct = (xs: readonly number[], p: number): number => {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
export const median = (xs: readonly number[]): number => pct(xs, 50);
/** 850 ms, 1.23 s. */
export const fmt = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
/** `uptime`'s line: recorded with every result, since these machines are shared. */
export const uptime = (): string => execFileSync("uptime", { encoding: "utf8" }).trim();
/** One tick of /proc/stat (USER_HZ, 100 a second on Linux). */
export const TICK_MS = 10;
/**
 * The whole machine's CPU counters, all cores, from /proc/stat's first line, in ticks: busy (all but
 * idle and iowait) and total. Containers and every child process count. Undefined off Linux.
 */
export function cpuTicks(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]
      ?.trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    if (!fields || fields.length < 5) return undefined;
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return undefined;
  }
}
