import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { totalTokens } from "../../../shared/events.ts";
import { html, raw, type SafeHtml } from "../../../shared/web/html.ts";
import { costSummary, PROMOTED_MARK } from "../../store/format-lineage-tree.ts";
import {
  formatRoundPlace,
  formatUsd,
  isStopPoint,
  type LineageRow,
  type LineageTree,
  lineageRows,
} from "../../store/lineage-tree.ts";
import { type PageOptions, renderActions } from "./actions.ts";
import { formatDuration, formatFitness, formatTime, formatTokens, generationDuration } from "./format.ts";

const REASON_SHOWN = 160;

function roundTitle(r: GenerationRecord): string {
  if (!r.candidate) return "from before rounds";
  const c = r.candidate;
  return [
    `candidate ${c.index} of ${c.of} in round ${r.round}`,
    c.model ? `model ${c.model}` : "",
    c.temperature !== undefined ? `temperature ${c.temperature}` : "",
    c.hint ? `hint: ${c.hint}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

const STEP_PX = 18;

/**
 * The box-drawing prefix ("│  ├─ ") drawn as lines that span the whole row, so the tree stays joined
 * however tall a row grows: one segment per level, the last the node's own tee or elbow.
 */
function treeLines(prefix: string): SafeHtml {
  const units = prefix.match(/.{3}/gsu) ?? [];
  return html`${units.map((u, i) => {
    const kind = u.startsWith("│") ? "pipe" : u.startsWith("├") ? "tee" : u.startsWith("└") ? "elbow" : "";
    return kind ? html`<span class="seg ${kind}" style="left:${i * STEP_PX + 6}px"></span>` : "";
  })}`;
}

function row({ node, prefix, depth }: LineageRow, r: GenerationRecord, page: PageOptions): SafeHtml {
  const tokens = totalTokens(r.tokens);
  const d = generationDuration(r);
  const reason = r.reason ?? "";
  const shown = reason.length > REASON_SHOWN ? `${reason.slice(0, REASON_SHOWN)}…` : reason;
  const orphan = depth === 0 && r.parent !== null ? ` (parent gen-${r.parent} has no record)` : "";
  return html`<tr data-generation="${r.generation}" data-outcome="${r.outcome}" data-parent="${r.parent ?? "main"}" data-prefix="${prefix}"${node.onPromotedPath ? raw(' data-path="promoted"') : ""}>
<td class="tree nowrap" style="padding-left:${(depth + 1) * STEP_PX + 8}px"><span class="lines" aria-hidden="true">${treeLines(prefix)}</span>${node.onPromotedPath ? html`<span class="star" title="on the promoted path to main">${PROMOTED_MARK}</span>` : ""}<a href="/generations/${r.generation}"><b>gen-${r.generation}</b></a>${orphan ? html`<span class="muted">${orphan}</span>` : ""}</td>
<td><span class="badge o-${r.outcome}">${r.outcome.replace("_", " ")}</span></td>
<td class="nowrap round" title="${roundTitle(r)}">${formatRoundPlace(node)}</td>
<td class="num">${formatFitness(node.fitness)}</td>
<td class="num cost">${formatUsd(node.costUsd)}</td>
<td class="num" title="${tokens.toLocaleString("en-US")} tokens">${formatTokens(tokens)}</td>
<td class="num nowrap" title="started ${formatTime(r.createdAt)}">${d === null ? "–" : formatDuration(d)}</td>
<td class="stopped">${node.stoppedAt === null ? "" : isStopPoint(node.stoppedAt) ? html`<span class="stop">${node.stoppedAt}</span>` : html`<span class="stop-words">${node.stoppedAt}</span>`}</td>
<td class="reason" title="${reason}">${shown}</td>
<td class="nowrap">${renderActions(r, page)}</td>
</tr>`;
}

/**
 * The lineage as a tree (lineage-tree.ts, the same rows `loom generations --tree` prints): each
 * generation under its parent, the promoted path marked ★, where each discarded one stopped.
 */
export function renderLineage(
  records: readonly GenerationRecord[],
  tree: LineageTree,
  page: PageOptions,
): SafeHtml {
  if (records.length === 0) {
    return html`<p class="muted" id="lineage-empty">No generations yet. Prime starts one with <code>POST /spawn {"program": "…"}</code>.</p>`;
  }
  const byNumber = new Map(records.map((r) => [r.generation, r]));
  const rows = lineageRows(tree).flatMap((lr) => {
    const r = byNumber.get(lr.node.generation);
    return r ? [row(lr, r, page)] : [];
  });
  return html`<p class="lineage-cost" id="lineage-cost">${costSummary(tree)} · <span class="star">${PROMOTED_MARK}</span> on the promoted path to main</p>
<div class="lineage-scroll"><table class="lineage">
<thead><tr><th title="each generation under its parent">generation</th><th>outcome</th><th title="round and candidate">round</th><th class="num">fitness</th><th class="num">cost</th><th class="num">tokens</th><th class="num">duration</th><th>stopped at</th><th>reason</th><th></th></tr>
<tr class="root"><td class="tree nowrap" colspan="10"><span class="muted">initial main</span></td></tr></thead>
<tbody>
${rows}</tbody>
</table></div>`;
}

export const LINEAGE_CSS = raw(`
:root{--arch:#0f7b8a}
@media (prefers-color-scheme:dark){:root{--arch:#4fc1d0}}
.o-archived,.o-screened{color:var(--arch)}
.lineage td{padding:5px 8px}
.lineage .nowrap{white-space:nowrap}
.lineage .actions{flex-wrap:nowrap}
.lineage .reason{min-width:160px;max-width:380px;overflow-wrap:anywhere;color:var(--muted)}
.lineage td.tree{font-variant-numeric:tabular-nums}
.lineage td.tree{position:relative}
.lineage .seg{position:absolute;top:0;bottom:0;width:12px}
.lineage .seg::before{content:"";position:absolute;left:0;top:0;bottom:0;border-left:1.5px solid var(--muted);opacity:.55}
.lineage .seg.elbow::before{bottom:auto;height:16px}
.lineage .seg.tee::after,.lineage .seg.elbow::after{content:"";position:absolute;left:0;top:16px;width:12px;border-top:1.5px solid var(--muted);opacity:.55}
.lineage tr[data-path="promoted"] .seg.tee::after,.lineage tr[data-path="promoted"] .seg.elbow::after,
.lineage tr[data-path="promoted"] .seg.elbow::before{border-color:var(--ok);opacity:1}
.lineage tr.root td.tree{padding-left:8px}
.lineage .star{color:var(--ok);margin-right:4px}
.lineage tr[data-path="promoted"] td.tree b{color:var(--ok)}
.lineage tr.root td{padding-top:2px;padding-bottom:2px;font-size:12.5px}
.lineage .round{font-family:var(--mono);font-size:12.5px}
.lineage .stopped{max-width:190px}
.lineage .stop{display:inline-block;font-family:var(--mono);font-size:12px;padding:1px 6px;border-radius:4px;border:1px solid var(--line);white-space:nowrap}
.lineage .stop-words{font-size:12.5px;color:var(--muted);font-style:italic}
.lineage-scroll{overflow-x:auto}
.lineage tr[data-outcome="archived"] .stop,.lineage tr[data-outcome="screened"] .stop{color:var(--arch)}
.lineage tr[data-outcome="rolled_back"] .stop,.lineage tr[data-outcome="failed"] .stop,.lineage tr[data-outcome="timed_out"] .stop{color:var(--bad)}
.lineage-cost{margin:0 0 6px;font-size:13px;color:var(--muted)}
.lineage-cost .star{color:var(--ok)}
`).value;
