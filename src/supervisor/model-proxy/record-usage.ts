import type { ModelUsage, Usage } from "../../../schemas/usage.ts";
import type { ProxyUsage } from "./index.ts";

export type ModelUsageRecord = ModelUsage;

/**
 * The record's token fields from what the proxy counted, the one count a Lab cannot forge. The
 * Lab's own LabReport tokens are kept beside it only as a cross-check. `budgetReason` is set when
 * the budget ended the run, for the record's reason.
 */
export function usageForRecord(
  usage: ProxyUsage,
  labReported?: Usage,
): { tokens: Usage; modelUsage: ModelUsage; budgetReason: string | null } {
  const tokens: Usage = {
    input: usage.inputTokens,
    output: usage.outputTokens,
    cacheRead: usage.cacheReadTokens,
    cacheWrite: usage.cacheWriteTokens,
  };
  const used = tokens.input + tokens.output + tokens.cacheRead + tokens.cacheWrite;
  return {
    tokens,
    modelUsage: {
      source: "model-proxy",
      requests: usage.requests,
      costUsd: usage.costUsd === null ? null : Math.round(usage.costUsd * 1e6) / 1e6,
      unpricedModels: usage.unpricedModels,
      budgetTokens: usage.budgetTokens,
      budgetExceeded: usage.budgetExceeded,
      labReported: labReported ?? null,
    },
    budgetReason: usage.budgetExceeded
      ? `the token budget ended the Lab's run: the model proxy counted ${used} tokens against LOOM_TOKEN_BUDGET=${usage.budgetTokens} and refused further model requests`
      : null,
  };
}
