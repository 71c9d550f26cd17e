import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { totalTokens } from "../../../shared/events.ts";
import { html, raw, type SafeHtml } from "../../../shared/web/html.ts";
import { type PageOptions, renderActions } from "./actions.ts";
import {
  fitnessOf,
  formatDuration,
  formatFitness,
  formatTime,
  formatTokens,
  generationDuration,
} from "./format.ts";

const REASON_SHOWN = 160;

/**
 * Where a generation sits in the lineage graph: promoted ones are on main (the line down the left);
 * every other one is a branch off the main it was spawned from (its parent).
 */
function lane(r: GenerationRecord): SafeHtml {
  const onMain = r.outcome === "promoted";
  return html`<td class="lane ${onMain ? "main" : "side"}" aria-hidden="true"><span class="dot o-${r.outcome}"></span></td>`;
}

function row(r: GenerationRecord, page: PageOptions): SafeHtml {
  const tokens = totalTokens(r.tokens);
  const d = generationDuration(r);
  const reason = r.reason ?? "";
  const shown = reason.length > REASON_SHOWN ? `${reason.slice(0, REASON_SHOWN)}…` : reason;
  return html`<tr data-generation="${r.generation}" data-outcome="${r.outcome}">
${lane(r)}
<td class="nowrap"><a href="/generations/${r.generation}"><b>gen-${r.generation}</b></a></td>
<td><span class="badge o-${r.outcome}">${r.outcome.replace("_", " ")}</span></td>
<td class="nowrap">${r.parent === null ? html`<span class="muted">initial main</span>` : html`<a href="/generations/${r.parent}">gen-${r.parent}</a>`}</td>
<td class="num">${formatFitness(fitnessOf(r))}</td>
<td class="num" title="${tokens.toLocaleString("en-US")} tokens">${formatTokens(tokens)}</td>
<td class="num">${d === null ? "–" : formatDuration(d)}</td>
<td class="muted nowrap">${formatTime(r.createdAt)}</td>
<td class="reason" title="${reason}">${shown}</td>
<td class="nowrap">${renderActions(r, page)}</td>
</tr>`;
}

/** The lineage as a timeline, newest first, with main and its discarded branches drawn in the first column. */
export function renderLineage(records: readonly GenerationRecord[], page: PageOptions): SafeHtml {
  if (records.length === 0) {
    return html`<p class="muted" id="lineage-empty">No generations yet. Prime starts one with <code>POST /spawn {"program": "…"}</code>.</p>`;
  }
  const rows = [...records].sort((a, b) => b.generation - a.generation).map((r) => row(r, page));
  return html`<table class="lineage">
<thead><tr><th aria-label="lineage"></th><th>gen</th><th>outcome</th><th>parent</th><th class="num">fitness</th><th class="num">tokens</th><th class="num">duration</th><th>started</th><th>reason</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
}

export const LINEAGE_CSS = raw(`
.lineage td{padding:7px 8px}
.lineage .nowrap{white-space:nowrap}
.lineage .actions{flex-wrap:nowrap}
.lineage .reason{max-width:420px;overflow-wrap:anywhere;color:var(--muted)}
.lineage td.lane{position:relative;width:40px;padding:0;border-bottom:none}
.lineage td.lane::before{content:"";position:absolute;left:12px;top:0;bottom:0;width:2px;background:var(--ok);opacity:.5}
.lineage td.lane.side::after{content:"";position:absolute;left:13px;top:50%;width:15px;height:2px;background:var(--line)}
.lineage .dot{position:absolute;top:50%;width:12px;height:12px;margin-top:-6px;border-radius:50%;
background:var(--panel);border:2px solid currentColor}
.lineage .main .dot{left:7px;background:currentColor}
.lineage .side .dot{left:26px}
`).value;
