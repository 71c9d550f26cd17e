import { isLabInProgress } from "../../../../schemas/generation.ts";
import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { html, raw, type SafeHtml } from "../../../shared/web/html.ts";
import type { SupervisorStats } from "../../api.ts";
import { formatUsd } from "../../store/lineage-tree.ts";

/**
 * The generations of the round that is running now: the round of every generation GET /stats names as
 * running (or, from an older Supervisor, of the one it names), all its candidates, finished or not.
 */
export function runningRound(
  records: readonly GenerationRecord[],
  stats: SupervisorStats,
): { round: number | null; candidates: GenerationRecord[] } | null {
  const running = stats.runningGenerations ?? (stats.running === null ? [] : [stats.running]);
  if (running.length === 0) return null;
  const first = records.find((r) => r.generation === running[0]);
  const round = first?.round ?? null;
  const candidates =
    round === null
      ? records.filter((r) => running.includes(r.generation))
      : records.filter((r) => r.round === round);
  return { round, candidates: candidates.sort((a, b) => a.generation - b.generation) };
}

function card(r: GenerationRecord): SafeHtml {
  const c = r.candidate;
  const inLab = isLabInProgress(r.outcome);
  return html`<article class="cand" data-generation="${r.generation}" data-outcome="${r.outcome}">
<header><a href="/generations/${r.generation}"><b>gen-${r.generation}</b></a>
<span class="badge o-${r.outcome}" data-live="state">${inLab ? `Lab ${r.outcome === "pending" ? "starting" : "running"}` : r.outcome.replace("_", " ")}</span></header>
<div class="meta">${c ? `candidate ${c.index} of ${c.of}` : "one candidate"}${c?.model ? html` · <code>${c.model}</code>` : ""}${c?.temperature !== undefined ? ` · t=${c.temperature}` : ""}${r.modelUsage ? ` · ${formatUsd(r.modelUsage.costUsd)}` : ""}</div>
${c?.hint ? html`<div class="hint" title="${c.hint}">${c.hint}</div>` : ""}
<div class="progress" data-live="progress">${inLab ? "" : (r.reason ?? "")}</div>
<div class="tools" data-live="tools"></div>
</article>`;
}

/** The running round's candidates side by side; empty (and hidden) when no round runs. */
export function renderRound(records: readonly GenerationRecord[], stats: SupervisorStats): SafeHtml {
  const now = runningRound(records, stats);
  if (now === null || now.candidates.length === 0)
    return html`<section id="round" class="panel" hidden></section>`;
  const title = now.round === null ? "Running" : `Round ${now.round}`;
  return html`<section id="round" class="panel" aria-labelledby="round-title" data-round="${now.round ?? ""}">
<h2 id="round-title">${title} <span class="muted">· ${now.candidates.length} candidate${now.candidates.length === 1 ? "" : "s"} side by side</span></h2>
<div class="cands">${now.candidates.map(card)}</div>
</section>`;
}

export const ROUND_CSS = raw(`
#round[hidden]{display:none}
#round .cands{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:10px}
#round .cand{border:1px solid var(--line);border-top:3px solid currentColor;border-radius:6px;padding:8px 10px;color:var(--muted);min-width:0}
#round .cand[data-outcome="running"],#round .cand[data-outcome="pending"]{color:var(--run)}
#round .cand[data-outcome="verifying"]{color:var(--warn)}
#round .cand[data-outcome="promoted"]{color:var(--ok)}
#round .cand[data-outcome="archived"],#round .cand[data-outcome="screened"]{color:var(--arch)}
#round .cand[data-outcome="rolled_back"]{color:var(--rb)}
#round .cand[data-outcome="failed"],#round .cand[data-outcome="timed_out"]{color:var(--bad)}
#round .cand header{display:flex;justify-content:space-between;align-items:center;gap:6px;color:var(--fg)}
#round .cand .meta,#round .cand .hint{font-size:12.5px;color:var(--muted);margin-top:3px}
#round .cand .hint{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-style:italic}
#round .cand .progress{font-family:var(--mono);font-size:12px;color:var(--fg);margin-top:6px;min-height:1.3em;overflow-wrap:anywhere}
#round .cand .tools{display:flex;flex-wrap:wrap;gap:4px;margin-top:6px}
#round .cand .tools:empty{display:none}
`).value;
