import { type Config, requireApiKey } from "../shared/config.ts";
import { createModelClient, type ModelClient } from "./model-client.ts";

export type ModelRole = "prime" | "lab";

/**
 * The model client for a role, with the original's precedence already resolved by the config:
 * Prime uses ANTHROPIC_API_KEY, LOOM_MODEL and the SDK's own ANTHROPIC_BASE_URL; a Lab uses
 * LOOM_LAB_API_KEY (→ ANTHROPIC_API_KEY), LOOM_LAB_MODEL (→ LOOM_MODEL → haiku) and LOOM_LAB_API_BASE.
 */
export function modelClientFor(
  config: Config,
  role: ModelRole,
  overrides: { model?: string } = {},
): ModelClient {
  const baseURL = role === "prime" ? config.primeBaseUrl : config.labApiBase;
  return createModelClient({
    apiKey: requireApiKey(config, role),
    ...(baseURL ? { baseURL } : {}),
    model: overrides.model ?? (role === "prime" ? config.primeModel : config.labModel),
    timeoutMs: config.requestTimeoutMs,
    maxRetries: config.maxRetries,
  });
}
