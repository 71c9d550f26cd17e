import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatIssues, issuePath } from "../../src/shared/zod-issues.ts";

const Schema = z.strictObject({
  name: z.string(),
  steps: z.array(z.strictObject({ tool: z.string(), retries: z.number().int().min(0).optional() })),
  mode: z.enum(["auto", "manual"]).optional(),
});

const issuesOf = (value: unknown) => {
  const r = Schema.safeParse(value);
  if (r.success) throw new Error("expected a failure");
  return r.error;
};

describe("formatIssues", () => {
  it("names each path as TypeScript would write it and what is accepted there", () => {
    const text = formatIssues(issuesOf({ steps: [{ tool: "a" }, { tool: 1, retries: -1 }], mode: "x" }));
    expect(text).toBe(
      "name: required (expected string); steps[1].tool: expected string, received number; " +
        "steps[1].retries: Too small: expected number to be >=0; " +
        'mode: Invalid option: expected one of "auto"|"manual"',
    );
  });

  it("calls the root what the caller calls it, and names unknown keys", () => {
    expect(formatIssues(issuesOf([1]), { root: "(body)" })).toBe("(body): expected object, received array");
    expect(formatIssues(issuesOf({ name: "n", steps: [], extra: 1 }))).toBe(
      '(root): Unrecognized key: "extra"',
    );
  });

  it("puts a prefix in front of the path and cuts long lists short", () => {
    const error = issuesOf({ steps: [{ tool: 1 }, { tool: 2 }, { tool: 3 }] });
    expect(formatIssues(error, { prefix: [4], limit: 2 })).toBe(
      "[4].name: required (expected string); [4].steps[0].tool: expected string, received number; and 2 more",
    );
    expect(issuePath([])).toBe("(root)");
  });
});
