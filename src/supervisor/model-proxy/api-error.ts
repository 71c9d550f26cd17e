import type { ServerResponse } from "node:http";
import { TOKEN_BUDGET_ERROR_CODE } from "../../shared/model-proxy-protocol.ts";

/** Error types the proxy itself answers with, as the Messages API spells them. */
export type ProxyErrorType =
  | "authentication_error"
  | "not_found_error"
  | "request_too_large"
  | "invalid_request_error"
  | "billing_error"
  | "api_error"
  | "timeout_error";

/**
 * Answers in the API's own error shape (`{type: "error", error: {type, message}}`), so the SDK in the
 * Lab raises its usual typed errors with a readable message.
 */
export function sendProxyError(
  res: ServerResponse,
  status: number,
  type: ProxyErrorType,
  message: string,
  extra: { headers?: Record<string, string>; details?: Record<string, unknown> } = {},
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    type: "error",
    error: { type, message, ...(extra.details ? { details: extra.details } : {}) },
  });
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "request-id": `req_loom_proxy_${Date.now().toString(36)}`,
    ...extra.headers,
  });
  res.end(body);
}

/** The budget refusal: not retryable (x-should-retry: false), with a code the Lab's client recognises. */
export function sendBudgetExhausted(
  res: ServerResponse,
  generation: number,
  used: number,
  budget: number,
): void {
  sendProxyError(
    res,
    402,
    "billing_error",
    `generation ${generation} has used ${used} of its ${budget}-token budget (LOOM_TOKEN_BUDGET); ` +
      "the model proxy refuses further model requests for it — end the run",
    { headers: { "x-should-retry": "false" }, details: { error_code: TOKEN_BUDGET_ERROR_CODE } },
  );
}
