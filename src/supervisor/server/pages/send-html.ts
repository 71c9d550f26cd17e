import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";

/** A fresh nonce per page: only the page's own inline script and style may run. */
export const pageNonce = (): string => randomBytes(16).toString("base64");

/**
 * Whether the client asked for a page rather than JSON: text/html listed with a quality at least that
 * of application/json. Browsers navigating send text/html first; fetch, curl and SDKs send star-slash-star.
 */
export function wantsHtml(acceptHeader: string | undefined): boolean {
  const accept = acceptHeader ?? "";
  const quality = (type: string): number => {
    for (const part of accept.split(",")) {
      const [mime, ...params] = part.trim().toLowerCase().split(";");
      if (mime?.trim() !== type) continue;
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      return q ? Number(q.slice(2)) || 0 : 1;
    }
    return -1;
  };
  const html = quality("text/html");
  return html > 0 && html >= quality("application/json");
}

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
