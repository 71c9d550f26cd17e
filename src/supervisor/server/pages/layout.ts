import { SupervisorEvent } from "../../../../schemas/events.ts";
import { BASE_CSS } from "../../../shared/web/base-css.ts";
import { html, raw, type SafeHtml, scriptJson } from "../../../shared/web/html.ts";

/** The kinds of /logs event a page's script acts on, from the one schema: anything else is skipped. */
export const EVENT_TYPES: readonly string[] = SupervisorEvent.options.map((o) => o.shape.type.value);

export interface PageInput {
  readonly title: string;
  readonly nonce: string;
  readonly css?: string;
  readonly header: SafeHtml;
  readonly body: SafeHtml;
  /** Read by the page's script; must hold no secret. */
  readonly config: unknown;
  /** This module's own client code (never interpolated text). */
  readonly script: string;
}

export function renderPage(p: PageInput): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${p.title}</title>
<link rel="icon" href="data:,">
<style>${raw(BASE_CSS + (p.css ?? ""))}</style>
</head><body>
<header class="top">${p.header}</header>
<main>
<div id="notice" role="status" aria-live="polite"></div>
${p.body}
</main>
<script type="application/json" id="page-config">${scriptJson(p.config)}</script>
<script nonce="${p.nonce}">${raw(p.script)}</script>
</body></html>
`.value;
}
