import type { ServerResponse } from "node:http";
import type { ErrorBody } from "../../../schemas/supervisor.ts";

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

/**
 * Writes one JSON answer, never cached (it describes state that changes); a no-op once headers went
 * out (after a client hang-up).
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** Every non-2xx answer has the one ErrorBody shape. */
export function sendError(res: ServerResponse, err: HttpError): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  sendJson(res, err.status, body, { ...err.headers });
}
