import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { html, type SafeHtml } from "../../../shared/web/html.ts";
import type { SupervisorStats } from "../../api.ts";
import { deriveLineageTree, formatUsd, type LineageTree } from "../../store/lineage-tree.ts";
import { type PageOptions, renderTokenField } from "./actions.ts";
import { CHART_CSS, renderChart } from "./chart.ts";
import { DASHBOARD_SCRIPT } from "./client-scripts.ts";
import { formatTokens } from "./format.ts";
import { GATE_HOLD_CSS, type HeldGeneration, renderHeld } from "./gate-hold-view.ts";
import { EVENT_TYPES, renderPage } from "./layout.ts";
import { LINEAGE_CSS, renderLineage } from "./lineage.ts";
import { ROUND_CSS, renderRound } from "./round-view.ts";
import { renderTasksChart, TASKS_CHART_CSS } from "./tasks-chart.ts";

export interface DashboardInput {
  readonly records: readonly GenerationRecord[];
  readonly stats: SupervisorStats;
  readonly page: PageOptions;
  /** Generations that touch the gate and wait for a person, with their diffs. */
  readonly held?: readonly HeldGeneration[];
  /** For the Content-Security-Policy: only scripts carrying it run. */
  readonly nonce: string;
  readonly now?: Date;
}

/** Prime's state, linked to its chat page when it runs (the URL is the Supervisor's own setting). */
function primeLink(stats: SupervisorStats): SafeHtml {
  const prime = stats.prime;
  if (!prime) return html``;
  const url = prime.url && /^https?:\/\//.test(prime.url) ? prime.url : null;
  return html`<span>Prime <b>${url ? html`<a href="${url}">${prime.state}</a>` : prime.state}</b></span>`;
}

/** Any outcome's count, so outcomes added to the schema later read as 0 from an older Supervisor. */
const countOf = (stats: SupervisorStats, outcome: string): number =>
  (stats.byOutcome as Record<string, number | undefined>)[outcome] ?? 0;

export function renderStats(stats: SupervisorStats, page: PageOptions, tree?: LineageTree): SafeHtml {
  const o = stats.byOutcome;
  const archived = countOf(stats, "archived");
  const screened = countOf(stats, "screened");
  return html`<p class="stats" id="stats">
<span><b>${stats.generations}</b> generations</span>
<span><b>${o.promoted}</b> promoted</span>
${archived > 0 ? html`<span><b>${archived}</b> archived</span>` : ""}
${screened > 0 ? html`<span><b>${screened}</b> screened</span>` : ""}
<span><b>${o.rolled_back + o.failed + o.timed_out + o.aborted}</b> discarded</span>
<span><b title="${stats.totalTokens.toLocaleString("en-US")}">${formatTokens(stats.totalTokens)}</b> tokens</span>
${tree ? html`<span id="cost-per-promoted"><b>${tree.costPerPromotedUsd === null ? "–" : formatUsd(tree.costPerPromotedUsd)}</b> per promoted generation</span>` : ""}
<span>running: <b>${runningText(stats)}</b></span>
<span>runtime <b>${stats.runtime}</b></span>
<span>promote <b>${page.promoteMode}</b></span>
${primeLink(stats)}
</p>`;
}

function runningText(stats: SupervisorStats): string {
  const all = stats.runningGenerations ?? (stats.running === null ? [] : [stats.running]);
  return all.length === 0 ? "none" : all.map((n) => `gen-${n}`).join(", ");
}

const DASHBOARD_CSS = `
.panel-head{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin-bottom:6px}
.panel-head h2{margin:0}
#live-current{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:baseline;margin-bottom:10px}
#live-current .progress{font-family:var(--mono);font-size:12.5px}
#live-tools{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:10px}
#live-tools:empty{display:none}
.chip{font-family:var(--mono);font-size:12px;padding:1px 8px;border-radius:10px;background:var(--bg);border:1px solid var(--line)}
.chip .err{color:var(--bad)}
#feed{list-style:none;margin:0;padding:0;max-height:300px;overflow:auto;font-size:13px}
#feed li{display:grid;grid-template-columns:64px 56px minmax(0,1fr);gap:8px;padding:3px 0;border-top:1px solid var(--line)}
#feed li:first-child{border-top:none}
#feed .t{color:var(--muted);font-variant-numeric:tabular-nums;font-size:12px}
#feed .g{color:var(--muted);font-size:12px}
#feed .m{overflow-wrap:anywhere}
#feed .ev-lab_tool .m{font-family:var(--mono);font-size:12.5px}
#feed .ev-lab_tool.error .m{color:var(--bad)}
#feed .ev-generation .m{font-weight:600}
.conn{font-size:12px;font-weight:400;margin-left:6px}
.conn::before{content:"";display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--off);margin-right:5px}
.conn.live::before{background:var(--ok)}.conn.down::before{background:var(--bad)}
`;

/** LOOM_FITNESS=tasks: what each measured generation's agent solved of main's tasks, and its cost. */
function renderTasksPanel(records: DashboardInput["records"]) {
  const chart = renderTasksChart(records);
  return chart === ""
    ? ""
    : html`<section class="panel" aria-labelledby="tasks-chart-title">
<h2 id="tasks-chart-title">Solved share of main's tasks and cost per generation</h2>
<div id="tasks-chart">${chart}</div>
</section>`;
}

/**
 * `GET /` on the Supervisor: stats, the running round's candidates side by side, the running Lab live
 * over SSE, the chart and the lineage tree.
 */
export function renderDashboard(input: DashboardInput): string {
  const { records, stats, page } = input;
  const tree = deriveLineageTree(records);
  const header = html`<h1><a href="/">Loom Supervisor</a></h1>${renderStats(stats, page, tree)}`;
  const body = html`${renderHeld(input.held ?? [], page)}${renderRound(records, stats)}<div class="grid">
<section class="panel" id="live" aria-labelledby="live-title">
<h2 id="live-title">Lab <span id="conn" class="conn">connecting…</span></h2>
<div id="live-current"><span class="muted">${stats.running === null ? "No Lab is running." : `gen-${stats.running} is running.`}</span></div>
<div id="live-tools" aria-label="tool calls of the running Lab"></div>
<ol id="feed" aria-live="polite" aria-label="Supervisor events, newest first"></ol>
</section>
<section class="panel" aria-labelledby="chart-title">
<h2 id="chart-title">Fitness and tokens per generation</h2>
<div id="chart">${renderChart(records)}</div>
</section>
</div>${renderTasksPanel(records)}
<section class="panel" aria-labelledby="lineage-title">
<div class="panel-head"><h2 id="lineage-title">Lineage</h2>${renderTokenField(page)}</div>
<div id="lineage">${renderLineage(records, tree, page)}</div>
</section>`;
  return renderPage({
    title: "Loom Supervisor",
    nonce: input.nonce,
    css: DASHBOARD_CSS + CHART_CSS + TASKS_CHART_CSS + LINEAGE_CSS + ROUND_CSS + GATE_HOLD_CSS,
    header,
    body,
    config: {
      page: "dashboard",
      eventTypes: EVENT_TYPES,
      promoteMode: page.promoteMode,
      tokenRequired: page.tokenRequired,
      renderedAt: (input.now ?? new Date()).toISOString(),
    },
    script: DASHBOARD_SCRIPT,
  });
}
