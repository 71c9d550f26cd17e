import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { totalTokens } from "../../shared/events.ts";

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** A minimal page: every generation with its outcome, tokens and reason. Records hold no secrets. */
export function renderDashboard(records: readonly GenerationRecord[]): string {
  const rows = records
    .map(
      (r) =>
        `<tr><td>${r.generation}</td><td>${escapeHtml(r.outcome)}</td><td>${r.parent ?? "-"}</td>` +
        `<td>${escapeHtml(r.createdAt)}</td><td>${totalTokens(r.tokens)}</td><td>${escapeHtml(r.reason ?? "")}</td></tr>`,
    )
    .reverse()
    .join("\n");
  const body =
    records.length === 0
      ? '<p>No generations yet. <code>POST /spawn {"program": "..."}</code> starts one.</p>'
      : `<table><thead><tr><th>gen</th><th>outcome</th><th>parent</th><th>created</th><th>tokens</th><th>reason</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loom Supervisor</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}</style>
</head><body>
<h1>Loom Supervisor</h1>
<p><a href="/generations">/generations</a> · <a href="/stats">/stats</a> · <a href="/logs">/logs</a> (event stream)</p>
${body}
</body></html>
`;
}
