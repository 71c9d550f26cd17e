/**
 * What the Supervisor's model proxy and the Lab's model client agree on beyond the Messages API.
 * A generation whose token budget is spent gets 402 `billing_error` with this `details.error_code`
 * and `x-should-retry: false`, so the SDK does not retry it and the client can name the cause.
 */
export const TOKEN_BUDGET_ERROR_CODE = "loom_token_budget_exhausted";

/** The routes the proxy forwards; everything else is answered 404 without reaching the API. */
export const PROXIED_ROUTES = ["POST /v1/messages", "POST /v1/messages/count_tokens"] as const;
