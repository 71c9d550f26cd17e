import type { ServerResponse } from "node:http";
import { sendJson } from "../http/http-error.ts";

export { sendJson };

/** Error types of the Messages API, as they appear in `{type: "error", error: {type, message}}`. */
export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

export function sendApiError(
  res: ServerResponse,
  status: number,
  type: ApiErrorType,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { type: "error", error: { type, message } }, headers);
}

/** A 200 whose JSON body stops half-way, as a proxy cutting a response off would leave it. */
export function sendTruncatedJson(res: ServerResponse, body: unknown): void {
  const full = JSON.stringify(body);
  const text = full.slice(0, Math.max(1, Math.floor(full.length / 2)));
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
