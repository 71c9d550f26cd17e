import type { GenerationDiff } from "../../../../schemas/generation-diff.ts";
import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { html, type SafeHtml } from "../../../shared/web/html.ts";
import { type PageOptions, renderTokenField } from "./actions.ts";

/** A generation held for a person and the diff it was verified with (null when it could not be read). */
export interface HeldGeneration {
  readonly record: GenerationRecord;
  readonly diff: GenerationDiff | null;
}

export const GATE_HOLD_CSS = `
#held .held{border-top:1px solid var(--line);padding-top:8px;margin-top:8px}
#held .held:first-of-type{border-top:none;margin-top:0}
#held pre.gate-diff{max-height:420px;overflow:auto;white-space:pre}
#held .files code{margin-right:8px}
`;

/** The sections of a unified diff (`diff --git a/x b/x` onwards) that change one of `files`. */
export function diffOfFiles(diff: string, files: readonly string[]): string {
  const wanted = new Set(files);
  return diff
    .split(/^(?=diff --git )/m)
    .filter((section) => {
      const head = /^diff --git a\/(.*?) b\/(.*)$/m.exec(section);
      return head !== null && (wanted.has(head[1] ?? "") || wanted.has(head[2] ?? ""));
    })
    .join("");
}

function renderOne({ record: r, diff }: HeldGeneration): SafeHtml {
  const files = r.verification?.mechanical.gate?.files ?? [];
  const shown = diff ? diffOfFiles(diff.diff, files) : "";
  return html`<div class="held" data-generation="${r.generation}">
<p><a href="/generations/${r.generation}"><b>gen-${r.generation}</b></a> <span class="badge fail">touches the gate</span>
verified and approved by the review; held until a person approves the gate change or rolls it back.</p>
<p class="files">${files.map((f) => html`<code>${f}</code>`)}</p>
${
  diff === null
    ? html`<p class="muted">The diff could not be read; open the generation's page.</p>`
    : html`<pre class="gate-diff">${shown || "(no textual change in these files)"}</pre>${diff.truncated ? html`<p class="fail">The diff was cut at its size limit: read the branch itself before approving.</p>` : ""}`
}
<div class="actions">
<button type="button" class="primary" data-action="promote" data-approve-gate="true" data-generation="${r.generation}" title="approve the gate change: merge lab/gen-${r.generation} into main">Approve gate change and promote</button>
<button type="button" class="danger" data-action="rollback" data-generation="${r.generation}" title="discard lab/gen-${r.generation}">Roll back</button>
</div>
</div>`;
}

/** The dashboard's panel of generations that touch the gate and wait for a person; empty when none. */
export function renderHeld(held: readonly HeldGeneration[], page: PageOptions): SafeHtml | "" {
  if (held.length === 0) return "";
  return html`<section class="panel" id="held" aria-labelledby="held-title">
<div class="panel-head"><h2 id="held-title">Held for a person: touches the gate</h2>${
    // In manual mode the lineage panel already has the one token field the buttons read.
    page.promoteMode === "manual" ? "" : renderTokenField({ ...page, promoteMode: "manual" })
  }</div>
${held.map((h) => renderOne(h))}
</section>`;
}
