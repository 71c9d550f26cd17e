// Small helpers the benchmarks share: percentiles, durations as text, the machine's load.
import { execFileSync } from "node:child_process";

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
