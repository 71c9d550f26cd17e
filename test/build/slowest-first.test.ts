import { describe, expect, it } from "vitest";
import { orderFiles, readDurations } from "../helpers/slowest-first.ts";

/** The order Loom's own suite runs in (vitest.config.ts): what bounds its wall time and a focused run's feedback. */
describe("the suite's file order", () => {
  const durations = { "a.test.ts": 50_000, "b.test.ts": 2_000, "c.test.ts": 300, "d.test.ts": 9_000 };
  const id = (f: string) => f;

  it("runs the whole suite longest first, an unknown file as a median one", () => {
    const all = ["c.test.ts", "a.test.ts", "new.test.ts", "d.test.ts", "b.test.ts"];
    expect(orderFiles(all, id, durations)).toEqual([
      "a.test.ts",
      "d.test.ts",
      "b.test.ts",
      "new.test.ts",
      "c.test.ts",
    ]);
  });

  it("runs a focused subset (fewer than half the suite) shortest first, so a failure shows early", () => {
    const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}.test.ts`, (i + 1) * 1000]));
    expect(orderFiles(["f9.test.ts", "f0.test.ts", "f4.test.ts"], id, big)).toEqual([
      "f0.test.ts",
      "f4.test.ts",
      "f9.test.ts",
    ]);
  });

  it("has a committed duration for every test file of the suite", async () => {
    const { readdir } = await import("node:fs/promises");
    const files = (await readdir("test", { recursive: true }))
      .filter((f) => f.endsWith(".test.ts"))
      .map((f) => `test/${f}`);
    const known = readDurations();
    const missing = files.filter((f) => known[f] === undefined);
    // A new file runs as a median one until bench/test-suite.bench.ts measures it; a few may wait.
    expect(missing.length, `not in test/durations.json: ${missing.join(", ")}`).toBeLessThan(
      files.length * 0.2,
    );
  });
});
