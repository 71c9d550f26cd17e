import { describe, expect, it } from "vitest";
import { parseTestCount } from "../../../src/supervisor/verify/test-count.ts";

describe("parseTestCount", () => {
  it("reads vitest's summary, counting only passed tests, through ANSI colours", () => {
    expect(parseTestCount(" Test Files  3 passed (3)\n      Tests  12 passed | 2 skipped (14)\n")).toBe(12);
    expect(parseTestCount("      Tests  3 failed | 10 passed | 1 todo (14)\n")).toBe(10);
    expect(
      parseTestCount(
        "\u001b[2m      Tests \u001b[22m \u001b[1m\u001b[32m7 passed\u001b[39m\u001b[22m\u001b[90m (7)\u001b[39m\n",
      ),
    ).toBe(7);
    expect(parseTestCount("      Tests  4 failed (4)\n")).toBe(0);
  });

  it("adds up several runs in one output (unit and acceptance suites)", () => {
    expect(parseTestCount("      Tests  20 passed (20)\n...\n      Tests  9 passed (9)\n")).toBe(29);
  });

  it("reads node:test's tap and spec summaries, else its test total, else a plain N passed", () => {
    expect(parseTestCount("# tests 5\n# suites 0\n# pass 4\n# fail 1\n")).toBe(4);
    expect(parseTestCount("ℹ tests 3\nℹ pass 3\nℹ fail 0\n")).toBe(3);
    expect(parseTestCount("# tests 6\n")).toBe(6);
    expect(parseTestCount("ran everything: 8 passed, 0 failed\n")).toBe(8);
  });

  it("is undefined when no summary is there", () => {
    expect(parseTestCount("Error: Cannot find module 'tsx'\n")).toBeUndefined();
    expect(parseTestCount("")).toBeUndefined();
  });
});
