import { describe, expect, it } from "vitest";
import { GenerationRecord } from "../../../schemas/generation-record.ts";
import { type ProxyUsage, usageForRecord } from "../../../src/supervisor/model-proxy/index.ts";

const counted: ProxyUsage = {
  requests: 3,
  inputTokens: 1200,
  outputTokens: 300,
  cacheReadTokens: 5000,
  cacheWriteTokens: 700,
  costUsd: 0.0041234567,
  budgetExceeded: false,
  unpricedModels: [],
  budgetTokens: 0,
};
const record = {
  version: 1,
  generation: 4,
  parent: null,
  branch: "lab/gen-4",
  programHash: "a".repeat(64),
  outcome: "verifying",
  reason: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  finishedAt: null,
  containerId: null,
  tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
  fitness: null,
  verification: null,
};

describe("usageForRecord", () => {
  it("takes the record's tokens from the proxy's counts; a Lab's own (lying) report is kept only beside them", () => {
    const lie = { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 };
    const { tokens, modelUsage, budgetReason } = usageForRecord(counted, lie);
    expect(tokens).toEqual({ input: 1200, output: 300, cacheRead: 5000, cacheWrite: 700 });
    expect(modelUsage).toEqual({
      source: "model-proxy",
      requests: 3,
      costUsd: 0.004123,
      unpricedModels: [],
      budgetTokens: 0,
      budgetExceeded: false,
      labReported: lie,
    });
    expect(budgetReason).toBeNull();
    expect(GenerationRecord.parse({ ...record, tokens, modelUsage })).toMatchObject({ tokens, modelUsage });
  });

  it("keeps an unknown cost unknown, and records from before the proxy (no modelUsage) stay valid", () => {
    const { modelUsage } = usageForRecord({ ...counted, costUsd: null, unpricedModels: ["mystery"] });
    expect(modelUsage).toMatchObject({ costUsd: null, unpricedModels: ["mystery"], labReported: null });
    expect(GenerationRecord.safeParse({ ...record, modelUsage }).success).toBe(true);
    expect(GenerationRecord.safeParse(record).success).toBe(true);
    expect(
      GenerationRecord.safeParse({ ...record, modelUsage: { ...modelUsage, costUsd: -1 } }).success,
    ).toBe(false);
  });
});
