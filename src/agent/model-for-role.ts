import { type Config, requireApiKey } from "../shared/config.ts";
import { createModelClient, type ModelClient } from "./model-client.ts";
import { unixSocketFetch } from "./unix-socket-fetch.ts";

export type ModelRole = "prime" | "lab";

/**
 * The model client for a role, with the original's precedence already resolved by the config:
 * Prime uses ANTHROPIC_API_KEY, LOOM_MODEL and the SDK's own ANTHROPIC_BASE_URL; a Lab uses
 * LOOM_LAB_API_KEY (→ ANTHROPIC_API_KEY), LOOM_LAB_MODEL (→ LOOM_MODEL → haiku) and LOOM_LAB_API_BASE.
 * A Lab given LOOM_LAB_MODEL_SOCKET talks HTTP over that socket to the Supervisor's model proxy
 * instead, its "key" being the proxy's per-generation token: the Lab needs no network and holds no
 * API key.
 */
export function modelClientFor(
  config: Config,
  role: ModelRole,
  overrides: { model?: string } = {},
): ModelClient {
  const socket = role === "lab" ? config.labModelSocket : undefined;
  // Over the socket the host name only fills the Host header; the proxy adds the API's address.
  const baseURL = socket ? "http://model-proxy" : role === "prime" ? config.primeBaseUrl : config.labApiBase;
  return createModelClient({
    apiKey: requireApiKey(config, role),
    ...(baseURL ? { baseURL } : {}),
    ...(socket ? { fetch: unixSocketFetch(socket) } : {}),
    model: overrides.model ?? (role === "prime" ? config.primeModel : config.labModel),
    timeoutMs: config.requestTimeoutMs,
    maxRetries: config.maxRetries,
  });
}
