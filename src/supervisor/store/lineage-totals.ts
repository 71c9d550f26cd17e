import { GenerationOutcome } from "../../../schemas/generation.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { Usage } from "../../../schemas/usage.ts";
import { addUsage, totalTokens, zeroUsage } from "../../shared/events.ts";

/** What the lineage adds up to: generations by outcome (every outcome listed, 0 when none) and tokens. */
export function lineageTotals(records: readonly GenerationRecord[]) {
  const byOutcome = Object.fromEntries(GenerationOutcome.options.map((o) => [o, 0])) as Record<
    GenerationOutcome,
    number
  >;
  let tokens: Usage = zeroUsage();
  for (const r of records) {
    byOutcome[r.outcome] += 1;
    tokens = addUsage(tokens, r.tokens);
  }
  return { generations: records.length, byOutcome, tokens, totalTokens: totalTokens(tokens) };
}
