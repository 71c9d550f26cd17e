import { z } from "zod";

const count = z.number().int().nonnegative();

/** Token usage of one model call or a whole run (the four counters the Messages API reports). */
export const Usage = z.object({
  input: count,
  output: count,
  cacheRead: count,
  cacheWrite: count,
});
export type Usage = z.infer<typeof Usage>;

/**
 * How a generation's model traffic was counted: by the Supervisor's model proxy, the one place every
 * Lab request passes (the record's `tokens` are its counts). Cost in US dollars from a per-family
 * price table, null when a model had no known price (named in unpricedModels).
 */
export const ModelUsage = z.object({
  source: z.literal("model-proxy"),
  requests: count,
  costUsd: z.number().nonnegative().nullable(),
  unpricedModels: z.array(z.string()),
  /** The generation's token budget (0 = none). */
  budgetTokens: count,
  /** The budget was reached and the proxy refused further requests. */
  budgetExceeded: z.boolean(),
  /** What the Lab's own report said, kept as a cross-check only. */
  labReported: Usage.nullable(),
});
export type ModelUsage = z.infer<typeof ModelUsage>;
