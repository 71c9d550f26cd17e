import { describe, expect, it } from "vitest";
import { parseTestCount } from "../../src/supervisor/verify/test-count.ts";

/**
 * The summary lines the test-count gate trusts, read exactly: a line that only looks like a summary
 * (inside other text, with more after it) must not count, and real summaries count in full.
 */
describe("parseTestCount reads summaries exactly", () => {
  it("vitest: the summary line only, as a whole line, with any spacing", () => {
    expect(parseTestCount("my Tests 99 passed (99)\n Tests  3 passed (3)\n")).toBe(3);
    expect(parseTestCount(" Tests  3 passed (3)  \n 1 passed\n")).toBe(3);
    expect(parseTestCount(" Tests  3 passed (3) and 5 passed\n")).toBe(5);
    expect(parseTestCount("      Tests  12 passed | 1 skipped (13)\n")).toBe(12);
  });

  it("node:test pass lines: at the start of a line, any spacing, whole numbers, nothing after", () => {
    expect(parseTestCount("note: # pass 9\n# pass 2\n")).toBe(2);
    expect(parseTestCount("# pass 4 of 5\n# tests 6\n")).toBe(6);
    expect(parseTestCount("#pass 3\n")).toBe(3);
    expect(parseTestCount("# pass  7\n")).toBe(7);
    expect(parseTestCount("# pass 12\n")).toBe(12);
    expect(parseTestCount("ℹ pass 5  \n")).toBe(5);
  });

  it("node:test tests lines, the same way, when there is no pass line", () => {
    expect(parseTestCount("note: # tests 9\n# tests 2\n")).toBe(2);
    expect(parseTestCount("# tests 4 of 5\n1 passed\n")).toBe(1);
    expect(parseTestCount("#tests 3\n")).toBe(3);
    expect(parseTestCount("# tests  7\n")).toBe(7);
    expect(parseTestCount("# tests 12\n")).toBe(12);
    expect(parseTestCount("# tests 5  \n")).toBe(5);
  });

  it("a plain `N passed`: whole numbers, the last one", () => {
    expect(parseTestCount("12 passed\n")).toBe(12);
    expect(parseTestCount("3 passed, then 14 passed\n")).toBe(14);
    expect(parseTestCount("nothing here\n")).toBeUndefined();
  });
});
