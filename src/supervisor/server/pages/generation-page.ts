import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { html, type SafeHtml } from "../../../shared/web/html.ts";
import { type PageOptions, renderActions, renderTokenField } from "./actions.ts";
import { GENERATION_SCRIPT } from "./client-scripts.ts";
import {
  fitnessOf,
  formatDuration,
  formatFitness,
  formatTime,
  formatTokens,
  generationDuration,
} from "./format.ts";
import { EVENT_TYPES, renderPage } from "./layout.ts";
import { renderVerification } from "./verification-view.ts";

/** Where the last stage-1 run is (POST /verify is a job): running, or why it ended without a result. */
function renderRun(r: GenerationRecord): SafeHtml {
  const run = r.verificationRun;
  if (!run || run.state === "done") return html``;
  if (run.state === "running")
    return html`<p class="muted" id="verification-run">Stage 1 running since ${run.startedAt}; this page reloads when it ends.</p>`;
  return html`<p class="muted" id="verification-run">The last stage-1 run ${run.state === "stopped" ? "was stopped" : "could not run"}: ${run.error?.message ?? "no reason recorded"}</p>`;
}

export interface GenerationPageInput {
  readonly record: GenerationRecord;
  readonly page: PageOptions;
  readonly nonce: string;
  readonly now?: Date;
}

const GENERATION_CSS = `
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:4px 16px;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
dl.facts dd.reason{white-space:pre-wrap}
.steps details pre{margin-top:6px;max-height:320px}
.steps p.count{margin:0 0 4px}
table.kv{max-width:420px}
#diff-view{max-height:640px;white-space:pre;overflow:auto;padding:0}
#diff-view span{display:block;padding:0 12px}
#diff-view .add{background:color-mix(in srgb,var(--ok) 14%,transparent)}
#diff-view .del{background:color-mix(in srgb,var(--bad) 14%,transparent)}
#diff-view .hunk{color:var(--accent)}
#diff-view .file{font-weight:700;background:var(--panel)}
.decl-added{color:var(--ok)}.decl-removed{color:var(--bad)}.decl-changed{color:var(--warn)}
#live-line{font-family:var(--mono);font-size:12.5px}
.rollback-reason{flex:1;min-width:220px}
.facts+h3+.token{margin:0 0 8px}
`;

/** `GET /generations/:n` asked for as HTML: one generation, its program, diff, verification and cost. */
export function renderGenerationPage(input: GenerationPageInput): string {
  const { record: r, page } = input;
  const d = generationDuration(r);
  const t = r.tokens;
  const total = t.input + t.output + t.cacheRead + t.cacheWrite;
  const actions = renderActions(r, page);
  const header = html`<h1><a href="/">Loom Supervisor</a> <span class="muted">/</span> gen-${r.generation}</h1>
<span class="badge o-${r.outcome}" id="outcome">${r.outcome.replace("_", " ")}</span>`;
  const live =
    r.outcome === "pending" || r.outcome === "running"
      ? html`<section class="panel" aria-labelledby="live-title"><h2 id="live-title">Live</h2><p id="live-line" class="muted">waiting for the Lab…</p></section>`
      : "";
  const body = html`${live}<div class="grid">
<section class="panel" aria-labelledby="facts-title">
<h2 id="facts-title">Generation ${r.generation}</h2>
<dl class="facts">
<dt>outcome</dt><dd><span class="badge o-${r.outcome}">${r.outcome.replace("_", " ")}</span></dd>
<dt>parent</dt><dd>${r.parent === null ? "initial main" : html`<a href="/generations/${r.parent}">gen-${r.parent}</a>`}</dd>
<dt>branch</dt><dd><code>${r.branch}</code></dd>
<dt>started</dt><dd>${formatTime(r.createdAt)}</dd>
<dt>finished</dt><dd>${formatTime(r.finishedAt)}</dd>
<dt>duration</dt><dd>${d === null ? "–" : formatDuration(d)}</dd>
<dt>fitness</dt><dd>${formatFitness(fitnessOf(r))}</dd>
<dt>program</dt><dd><code title="sha256 of program.md">${r.programHash.slice(0, 16)}…</code></dd>
<dt>container</dt><dd><code>${r.containerId ?? "–"}</code></dd>
${r.reason ? html`<dt>reason</dt><dd class="reason" id="reason">${r.reason}</dd>` : ""}
</dl>
${actions ? html`<h3>Decision</h3>${renderTokenField(page)}<div class="actions">${actions}<input class="rollback-reason" id="rollback-reason" maxlength="4000" placeholder="reason for a roll back (optional; becomes a lesson)" aria-label="reason for a roll back"></div>` : ""}
</section>
<section class="panel" aria-labelledby="cost-title">
<h2 id="cost-title">Cost</h2>
<table class="kv" id="cost"><tbody>
<tr><td>input</td><td class="num">${t.input.toLocaleString("en-US")}</td></tr>
<tr><td>output</td><td class="num">${t.output.toLocaleString("en-US")}</td></tr>
<tr><td>cache read</td><td class="num">${t.cacheRead.toLocaleString("en-US")}</td></tr>
<tr><td>cache write</td><td class="num">${t.cacheWrite.toLocaleString("en-US")}</td></tr>
<tr><td><b>total</b></td><td class="num"><b title="${total.toLocaleString("en-US")}">${formatTokens(total)}</b></td></tr>
</tbody></table>
</section>
</div>
<section class="panel" aria-labelledby="verification-title">
<h2 id="verification-title">Verification</h2>
${renderRun(r)}${renderVerification(r.verification)}
</section>
<section class="panel" aria-labelledby="program-title">
<h2 id="program-title">program.md</h2>
<div id="program"><p class="muted">loading…</p></div>
</section>
<section class="panel" aria-labelledby="diff-title">
<h2 id="diff-title">Diff</h2>
<div id="diff"><p class="muted">loading…</p></div>
</section>`;
  return renderPage({
    title: `gen-${r.generation} · Loom Supervisor`,
    nonce: input.nonce,
    css: GENERATION_CSS,
    header,
    body,
    config: {
      page: "generation",
      eventTypes: EVENT_TYPES,
      generation: r.generation,
      outcome: r.outcome,
      promoteMode: page.promoteMode,
      tokenRequired: page.tokenRequired,
      renderedAt: (input.now ?? new Date()).toISOString(),
    },
    script: GENERATION_SCRIPT,
  });
}

/** The HTML answer for a generation that does not exist (API clients still get the JSON 404). */
export function renderMissingGenerationPage(n: number, nonce: string): string {
  return renderPage({
    title: `gen-${n} not found · Loom Supervisor`,
    nonce,
    header: html`<h1><a href="/">Loom Supervisor</a></h1>`,
    body: html`<section class="panel"><h2>Generation ${n} does not exist</h2><p><a href="/">Back to the lineage</a></p></section>`,
    config: { page: "missing" },
    script: "",
  });
}
