import { describe, expect, it } from "vitest";
import { GenerationOutcome } from "../../../schemas/generation.ts";
import { lineageTotals } from "../../../src/supervisor/store/lineage-totals.ts";
import { record } from "../../prime/records.ts";

describe("lineageTotals", () => {
  it("counts every outcome, 0 where there is none, and adds up the tokens", () => {
    const totals = lineageTotals([
      record(1, "promoted", { tokens: { input: 10, output: 5, cacheRead: 100, cacheWrite: 1 } }),
      record(2, "rolled_back", { tokens: { input: 7, output: 3, cacheRead: 0, cacheWrite: 2 } }),
      record(3, "rolled_back"),
      record(4, "running"),
    ]);
    expect(totals.generations).toBe(4);
    expect(Object.keys(totals.byOutcome).sort()).toEqual([...GenerationOutcome.options].sort());
    expect(totals.byOutcome).toMatchObject({
      promoted: 1,
      rolled_back: 2,
      running: 1,
      archived: 0,
      failed: 0,
    });
    expect(totals.tokens).toEqual({ input: 17, output: 8, cacheRead: 100, cacheWrite: 3 });
    expect(totals.totalTokens).toBe(128);
  });

  it("is all zeros for an empty lineage", () => {
    const totals = lineageTotals([]);
    expect(totals.generations).toBe(0);
    expect(Object.values(totals.byOutcome).every((c) => c === 0)).toBe(true);
    expect(totals.totalTokens).toBe(0);
  });
});
