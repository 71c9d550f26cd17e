import type { BenchAgentResult } from "../../schemas/task.ts";

const dollars = (usd: number | null | undefined): string =>
  usd === null || usd === undefined ? "n/a" : `$${usd < 0.01 && usd > 0 ? usd.toFixed(4) : usd.toFixed(2)}`;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Solved over total, and what one solved task cost (n/a when nothing was solved or a price is unknown). */
export function summaryLine(r: BenchAgentResult): string {
  const share = r.total === 0 ? 0 : (100 * r.solved) / r.total;
  const perSolved = r.solved === 0 || r.costUsd === null ? null : r.costUsd / r.solved;
  return `solved ${r.solved}/${r.total} (${share.toFixed(0)} %), cost ${dollars(r.costUsd)}, cost per solved task ${dollars(perSolved)}`;
}

/** The human report: one row per task (solved, tokens, cost, wall time, tool calls, why not), then the summary. */
export function formatBench(r: BenchAgentResult): string {
  const width = Math.max(4, ...r.tasks.map((t) => t.name.length));
  const rows = r.tasks.map(
    (t) =>
      `${t.solved ? "✓" : "✗"} ${t.name.padEnd(width)} ${String(t.tokens).padStart(8)} tok ${dollars(t.costUsd).padStart(8)} ${seconds(t.durationMs).padStart(8)} ${String(t.toolCalls).padStart(4)} calls${t.reason ? `  ${t.reason}` : ""}`,
  );
  return [`agent ${r.ref.slice(0, 12)}, model ${r.model}`, ...rows, summaryLine(r), ""].join("\n");
}
