import { describe, expect, it } from "vitest";
import { toolCallDelta } from "../../src/supervisor/lifecycle/tool-call-delta.ts";

describe("toolCallDelta", () => {
  it("reports only the tools whose counters moved, with the calls and errors since the last poll", () => {
    const before = { read_file: { calls: 2, errors: 0 }, bash: { calls: 1, errors: 1 } };
    const after = {
      read_file: { calls: 2, errors: 0 },
      bash: { calls: 3, errors: 2 },
      write_file: { calls: 1, errors: 0 },
    };
    expect(toolCallDelta(before, after)).toEqual([
      { tool: "bash", calls: 2, errors: 1, totalCalls: 3, totalErrors: 2 },
      { tool: "write_file", calls: 1, errors: 0, totalCalls: 1, totalErrors: 0 },
    ]);
  });

  it("counts everything on the first poll and nothing when the counters are absent", () => {
    expect(toolCallDelta(undefined, { eval: { calls: 4, errors: 1 } })).toEqual([
      { tool: "eval", calls: 4, errors: 1, totalCalls: 4, totalErrors: 1 },
    ]);
    expect(toolCallDelta({ eval: { calls: 4, errors: 1 } }, undefined)).toEqual([]);
  });

  it("counts from zero when a counter went down (the Lab restarted)", () => {
    expect(toolCallDelta({ bash: { calls: 5, errors: 0 } }, { bash: { calls: 1, errors: 0 } })).toEqual([
      { tool: "bash", calls: 1, errors: 0, totalCalls: 1, totalErrors: 0 },
    ]);
  });
});
