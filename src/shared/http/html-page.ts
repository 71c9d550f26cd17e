import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";

/** A fresh nonce per page: only the page's own inline script may run. */
export const pageNonce = (): string => randomBytes(16).toString("base64");

/**
 * Every HTML page Loom's servers send: never cached, never sniffed, never framed, and a CSP that lets
 * only the page's own nonce'd script run and only the page's own origin be fetched.
 */
export function sendHtml(res: ServerResponse, status: number, body: string, nonce: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    vary: "Accept",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      // Inline styles stay allowed: a page re-fetched to refresh its sections carries another nonce.
      "style-src 'unsafe-inline'",
      "img-src data:",
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
  });
  res.end(body);
}
