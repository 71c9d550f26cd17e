import type { ServerResponse } from "node:http";
import type { ErrorBody } from "../../../schemas/supervisor.ts";
import { sendJson as sendSharedJson } from "../http-json.ts";

/** An answer other than 2xx: a status, a stable UPPER_SNAKE code and a message saying what to change. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** JSON answers of Loom's servers are never cached (they describe state that changes). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendSharedJson(res, status, body, { "cache-control": "no-store", ...headers });
}

/** Every non-2xx answer has the one ErrorBody shape. */
export function sendError(res: ServerResponse, err: HttpError): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  sendJson(res, err.status, body, { ...err.headers });
}

export function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(html),
  });
  res.end(html);
}
