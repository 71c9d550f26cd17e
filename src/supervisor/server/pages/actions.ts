import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { html, type SafeHtml } from "../../../shared/web/html.ts";
import { isHeldForPerson } from "../../verify/gate-hold.ts";

export interface PageOptions {
  /** LOOM_PROMOTE: manual shows Promote / Roll back buttons on verifying generations. */
  readonly promoteMode: "auto" | "manual";
  /** Whether POST routes need LOOM_SUPERVISOR_TOKEN; the page asks for it, it never holds it. */
  readonly tokenRequired: boolean;
}

/** Promote (only once verification passed) and Roll back, for a verifying generation in manual mode. */
export function renderActions(r: GenerationRecord, page: PageOptions): SafeHtml | "" {
  if (r.outcome !== "verifying") return "";
  const held = isHeldForPerson(r);
  // A gate change waits for a person in either mode; otherwise buttons only in manual mode.
  if (page.promoteMode !== "manual" && !held) return "";
  const passed = r.verification?.passed === true;
  const why = passed
    ? `merge lab/gen-${r.generation} into main and tag gen-${r.generation}`
    : r.verification
      ? "verification did not pass; only a passed verification can be promoted"
      : "not verified yet; only a passed verification can be promoted";
  return html`<div class="actions">
${
  held
    ? html`<button type="button" class="primary" data-action="promote" data-approve-gate="true" data-generation="${r.generation}" title="it touches the gate: approve that change and ${why}">Approve gate change and promote</button>`
    : html`<button type="button" class="primary" data-action="promote" data-generation="${r.generation}" title="${why}"${passed ? "" : html` disabled aria-disabled="true"`}>Promote</button>`
}
<button type="button" class="danger" data-action="rollback" data-generation="${r.generation}" title="discard lab/gen-${r.generation}">Roll back</button>
</div>`;
}

/** The token field: filled by the reader, kept in this tab's sessionStorage by the script. */
export function renderTokenField(page: PageOptions): SafeHtml | "" {
  // Only the decision buttons post anything, so only they need it.
  if (!page.tokenRequired || page.promoteMode !== "manual") return "";
  return html`<form class="token" id="token-form" autocomplete="off">
<label for="token-input" class="muted">Supervisor token</label>
<input id="token-input" type="password" autocomplete="off" spellcheck="false" placeholder="LOOM_SUPERVISOR_TOKEN" title="LOOM_SUPERVISOR_TOKEN, kept in this tab only" size="14">
</form>`;
}
