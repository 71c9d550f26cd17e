import { type ConfigSpec, configSpecs } from "../config/specs.ts";
import { ConfigError } from "../errors.ts";

/** What one HTTP server tolerates from a client before refusing or closing. */
export interface HttpLimits {
  /** The request line and headers must arrive within this (LOOM_HTTP_HEADERS_TIMEOUT_MS). */
  readonly headersTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this (LOOM_HTTP_BODY_TIMEOUT_MS). */
  readonly bodyTimeoutMs: number;
  /** Concurrent event streams per server (LOOM_SSE_MAX_CLIENTS). */
  readonly sseMaxClients: number;
  /**
   * After refusing a body (413, 415, …) the server reads and discards up to this much of what the client
   * still sends, so the client reads the answer instead of a connection reset; beyond it, the socket closes.
   */
  readonly drainBytes: number;
}

export const DRAIN_BYTES = 64 * 1024 * 1024;

const VARIABLES = {
  headersTimeoutMs: "LOOM_HTTP_HEADERS_TIMEOUT_MS",
  bodyTimeoutMs: "LOOM_HTTP_BODY_TIMEOUT_MS",
  sseMaxClients: "LOOM_SSE_MAX_CLIENTS",
} as const;

function numberVar(name: string, env: Readonly<Record<string, string | undefined>>): number {
  const spec = (configSpecs as readonly ConfigSpec[]).find((s) => s.name === name) as ConfigSpec<
    string,
    number
  >;
  const raw = env[name] || (spec.default as string);
  const value = spec.type.parse(raw);
  if (value === undefined) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: expected ${spec.type.accepted}`);
  }
  return value;
}

/**
 * The limits from the variables (the config specs' defaults when unset). Servers read them at start
 * unless given explicit ones, so every server of a process follows the same variables.
 */
export function httpLimitsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): HttpLimits {
  return {
    headersTimeoutMs: numberVar(VARIABLES.headersTimeoutMs, env),
    bodyTimeoutMs: numberVar(VARIABLES.bodyTimeoutMs, env),
    sseMaxClients: numberVar(VARIABLES.sseMaxClients, env),
    drainBytes: DRAIN_BYTES,
  };
}

/** The limits as a loaded Config holds them (environment, then .env, then defaults). */
export function httpLimitsOf(config: {
  readonly httpHeadersTimeoutMs: number;
  readonly httpBodyTimeoutMs: number;
  readonly sseMaxClients: number;
}): HttpLimits {
  return {
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    bodyTimeoutMs: config.httpBodyTimeoutMs,
    sseMaxClients: config.sseMaxClients,
    drainBytes: DRAIN_BYTES,
  };
}
