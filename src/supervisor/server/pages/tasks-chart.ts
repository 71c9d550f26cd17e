import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { html, raw, type SafeHtml } from "../../../shared/web/html.ts";

const W = 640;
const H = 240;
const M = { top: 28, right: 56, bottom: 34, left: 56 };
const fixed = (n: number): string => (Math.round(n * 10) / 10).toString();
const pct = (share: number): string => `${Math.round(share * 100)} %`;
const usd = (n: number): string => (n >= 1 ? `$${n.toFixed(2)}` : `$${n.toFixed(3)}`);

/** One generation measured on tasks: its agent's solved share, main's beside it, and what its run cost. */
interface Point {
  readonly generation: number;
  readonly outcome: GenerationRecord["outcome"];
  readonly share: number;
  readonly mainShare: number;
  readonly costUsd: number | null;
  readonly verdict: string;
}

function pointsOf(records: readonly GenerationRecord[]): Point[] {
  return [...records]
    .sort((a, b) => a.generation - b.generation)
    .flatMap((r) => {
      const full = r.verification?.mechanical.taskFitness?.full;
      if (!full || full.candidate.total === 0) return [];
      return [
        {
          generation: r.generation,
          outcome: r.outcome,
          share: full.candidate.solved / full.candidate.total,
          mainShare: full.main.total === 0 ? 0 : full.main.solved / full.main.total,
          costUsd: full.candidate.costUsd,
          verdict: `${full.verdict}, p = ${full.pValue.toFixed(3)}`,
        },
      ];
    });
}

/**
 * LOOM_FITNESS=tasks: per generation measured on main's tasks, its agent's solved share (points on a
 * line), main's share at the time (a tick), and the cost of its task run (bars). Nothing when no
 * generation was measured on tasks.
 */
export function renderTasksChart(records: readonly GenerationRecord[]): SafeHtml | "" {
  const ps = pointsOf(records);
  if (ps.length === 0) return "";
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const band = pw / ps.length;
  const costMax = Math.max(0.001, ...ps.map((p) => p.costUsd ?? 0));
  const xOf = (i: number) => M.left + band * (i + 0.5);
  const yShare = (s: number) => M.top + ph - s * ph;
  const yCost = (c: number) => M.top + ph - (c / costMax) * ph;
  const barW = Math.max(2, Math.min(24, band * 0.5));
  const grid = [0, 0.5, 1].map(
    (
      q,
    ) => html`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${fixed(yShare(q))}" y2="${fixed(yShare(q))}"/>
<text class="axis" x="${M.left - 6}" y="${fixed(yShare(q))}" text-anchor="end" dominant-baseline="middle">${pct(q)}</text>
<text class="axis cost" x="${W - M.right + 6}" y="${fixed(yShare(q))}" dominant-baseline="middle">${usd(q * costMax)}</text>`,
  );
  const marks = ps.map((p, i) => {
    const x = xOf(i);
    const bar =
      p.costUsd === null
        ? ""
        : html`<rect class="cost-bar" data-generation="${p.generation}" x="${fixed(x - barW / 2)}" y="${fixed(yCost(p.costUsd))}" width="${fixed(barW)}" height="${fixed(M.top + ph - yCost(p.costUsd))}"><title>gen-${p.generation}: its task run cost ${usd(p.costUsd)}</title></rect>`;
    return html`<a href="/generations/${p.generation}">${bar}<line class="main-tick" x1="${fixed(x - 8)}" x2="${fixed(x + 8)}" y1="${fixed(yShare(p.mainShare))}" y2="${fixed(yShare(p.mainShare))}"><title>main then: ${pct(p.mainShare)} solved</title></line><circle class="share-point o-${p.outcome}" data-generation="${p.generation}" data-share="${p.share}" cx="${fixed(x)}" cy="${fixed(yShare(p.share))}" r="4"><title>gen-${p.generation} (${p.outcome}): ${pct(p.share)} of main's tasks solved, main ${pct(p.mainShare)}; ${p.verdict}</title></circle></a>
<text class="axis" x="${fixed(x)}" y="${H - M.bottom + 14}" text-anchor="middle">${p.generation}</text>`;
  });
  const line =
    ps.length > 1
      ? html`<polyline class="share-line" points="${ps.map((p, i) => `${fixed(xOf(i))},${fixed(yShare(p.share))}`).join(" ")}"/>`
      : "";
  return html`<svg id="tasks-chart-svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="Solved share of main's tasks and task-run cost per generation">
${grid}
<text class="axis-title" x="${M.left - 6}" y="${M.top - 14}" text-anchor="end">solved</text>
<text class="axis-title cost" x="${W - M.right + 6}" y="${M.top - 14}">cost</text>
${line}${marks}
<text class="axis-title" x="${M.left + pw / 2}" y="${H - 4}" text-anchor="middle">generation</text>
</svg>
<p class="legend muted"><span class="key share-key"></span>the agent's solved share <span class="key main-key"></span>main's at the time <span class="key cost-key"></span>cost of the task run</p>`;
}

export const TASKS_CHART_CSS = raw(`
#tasks-chart-svg{width:100%;height:auto;display:block}
#tasks-chart-svg .grid{stroke:var(--line);stroke-width:1}
#tasks-chart-svg .axis{fill:var(--muted);font-size:10.5px}
#tasks-chart-svg .axis-title{fill:var(--muted);font-size:10.5px;font-weight:600}
#tasks-chart-svg .cost-bar{fill:var(--muted);fill-opacity:.35}
#tasks-chart-svg .share-line{fill:none;stroke:var(--accent);stroke-width:2}
#tasks-chart-svg .share-point{fill:var(--panel);stroke:var(--accent);stroke-width:2}
#tasks-chart-svg .main-tick{stroke:var(--ink, #444);stroke-width:2}
.share-key{height:3px;background:var(--accent)}.main-key{height:2px;background:#444}.cost-key{background:var(--muted);opacity:.4}
`).value;
