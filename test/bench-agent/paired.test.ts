import { describe, expect, it } from "vitest";
import {
  comparePaired,
  mcnemar,
  PairingError,
  pairedBootstrap,
  seededRandom,
} from "../../src/bench-agent/paired.ts";

/** Solved flags for A and B from counts of (A only, B only, both, neither). */
function flags(aOnly: number, bOnly: number, both = 0, neither = 0): [boolean[], boolean[]] {
  const rows: [boolean, boolean][] = [
    ...Array<[boolean, boolean]>(aOnly).fill([true, false]),
    ...Array<[boolean, boolean]>(bOnly).fill([false, true]),
    ...Array<[boolean, boolean]>(both).fill([true, true]),
    ...Array<[boolean, boolean]>(neither).fill([false, false]),
  ];
  return [rows.map(([a]) => a), rows.map(([, b]) => b)];
}

describe("mcnemar (exact)", () => {
  it("gives the known two-sided binomial p-values", () => {
    expect(mcnemar(...flags(10, 0)).pValue).toBeCloseTo(2 / 1024, 10); // 0.00195
    expect(mcnemar(...flags(3, 2)).pValue).toBe(1);
    // 8 vs 2: 2·(1 + 10 + 45)/1024
    expect(mcnemar(...flags(8, 2)).pValue).toBeCloseTo(112 / 1024, 10);
    // 6 vs 0: 2/64
    expect(mcnemar(...flags(0, 6)).pValue).toBeCloseTo(2 / 64, 10);
    // No discordant pair: nothing to tell them apart.
    expect(mcnemar(...flags(0, 0, 5, 5)).pValue).toBe(1);
  });

  it("counts the four cells and gives a verdict only below alpha", () => {
    const r = mcnemar(...flags(10, 0, 7, 3));
    expect(r).toMatchObject({ aOnly: 10, bOnly: 0, both: 7, neither: 3, verdict: "A better" });
    expect(mcnemar(...flags(1, 9)).verdict).toBe("B better");
    expect(mcnemar(...flags(5, 0)).verdict).toBe("within noise"); // p = 0.0625
    expect(mcnemar(...flags(5, 0), 0.1).verdict).toBe("A better");
    expect(mcnemar(...flags(3, 2)).verdict).toBe("within noise");
  });

  it("stays finite and symmetric for many tasks", () => {
    const big = mcnemar(...flags(600, 500));
    // Past 1000 discordant pairs the sum runs in log space; it agrees with the normal approximation.
    const huge = mcnemar(...flags(1100, 1000));
    expect(huge.pValue).toBeGreaterThan(0.02);
    expect(huge.pValue).toBeLessThan(0.04);
    expect(big.pValue).toBeGreaterThan(0);
    expect(big.pValue).toBeLessThan(0.01);
    expect(mcnemar(...flags(500, 600)).pValue).toBeCloseTo(big.pValue, 12);
  });

  it("refuses results that are not paired", () => {
    expect(() => mcnemar([true], [true, false])).toThrow(PairingError);
    expect(() => mcnemar([true], [true, false])).toThrow("1 against 2 tasks");
    expect(() => mcnemar([], [])).toThrow("no tasks to compare");
  });
});

describe("pairedBootstrap", () => {
  it("is deterministic for a seed and covers the observed difference", () => {
    const a = [1, 1, 1, 0, 1, 0, 1, 1, 0, 1];
    const b = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0];
    const first = pairedBootstrap(a, b);
    expect(pairedBootstrap(a, b)).toEqual(first);
    expect(first.estimate).toBeCloseTo(0.4, 12);
    expect(first.low).toBeLessThanOrEqual(first.estimate);
    expect(first.high).toBeGreaterThanOrEqual(first.estimate);
    expect(first.low).toBeGreaterThanOrEqual(0);
    expect(first.high).toBeLessThanOrEqual(0.8);
    // Another seed draws other resamples (seen on values that do not round to tenths).
    const costs = [0.013, 0.052, 0.091, 0.007, 0.044, 0.038, 0.071];
    const zero = costs.map(() => 0);
    expect(pairedBootstrap(costs, zero, { seed: 2 })).not.toEqual(pairedBootstrap(costs, zero));
  });

  it("collapses to a point when every pair differs the same way", () => {
    expect(pairedBootstrap([1, 1, 1], [0, 0, 0])).toEqual({ estimate: 1, low: 1, high: 1 });
    expect(pairedBootstrap([2, 5], [2, 5])).toEqual({ estimate: 0, low: 0, high: 0 });
  });

  it("seededRandom gives the same numbers in [0, 1) for a seed", () => {
    const r1 = seededRandom(42);
    const r2 = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => r1());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => r2()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    // Roughly uniform: the mean of 1000 draws is near 1/2.
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });
});

describe("comparePaired", () => {
  it("reports the test, the solved-share interval and the cost interval", () => {
    const [solvedA, solvedB] = flags(10, 0, 5, 5);
    const r = comparePaired(
      { solved: solvedA, costUsd: solvedA.map(() => 0.02) },
      { solved: solvedB, costUsd: solvedB.map(() => 0.05) },
    );
    expect(r.mcnemar.verdict).toBe("A better");
    expect(r.solvedShare.estimate).toBeCloseTo(0.5, 12);
    expect(r.solvedShare.low).toBeGreaterThan(0);
    expect(r.costPerTask?.estimate).toBeCloseTo(-0.03, 12);
    expect(r.costPerTask?.low).toBeCloseTo(-0.03, 12);
  });

  it("has no cost interval when a price is unknown, and refuses flags and costs of different lengths", () => {
    const r = comparePaired({ solved: [true], costUsd: [null] }, { solved: [false], costUsd: [0.1] });
    expect(r.costPerTask).toBeNull();
    expect(() =>
      comparePaired({ solved: [true, true], costUsd: [1] }, { solved: [true], costUsd: [1] }),
    ).toThrow("A's solved flags and costs: 2 against 1 tasks");
  });
});
