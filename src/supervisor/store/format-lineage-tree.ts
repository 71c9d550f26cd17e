import {
  formatRoundPlace,
  formatUsd,
  type LineageNode,
  type LineageTree,
  lineageRows,
} from "./lineage-tree.ts";

export const PROMOTED_MARK = "★";

const fitness = (f: number | null): string => (f === null ? "–" : f.toFixed(3).replace(/\.?0+$/, "") || "0");

function roundsSummary(tree: LineageTree): string {
  const n = tree.rounds.length;
  return n === 0 ? "" : ` in ${n} round${n === 1 ? "" : "s"}`;
}

/** The cost line both views show: total, and per promoted generation (none when nothing was promoted). */
export function costSummary(tree: LineageTree): string {
  if (tree.totalCostUsd === null) return "cost not known (no generation has a priced model count)";
  const unknown = tree.uncosted > 0 ? ` (${tree.uncosted} without a known cost)` : "";
  const per =
    tree.costPerPromotedUsd === null
      ? "no promoted generation yet"
      : `${formatUsd(tree.costPerPromotedUsd)} per promoted generation`;
  return `cost ${formatUsd(tree.totalCostUsd)}${unknown}, ${per}`;
}

function roundCost(r: LineageTree["rounds"][number]): string {
  if (r.costUsd === null) return "cost not known";
  return `${formatUsd(r.costUsd)}${r.uncosted > 0 ? ` (${r.uncosted} without a known cost)` : ""}`;
}

function parentNote(n: LineageNode): string {
  return n.parent === null ? "" : `  (parent gen-${n.parent} has no record)`;
}

/**
 * `loom generations --tree`: one line per generation under its parent, with box-drawing lines, the
 * promoted path marked ★, then the cost per promoted generation and per round.
 */
export function formatLineageTree(tree: LineageTree): string {
  if (tree.generations === 0) return "No generations yet.\n";
  const rows = lineageRows(tree);
  const cells = rows.map(({ node: n, prefix }) => [
    `${prefix}${n.onPromotedPath ? `${PROMOTED_MARK} ` : ""}gen-${n.generation}`,
    n.outcome,
    formatRoundPlace(n),
    `fitness ${fitness(n.fitness)}`,
    formatUsd(n.costUsd),
    n.stoppedAt === null ? "" : `stopped at ${n.stoppedAt}`,
  ]);
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((c) => [...(c[i] ?? "")].length))) ?? [];
  const lines = cells.map((c, r) => {
    const row = rows[r] as (typeof rows)[number];
    const text = c
      .map((cell, i) => (i === c.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - [...cell].length)))
      .join("  ")
      .trimEnd();
    return row.depth === 0 ? text + parentNote(row.node) : text;
  });
  const rounds = tree.rounds.map(
    (r) =>
      `round ${r.round}: ${r.generations.length} candidate${r.generations.length === 1 ? "" : "s"}, ${roundCost(r)}, ${r.promoted === null ? "none promoted" : `gen-${r.promoted} promoted`}`,
  );
  const summary = `${tree.generations} generation${tree.generations === 1 ? "" : "s"}${roundsSummary(tree)}, ${tree.promoted} promoted; ${costSummary(tree)}`;
  return `${["initial main", ...lines, "", ...rounds, summary, `${PROMOTED_MARK} = on the promoted path to main`].join("\n")}\n`;
}
